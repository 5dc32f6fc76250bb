export { InventoryEngine } from "./engine";
export { releaseCheckoutLock } from "./checkout-lock";
export { CacheNotReadyError } from "./types";
export type {
  StockLine,
  InventoryKeys,
  TruthSource,
  ReserveResult,
  HoldView,
  HoldState,
  HoldStepResult,
  ReleaseResult,
  ReconcileResult,
} from "./types";
export { InventoryCode, InventoryScriptError } from "./codes";
export { SCRIPTS, defineInventoryScripts } from "./scripts";
export { mysqlTruth } from "./mysql-truth";
