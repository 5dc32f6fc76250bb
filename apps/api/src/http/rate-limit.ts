import { RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import type { RedisClient } from "@oms/shared";
import { failure, type HttpResult } from "./result";

export type ClientLimiter = (key: string) => Promise<HttpResult | null>;

/**
 * A per-client limit kept in Redis, so it holds across API processes. When Redis
 * cannot answer, requests pass: the handler then answers 503 on its own. `keyOf` names
 * each client's counter (under the client's hash tag, so counters spread over a Cluster).
 */
export function createClientLimiter(
  redis: RedisClient,
  keyOf: (client: string) => string,
  perMinute: number,
): ClientLimiter {
  if (perMinute === 0) return async () => null;
  const limiter = new RateLimiterRedis({
    storeClient: redis,
    keyPrefix: "",
    points: perMinute,
    duration: 60,
    useRedisPackage: false,
  });
  return async (key) => {
    try {
      await limiter.consume(keyOf(key));
      return null;
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) return null;
      const retryAfter = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
      return failure(
        "RATE_LIMITED",
        `too many requests for this client; retry in ${retryAfter} s`,
        {},
        { "Retry-After": String(retryAfter) },
      );
    }
  };
}
