import { expect, test } from "vitest";
import { QUEUE_NAMES, keyspace } from "@oms/shared";

test("no key of ours can land in a BullMQ queue's namespace, whatever the id", () => {
  const keys = keyspace("shop");
  const hostileIds = ["wait", "active", "meta", "id", "events", "1", "a:b", "{x}"];
  const ours = [
    ...hostileIds.flatMap((id) => [
      keys.stock(id),
      keys.hold(id),
      keys.checkoutLock(id),
      keys.cartMirror(id),
      keys.idempotency(id, id),
    ]),
    keys.holdExpiries,
    keys.held,
    keys.epoch,
    keys.recoveryLock,
    keys.checkoutOutcomes,
    keys.workerHeartbeats,
  ];
  for (const queue of Object.values(QUEUE_NAMES)) {
    for (const key of ours)
      expect(key.startsWith(`${keys.queuePrefix}:${queue}:`), `${key} is inside queue ${queue}`).toBe(false);
  }
  for (const key of ours) expect(key.startsWith("{shop}:")).toBe(true);
});
