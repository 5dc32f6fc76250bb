import { expect, test } from "vitest";
import { EVENT_QUEUE_NAMES, QUEUE_NAMES, keyspace } from "@oms/shared";

test("no key of ours can land in a BullMQ queue's namespace, whatever the id", () => {
  const keys = keyspace("shop", 3);
  const hostileIds = ["wait", "active", "meta", "id", "events", "1", "a:b", "{x}"];
  const ours = [
    ...hostileIds.flatMap((id) => [
      keys.stock(id),
      keys.hold(id),
      keys.checkoutLock(id),
      keys.cartMirror(id),
      keys.idempotency(id, id),
      keys.stockChanges(id),
    ]),
    ...[0, 1, 2].flatMap((n) => [
      keys.holdExpiries(n),
      keys.held(n),
      keys.epoch(n),
      keys.recoveryLock(n),
      ...hostileIds.map((id) => keys.hold(id, n)),
    ]),
    ...hostileIds.flatMap((id) => [keys.rateLimit(id), keys.reply(id), keys.chaosCrashes(id)]),
    keys.checkoutOutcomes,
    keys.webhookOutcomes,
    keys.workerHeartbeats,
  ];
  for (const queue of [...Object.values(QUEUE_NAMES), ...Object.values(EVENT_QUEUE_NAMES)]) {
    for (const key of ours)
      expect(key.startsWith(`${keys.queuePrefix(queue)}:`), `${key} is inside queue ${queue}`).toBe(false);
  }
  // Every key carries the deployment's prefix first, so one SCAN pattern finds them all.
  for (const key of ours) expect(key).toMatch(/^\{shop[:}]/);
});
