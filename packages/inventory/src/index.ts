export { InventoryEngine, releaseCheckoutLock } from "./engine";
export type {
  StockLine,
  InventoryKeys,
  TruthSource,
  ReserveResult,
  HoldView,
  HoldState,
  HoldStepResult,
  ReleaseResult,
} from "./engine";
export { InventoryCode, InventoryScriptError } from "./codes";
export { SCRIPTS, defineInventoryScripts } from "./scripts";
export { mysqlTruth } from "./mysql-truth";
