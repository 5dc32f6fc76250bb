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

/** A refund of part or all of a charge, after the order's checkout completed. */
export interface RefundRequest {
  /** The refund id: asking twice with one key refunds once and answers the first refund. */
  idempotencyKey: string;
  /** The charge's own key (the order id). */
  chargeKey: string;
  amountCents: number;
}

export interface RefundGateway {
  /**
   * Refunds `amountCents` of a charge. Throws TransientPaymentError when a retry may heal
   * it, RefundRefusedError when it never will (no such charge, more than is left of it).
   */
  refundCharge(request: RefundRequest): Promise<{ reference: string }>;
}

export class RefundRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RefundRefusedError";
  }
}

export class TransientPaymentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TransientPaymentError";
  }
}
