import type { RedisClient } from "@oms/shared";
import type { CheckoutOutcome, Keyspace, Logger } from "@oms/shared";
import { errorMessage } from "@oms/shared";

/** Counts one checkout's terminal outcome; called where the order's ending is decided. */
export type OutcomeCounter = (outcome: CheckoutOutcome) => Promise<void>;

/**
 * The counter behind oms_checkout_outcomes, in Redis so every worker adds to one total.
 * A count that cannot be made is logged and dropped: the order has already ended in
 * MySQL, and failing its checkout now would not bring the count back.
 */
export function outcomeCounter(redis: RedisClient, keys: Keyspace, logger: Logger): OutcomeCounter {
  return async (outcome) => {
    try {
      await redis.hincrby(keys.checkoutOutcomes, outcome, 1);
    } catch (err) {
      logger.warn({ outcome, err: errorMessage(err) }, "checkout outcome not counted");
    }
  };
}

/** The outcome an order failed with this code stands for. */
export function outcomeOfFailure(code: string | null): CheckoutOutcome {
  switch (code) {
    case "payment_declined":
      return "declined";
    case "out_of_stock":
      return "out_of_stock";
    case "empty_cart":
      return "empty_cart";
    default:
      return "failed";
  }
}
