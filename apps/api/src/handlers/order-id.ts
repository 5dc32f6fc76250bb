import { createHmac } from "node:crypto";

/**
 * Keyed order ids are an HMAC keyed by the JWT secret: a retry of the same client and
 * Idempotency-Key finds the same order in every API process (they share JWT_SECRET to
 * verify tokens at all), but nobody without the secret can compute another client's id
 * offline. The key is derived with a label of its own, so it is never the token key.
 * Without JWT_SECRET no request is authenticated and a client's orders are listed to
 * anyone who names it, so the fixed key below hides nothing there and claims nothing.
 */
const UNAUTHENTICATED_KEY = "oms order ids: not secret, used only while JWT_SECRET is unset";

export function orderIdKey(jwtSecret: string | undefined): Buffer {
  return createHmac("sha256", jwtSecret ?? UNAUTHENTICATED_KEY)
    .update("oms keyed order id v1")
    .digest();
}

/**
 * The order id of a keyed checkout (a UUIDv8 over the HMAC): a retry after an answer that
 * was lost or a 503 whose job was queued anyway finds the same job (BullMQ adds a job id
 * once) instead of making a second order.
 */
export function keyedOrderId(key: Buffer, clientID: string, idempotencyKey: string): string {
  const mac = createHmac("sha256", key).update(`${clientID}\n${idempotencyKey}`).digest();
  mac[6] = ((mac[6] ?? 0) & 0x0f) | 0x80;
  mac[8] = ((mac[8] ?? 0) & 0x3f) | 0x80;
  const hex = mac.subarray(0, 16).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
