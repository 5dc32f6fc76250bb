// The refund checks live with the other invariants; this path stays for the chaos scenario's import.
export { checkRefunds, pendingRefunds, type RefundCheck } from "./invariants/refunds";
