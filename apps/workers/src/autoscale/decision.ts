/**
 * The autoscaler's decision for one queue, as a pure function: what it measured and
 * what it decided last time in, how many worker processes it wants now out.
 *
 * - Growing is immediate: the backlog asks for ceil(backlog / targetBacklog) processes,
 *   and a job that has waited longer than maxWaitMs asks for one more than are consuming.
 * - Shrinking waits: the queue must have wanted fewer processes for a whole cool-down,
 *   and then drops to the highest number it wanted during that window (the same
 *   stabilisation window the Kubernetes HPA uses for scale-down).
 * - The result always stays within [min, max].
 */
import type { Logger, QueueName } from "@oms/shared";

export interface QueueLimits {
  min: number;
  max: number;
}

export interface ScalingPolicy {
  /** Backlog one worker process should carry. */
  targetBacklog: number;
  /** A queue whose oldest waiting job waited longer than this gets one more process. */
  maxWaitMs: number;
  /** How long a queue must want fewer processes before they are retired. */
  cooldownMs: number;
}

export interface QueueObservation {
  /** Jobs waiting, prioritized, delayed and active. */
  backlog: number;
  /** Age of the oldest job waiting to start (0 when none waits). */
  oldestWaitMs: number;
}

export interface ScalerState {
  /** Processes wanted after the last decision. */
  desired: number;
  /** Since when the queue has wanted fewer than `desired` (null: it does not). */
  lowSince: number | null;
  /** The highest number wanted since lowSince. */
  lowPeak: number;
}

export type DecisionAction = "up" | "down" | "hold";

export interface Decision {
  action: DecisionAction;
  desired: number;
  /** What the measurements alone ask for, before the cool-down. */
  recommended: number;
  reason: string;
  state: ScalerState;
}

export interface DecisionInput {
  now: number;
  observation: QueueObservation;
  /** Processes started and consuming (not starting, not retiring). */
  ready: number;
  state: ScalerState;
  limits: QueueLimits;
  policy: ScalingPolicy;
}

export function initialState(limits: QueueLimits): ScalerState {
  return { desired: limits.min, lowSince: null, lowPeak: limits.min };
}

const clamp = (n: number, { min, max }: QueueLimits) => Math.min(max, Math.max(min, n));
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** What the measurements ask for now, within the limits, and why. */
export function recommend(
  observation: QueueObservation,
  ready: number,
  current: number,
  limits: QueueLimits,
  policy: ScalingPolicy,
): { count: number; reason: string } {
  const byBacklog = Math.ceil(observation.backlog / policy.targetBacklog);
  // Only count processes that consume: while new ones start, an old job does not ask for more.
  const waitedTooLong = observation.oldestWaitMs > policy.maxWaitMs;
  const byWait = waitedTooLong ? Math.min(ready, current) + 1 : 0;
  const count = clamp(Math.max(byBacklog, byWait), limits);
  const parts = [`backlog ${observation.backlog} / ${policy.targetBacklog} per process = ${byBacklog}`];
  if (waitedTooLong) {
    parts.push(`oldest job waited ${seconds(observation.oldestWaitMs)} > ${seconds(policy.maxWaitMs)}: ${byWait}`);
  }
  if (count !== Math.max(byBacklog, byWait)) parts.push(`limits ${limits.min}..${limits.max}`);
  return { count, reason: parts.join("; ") };
}

export function decide(input: DecisionInput): Decision {
  const { now, observation, ready, state, limits, policy } = input;
  const current = state.desired;
  const { count: recommended, reason } = recommend(observation, ready, current, limits, policy);

  if (recommended > current) {
    return {
      action: "up",
      desired: recommended,
      recommended,
      reason,
      state: { desired: recommended, lowSince: null, lowPeak: recommended },
    };
  }
  if (recommended === current) {
    return { action: "hold", desired: current, recommended, reason, state: { ...state, lowSince: null } };
  }

  // Fewer wanted: wait out the cool-down, remembering the highest need seen meanwhile.
  const lowSince = state.lowSince ?? now;
  const lowPeak = state.lowSince === null ? recommended : Math.max(state.lowPeak, recommended);
  const waited = now - lowSince;
  if (waited >= policy.cooldownMs && lowPeak < current) {
    return {
      action: "down",
      desired: lowPeak,
      recommended,
      reason: `${reason}; wanted at most ${lowPeak} for ${seconds(waited)} (cool-down ${seconds(policy.cooldownMs)})`,
      state: { desired: lowPeak, lowSince: null, lowPeak },
    };
  }
  return {
    action: "hold",
    desired: current,
    recommended,
    reason: `${reason}; cooling down (${seconds(waited)} of ${seconds(policy.cooldownMs)})`,
    state: { desired: current, lowSince, lowPeak },
  };
}

/** Parses AUTOSCALE_WORKERS ("cart=1:2,checkout=1:4"), which the config schema has validated. */
export function parseWorkerLimits(spec: string): Map<QueueName, QueueLimits> {
  const limits = new Map<QueueName, QueueLimits>();
  for (const pair of spec.split(",")) {
    const match = /^(cart|checkout|inventory)=(\d+):(\d+)$/.exec(pair.trim());
    if (!match) throw new Error(`bad AUTOSCALE_WORKERS entry "${pair}"`);
    const [, queue, min, max] = match;
    limits.set(queue as QueueName, { min: Number(min), max: Number(max) });
  }
  return limits;
}

/** One log line per decision: debug for a hold, info for a change. */
export function logDecision(
  logger: Logger,
  event: {
    queue: string;
    from: number;
    decision: Decision;
    observation: QueueObservation;
    running: number;
    ready: number;
  },
): void {
  const { queue, from, decision, observation } = event;
  const fields = {
    queue,
    action: decision.action,
    from,
    to: decision.desired,
    backlog: observation.backlog,
    oldestWaitS: Math.round(observation.oldestWaitMs / 100) / 10,
    running: event.running,
    ready: event.ready,
    reason: decision.reason,
  };
  if (decision.action === "hold") logger.debug(fields, "autoscale hold");
  else logger.info(fields, `autoscale ${queue}: ${from} -> ${decision.desired} worker processes`);
}
