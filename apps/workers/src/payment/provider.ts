/** What a payment network does for us. Implementations must honour the idempotency key. */
export interface ChargeRequest {
  /** The order id: charging the same key twice never charges twice. */
  idempotencyKey: string;
  orderId: string;
  amountCents: number;
  token: string;
}

export type ChargeResult =
  | { status: "succeeded"; reference: string }
  | { status: "declined"; reason: string }
  | { status: "refunded"; reference: string };

export interface PaymentProvider {
  /** Throws TransientPaymentError when the network failed and a retry may heal it. */
  charge(request: ChargeRequest): Promise<ChargeResult>;
  /** Refunds a succeeded charge; refunding twice or refunding nothing is a no-op. */
  refund(idempotencyKey: string): Promise<void>;
}

export class TransientPaymentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TransientPaymentError";
  }
}
