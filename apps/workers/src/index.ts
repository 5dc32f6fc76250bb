export { createWorkerDeps, requestFlush, type WorkerDeps } from "./deps";
export { startWorkers, type RunningWorkers } from "./runner";
export { SimulatedPaymentProvider } from "./payment/simulator";
export { TransientPaymentError, type PaymentProvider, type ChargeRequest, type ChargeResult } from "./payment/provider";
export { OrderStore, type Order } from "./checkout/order-store";
export { runCheckout, compensateCheckout } from "./checkout/saga";
export { runLockingCheckout } from "./checkout/locking-saga";
export { flushReservations } from "./inventory/flush";
export { chaosCrashCounter } from "./processors";
