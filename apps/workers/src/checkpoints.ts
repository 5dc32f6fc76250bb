import type { Keyspace, Logger, RedisClient } from "@oms/shared";
import { SAGA_STEPS } from "./checkout/steps/step";

/**
 * The points where a test may stop a worker: after a saga step, (mid-batch) inside a
 * group-commit transaction before it commits, or (refund-answered) after the provider
 * confirmed a refund and before the refund is marked done. Each must be safe to die at.
 */
export const CHECKPOINTS = [...SAGA_STEPS, "mid-batch", "refund-answered"] as const;
export type Checkpoint = (typeof CHECKPOINTS)[number];

/** Told each time a worker passes a checkpoint. Production wires none; the chaos suite wires one that kills. */
export type CheckpointHook = (reached: Checkpoint) => Promise<void>;

/** What a hook may use: the worker's own Redis, keys and log. */
export interface CheckpointContext {
  redis: RedisClient;
  keys: Keyspace;
  logger: Logger;
}
