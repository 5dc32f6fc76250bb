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
export { Lease } from "./lease";
export { StockChanges, STOCK_CHANGE_TTL_MS, type StockChange, type MoveResult } from "./stock-change";
