export { InventoryEngine, releaseCheckoutLock, CacheNotReadyError } from "./engine";
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
  ReturnTicket,
} from "./engine";
export { InventoryCode, InventoryScriptError } from "./codes";
export { SCRIPTS, defineInventoryScripts } from "./scripts";
export { mysqlTruth } from "./mysql-truth";
export { Lease } from "./lease";
