export { createWorkerDeps, type WorkerDeps, type WorkerWiring } from "./deps";
export { requestFlush } from "./inventory/request-flush";
export { runWorkerProcess } from "./run-process";
export {
  batchedReservation,
  lockingReservation,
  redisReservation,
  type CartAnswer,
  type ReservationStrategy,
} from "./checkout/reservation";
export { CHECKPOINTS, type Checkpoint, type CheckpointContext, type CheckpointHook } from "./checkpoints";
export { startWorkers, type RunningWorkers } from "./runner";
export { SimulatedPaymentProvider } from "./payment/simulator";
export {
  TransientPaymentError,
  RefundRefusedError,
  type PaymentProvider,
  type ChargeRequest,
  type ChargeResult,
  type RefundGateway,
  type RefundRequest,
} from "./payment/provider";
export { settleRefund, settlePendingRefunds, type RefundDeps } from "./payment/refunds";
export { OrderStore, type Order } from "./checkout/order-store";
export { GroupCommitWriter, type WriteKind } from "./db/writer";
export { runCheckout, compensateCheckout } from "./checkout/saga";
export { reserveWithRowLocks, runLockingCheckout } from "./checkout/locking-saga";
export { runBatchedCheckout } from "./checkout/batched-saga";
export { flushReservations } from "./inventory/flush";
export { relayOutbox } from "./events/relay";
export { pruneEvents } from "./events/prune";
export { isReady, type Ready } from "./supervised";
