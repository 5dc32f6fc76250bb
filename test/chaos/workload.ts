/**
 * The crowd of a chaos run: plans its shoppers from the seed, runs them on schedule (the
 * ones planned to cancel do so once told they succeeded), and sums up what they were told.
 */
import { BULK, HOT, RESTOCK } from "./catalog";
import type { HttpClient } from "./http-client";
import { sleep } from "./infra";
import { cancelOrder, lifecycleFigures, type LifecycleAction } from "./lifecycle";
import type { Random } from "./prng";
import type { Shape } from "./shape";
import { runShopper, type ShopperPlan, type ShopperRecord } from "./shopper";

/** `count` shoppers named `label-NNN`; `onlyBulk` ones buy the bulk product soon and pay. */
export function planShoppers(
  seed: Random,
  shape: Shape,
  count: number,
  label: string,
  onlyBulk = false,
): ShopperPlan[] {
  const plans: ShopperPlan[] = [];
  for (let i = 0; i < count; i++) {
    const rng = seed.fork(`${label}-${i}`);
    const lines: ShopperPlan["lines"] = [];
    const mix = onlyBulk
      ? "bulk"
      : rng.weighted([
          ["hot", 55],
          ["bulk", 30],
          ["restock", 15],
        ] as const);
    if (mix === "hot") {
      lines.push({
        productId: HOT,
        quantity: rng.weighted([
          [1, 85],
          [2, 15],
        ] as const),
      });
      if (rng.chance(0.3)) lines.push({ productId: BULK, quantity: rng.int(1, 2) });
    } else if (mix === "bulk") {
      lines.push({ productId: BULK, quantity: rng.int(1, 3) });
    } else {
      lines.push({ productId: RESTOCK, quantity: rng.int(1, 2) });
      if (rng.chance(0.3)) lines.push({ productId: HOT, quantity: 1 });
    }
    plans.push({
      clientId: `${label}-${String(i).padStart(3, "0")}`,
      startAtMs: onlyBulk ? rng.int(0, 500) : Math.floor(rng.between(0, shape.loadWindowMs)),
      lines,
      paymentToken: onlyBulk
        ? "tok_ok"
        : rng.weighted([
            ["tok_ok", 88],
            ["tok_decline", 6],
            ["tok_error", 6],
          ] as const),
      idempotencyKey: `chaos-${seed.seed}-${label}-${i}-${rng.hex(8)}`,
      respondAsync: !onlyBulk && rng.chance(0.1),
      // Top-up shoppers cancel too, so a worker armed for "refund-answered" gets a refund.
      cancelAfter: rng.chance(onlyBulk ? 0.5 : shape.cancelShare),
    });
  }
  return plans;
}

export class Workload {
  readonly records: ShopperRecord[] = [];
  /** The shoppers' cancels, with what each was told. */
  readonly cancels: LifecycleAction[] = [];

  constructor(
    private readonly http: HttpClient,
    private readonly seed: Random,
    private readonly shape: Shape,
    private readonly t0: number,
  ) {}

  /** Runs the planned shoppers, each at its start time, and keeps their records. */
  async run(plans: ShopperPlan[]): Promise<void> {
    const start = Date.now();
    const records = await Promise.all(
      plans.map(async (plan) => {
        await sleep(Math.max(0, start + plan.startAtMs - Date.now()));
        const rng = this.seed.fork(`retry-${plan.clientId}`);
        const record = await runShopper(this.http, plan, rng, this.shape.limits, this.t0);
        if (plan.cancelAfter && record.final.kind === "success")
          this.cancels.push(await cancelOrder(this.http, record.final.orderId, rng));
        return record;
      }),
    );
    this.records.push(...records);
  }

  /** The report's shopper figures, with the operator's moves beside the cancels. */
  figures(operatorActions: LifecycleAction[]): Record<string, number> {
    const f: Record<string, number> = {
      ...lifecycleFigures([...this.cancels, ...operatorActions]),
      clients: this.records.length,
      checkouts_attempted: 0,
      told_success: 0,
      told_success_by_polling: 0,
      told_failed: 0,
      rejected: 0,
      unknown_order: 0,
      no_final_answer: 0,
      http_500: 0,
      http_requests: this.http.requests,
      network_errors: this.http.networkErrors,
    };
    const inc = (k: string) => (f[k] = (f[k] ?? 0) + 1);
    for (const r of this.records) {
      if (r.checkoutAttempted) inc("checkouts_attempted");
      f.http_500 = (f.http_500 ?? 0) + r.serverErrors;
      switch (r.final.kind) {
        case "success":
          inc("told_success");
          if (r.final.via === "poll") inc("told_success_by_polling");
          break;
        case "failed":
          inc("told_failed");
          inc(
            `failed_${r.final.status === 402 ? "declined" : r.final.via === "poll" ? "after_pending" : r.final.status}`,
          );
          break;
        case "rejected":
          inc("rejected");
          inc(`rejected_${r.final.status}`);
          break;
        case "unknown_order":
          inc("unknown_order");
          break;
        case "none":
          inc("no_final_answer");
          break;
      }
    }
    return f;
  }
}
