import { z } from "zod";
import { API_SETTINGS } from "./api";
import { BASE_SETTINGS } from "./base";
import { bool, integer, nonNegative, port } from "./settings";
import { WORKER_SETTINGS } from "./worker";

const QUEUE_LIMIT = "(cart|checkout|inventory)=\\d{1,2}:\\d{1,2}";
const limitPairs = (spec: string) => spec.split(",").map((pair) => pair.split("="));

/** What the autoscaler reads besides the base: the worker processes it runs, and when it adds or retires them. */
export const AUTOSCALER_SETTINGS = {
  AUTOSCALE_WORKERS: z
    .string()
    .regex(
      new RegExp(`^${QUEUE_LIMIT}(,${QUEUE_LIMIT})*$`),
      "must be queue=min:max pairs such as cart=1:2,checkout=1:4 (queues: cart, checkout, inventory)",
    )
    .refine((spec) => new Set(limitPairs(spec).map(([queue]) => queue)).size === limitPairs(spec).length, {
      message: "names a queue twice",
    })
    .refine(
      (spec) =>
        limitPairs(spec).every(([, limits]) => {
          const [min = 0, max = 0] = (limits ?? "").split(":").map(Number);
          return min <= max && max >= 1 && max <= 64;
        }),
      { message: "each queue needs min <= max and 1 <= max <= 64" },
    )
    .default("cart=1:2,checkout=1:4,inventory=1:1")
    .describe("The queues it runs worker processes for, each with its min:max processes"),
  AUTOSCALE_TARGET_BACKLOG: integer(100, { min: 1 }).describe(
    "Backlog (waiting, prioritized, delayed and active jobs) one worker process should carry",
  ),
  AUTOSCALE_MAX_WAIT_MS: integer(2_000, { min: 1 }).describe(
    "A queue whose oldest waiting job has waited longer than this gets one more process",
  ),
  AUTOSCALE_COOLDOWN_MS: nonNegative(60_000).describe(
    "How long a queue must need fewer processes before they are retired",
  ),
  AUTOSCALE_POLL_INTERVAL_MS: integer(2_000, { min: 50 }).describe(
    "How often queues are measured and decisions applied",
  ),
  AUTOSCALE_HUNG_WORKER_MS: nonNegative(15_000)
    .refine((ms) => ms === 0 || ms >= 3_000, {
      message: "must be 0 (off) or at least 3000: workers beat once a second",
    })
    .describe(
      "A consuming worker process whose heartbeat stops this long (frozen, event loop blocked) is SIGKILLed and replaced; 0 = never",
    ),
  AUTOSCALE_METRICS_PORT: port(5004).describe("Port of its /metrics, /healthz and /readyz (0 = none)"),
  AUTOSCALE_OBSERVE_ONLY: bool(false).describe(
    "Measure and export the queue metrics without running workers (the metrics source for KEDA)",
  ),
};

export const AutoscalerSchema = z.object({
  ...BASE_SETTINGS,
  ...AUTOSCALER_SETTINGS,
  // It judges its workers' stalls by their own BullMQ settings.
  STALLED_CHECK_MS: WORKER_SETTINGS.STALLED_CHECK_MS,
  MAX_STALLED: WORKER_SETTINGS.MAX_STALLED,
});
export type AutoscalerConfig = z.infer<typeof AutoscalerSchema>;

/** `npm start`'s own setting: it runs the API and the autoscaler (which runs the workers) on one machine. */
export const DEMO_SETTINGS = {
  SEED_ON_START: bool(true).describe(
    "Load the demo catalog when the catalog is empty; the API, workers and image never seed",
  ),
};

export const DemoSchema = z.object({ ...BASE_SETTINGS, ...API_SETTINGS, ...AUTOSCALER_SETTINGS, ...DEMO_SETTINGS });
export type DemoConfig = z.infer<typeof DemoSchema>;
