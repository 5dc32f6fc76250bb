/** The workloads: each seeds its products (ids under a prefix of its own) and carts, then drives the HTTP API in phases. */
import { waitForIdleQueue } from "../test/support/invariants/quiescence";
import { listTask, runLoad, type LoadSpec, type RequestSpec } from "./load";
import { measureAlternating, measurePhase, recordCompletions } from "./phase";
import type { BenchOptions } from "./options";
import { Random } from "../test/chaos/prng";
import { clientId } from "./stats";
import type { Bench, System } from "./system";
import type { DesignId, PhaseResult, ScenarioId, ScenarioRun } from "./types";
import { seedCarts, seedProducts, type Cart, type Product, type World } from "./world";

/** Plenty: a product that never runs out during a run. */
export const AMPLE_STOCK = 100_000_000;

/** `expectedCartRows`: add-to-cart runs: the cart rows MySQL must hold afterwards (a 504 may or may not have added). */
export type ScenarioOutput = { phases: PhaseResult[]; checkoutAnswers: { completed: number; pending: number } } & {
  soldOut?: ScenarioRun["soldOut"];
  expectedCartRows?: { min: number; max: number };
};

/** What a scenario drives: the world, the design's running system, and where it reports. */
type Driver = Pick<System, "pools" | "phase" | "processes"> & Bench & { world: World; design: DesignId; label: string };

export interface Scenario<Out extends ScenarioOutput = ScenarioOutput> {
  id: string;
  seed(world: World, opts: BenchOptions): Promise<Seeded>;
  run(driver: Driver): Promise<Out>;
}

const post = (path: string, body: unknown): RequestSpec => ({ method: "POST", path, body });
export const checkout = (clientID: string): RequestSpec => post("/checkOutCart", { clientID });
export const add = (clientID: string, productID: string) => post("/addToCart", { clientID, productID, quantity: 1 });

export const ampleCatalog = (prefix: string, n: number): Product[] =>
  Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, quantity: AMPLE_STOCK }));

/**
 * Seeds the products, then the carts, and returns what the checks need (`productPrefix`: the
 * scenario's products', the checks look at their orders only) and the report's parameters.
 */
export async function seeded(world: World, products: Product[], carts: Cart[], productPrefix: string, params = {}) {
  await seedProducts(world, products);
  await seedCarts(world, carts);
  const initialStock = new Map(products.map((p) => [p.id, p.quantity]));
  return { initialStock, productPrefix, params: params as Record<string, number | string> };
}
export type Seeded = Awaited<ReturnType<typeof seeded>>;

/** A closed-loop phase of the scenario's clients; `phase` names it (add, checkout, ...). */
function spec(d: Driver, phase: string, requests: RequestSpec[], stock?: number): LoadSpec {
  const [label, { concurrency }] = [`${d.label} ${phase}`, d.opts];
  return { label, targets: d.pools, concurrency, progress: d.progress, stock, ...listTask(requests) };
}

/** The checkout phase of `clientIds`; orders completed counted from MySQL once the queue is idle. */
async function checkoutPhase(d: Driver, clientIds: string[], prefix: string, stock?: number): Promise<PhaseResult> {
  const result = await measurePhase(d.phase, spec(d, "checkout", clientIds.map(checkout), stock));
  if (d.design === "noop") return result;
  await waitForIdleQueue(d.world, "checkout", d.opts.checkTimeoutMs);
  await recordCompletions(d.world.db, result, prefix, stock);
  return result;
}

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => clientId(prefix, i));
export const answers = (p: PhaseResult) => ({ completed: p.ok, pending: p.pending });

const HOT = "fs-hot";

export const flashSale: Scenario = {
  id: "flash-sale",
  async seed(world, opts) {
    // The sold-out phase's shoppers: carts holding the (by then sold-out) product.
    const lines = [{ productId: HOT, quantity: 1 }];
    const carts = ids("so-", opts.soldOut.clients).map((clientId): Cart => ({ clientId, lines }));
    const { stock, clients } = opts.flashSale;
    const { rounds, roundSeconds } = opts.soldOut;
    return seeded(world, [{ id: HOT, quantity: stock }], carts, "fs-", {
      ...{ product: HOT, stock, clients, "sold-out clients": opts.soldOut.clients },
      "sold-out rounds": `${rounds} x ${roundSeconds}s`,
    });
  },
  async run(d) {
    const { clients, stock } = d.opts.flashSale;
    const shoppers = ids("fs-", clients);
    const toAdd = shoppers.map((c) => add(c, HOT));
    const adds = await measurePhase(d.phase, spec(d, "add", toAdd));
    // An add answered 504 may still land (its job is retried): let the cart queue settle,
    // then the shoppers who have a cart check out (the no-op design keeps no carts: all do).
    await waitForIdleQueue(d.world, "cart", d.opts.checkTimeoutMs);
    const carts = () => d.world.db("client_cart").where({ product_id: HOT }).where("client_id", "like", "fs-%");
    const withCart = d.design === "noop" ? shoppers : ((await carts().pluck("client_id")) as string[]);
    if (withCart.length < clients)
      d.progress.log(`  ${d.label}: ${withCart.length} of ${clients} shoppers have a cart after the add phase`);
    const buy = await checkoutPhase(d, withCart, "fs-", stock);
    const told = answers(buy);
    if (d.design === "noop") return { phases: [adds, buy], checkoutAnswers: told };

    // When the sale did not sell out (too few carts), sell the rest first, unmeasured.
    let [next, soldOutSeen] = [0, false];
    const drained = await runLoad({
      ...{ label: `${d.label} drain`, targets: d.pools, concurrency: d.opts.concurrency },
      task: async (_i, send) => {
        if (!soldOutSeen && (await send(checkout(clientId("so-", next++)))) === 409) soldOutSeen = true;
        return !soldOutSeen;
      },
    });
    const [drainedOk, drainedPending] = [drained.statuses["200"] ?? 0, drained.statuses["202"] ?? 0];
    if (drainedOk || drainedPending)
      d.progress.log(`  ${d.label}: ${drainedOk} units left after the sale were sold before the sold-out phase`);
    await waitForIdleQueue(d.world, "checkout", d.opts.checkTimeoutMs);
    [told.completed, told.pending] = [told.completed + drainedOk, told.pending + drainedPending];

    // Sold out: every checkout is turned away. Against GET /healthz of the same process, alternated.
    const { roundSeconds, rounds, clients: soldOutClients } = d.opts.soldOut;
    // Past the clients the drain used (their carts are empty now), wrapping around.
    const [first, span] = [next, Math.max(1, soldOutClients - next)];
    const timed = (phase: string, request: () => RequestSpec): LoadSpec[] =>
      Array.from({ length: rounds }, () => ({
        ...{ ...spec(d, phase, []), total: undefined, durationMs: roundSeconds * 1000 },
        task: (_i, send) => send(request()).then(() => true),
      }));
    const [soldOut, healthz] = await measureAlternating(d.phase, [
      timed("sold-out", () => checkout(clientId("so-", first + (next++ % span)))),
      timed("healthz", () => ({ method: "GET", path: "/healthz" })),
    ]);
    if (!soldOut || !healthz) throw new Error("sold-out phase produced no result");
    const ratio = healthz.requestsPerSecond > 0 ? soldOut.requestsPerSecond / healthz.requestsPerSecond : 0;
    return {
      phases: [adds, buy, soldOut, healthz],
      checkoutAnswers: { completed: told.completed + soldOut.ok, pending: told.pending + soldOut.pending },
      soldOut: { soldOut, healthz, ratio },
    };
  },
};

export const wideCatalog: Scenario = {
  id: "wide-catalog",
  async seed(world, opts) {
    const { products: n, carts: k, maxLines } = opts.wideCatalog;
    const random = new Random(42);
    const carts = ids("wc-c", k).map((clientId): Cart => {
      const chosen = new Set<number>();
      const lines = random.int(1, maxLines);
      while (chosen.size < lines) chosen.add(random.int(0, n - 1));
      const line = (p: number) => ({ productId: `wc-${p}`, quantity: random.int(1, 2) });
      return { clientId, lines: [...chosen].map(line) };
    });
    const lineCount = carts.reduce((s, c) => s + c.lines.length, 0);
    return seeded(world, ampleCatalog("wc-", n), carts, "wc-", {
      ...{ products: n, carts: k, "lines per cart": `1-${maxLines} (mean ${(lineCount / k).toFixed(2)})` },
      "stock per product": AMPLE_STOCK,
    });
  },
  async run(d) {
    const buy = await checkoutPhase(d, ids("wc-c", d.opts.wideCatalog.carts), "wc-c");
    return { phases: [buy], checkoutAnswers: answers(buy) };
  },
};

const HOT3 = ["h3-a", "h3-b", "h3-c"];

export const hot3: Scenario = {
  id: "hot-3",
  async seed(world, opts) {
    const k = opts.hot3.carts;
    const lines = HOT3.map((productId) => ({ productId, quantity: 1 }));
    const carts = ids("h3-c", k).map((clientId) => ({ clientId, lines }));
    const products = HOT3.map((id) => ({ id, quantity: k }));
    const params = { products: HOT3.join(", "), "stock per product": k, carts: `${k} (one of each)` };
    return seeded(world, products, carts, "h3-", params);
  },
  async run(d) {
    const buy = await checkoutPhase(d, ids("h3-c", d.opts.hot3.carts), "h3-c", d.opts.hot3.carts);
    return { phases: [buy], checkoutAnswers: answers(buy) };
  },
};

export const addOnly: Scenario = {
  id: "add-only",
  async seed(world, opts) {
    const { products, requests } = opts.addOnly;
    const params = { products, requests: `${requests} (one per client, a random product)` };
    return seeded(world, ampleCatalog("ao-", products), [], "ao-", params);
  },
  async run(d) {
    const { requests, products } = d.opts.addOnly;
    const random = new Random(7);
    const list = ids("ao-c", requests).map((c) => add(c, `ao-${random.int(0, products - 1)}`));
    const adds = await measurePhase(d.phase, spec(d, "add", list));
    const expectedCartRows = { min: adds.ok, max: adds.ok + (adds.statuses["504"] ?? 0) };
    return {
      phases: [adds],
      checkoutAnswers: { completed: 0, pending: 0 },
      ...(d.design !== "noop" && { expectedCartRows }),
    };
  },
};

export const SCENARIOS: Record<ScenarioId, Scenario> = {
  "flash-sale": flashSale,
  "wide-catalog": wideCatalog,
  "hot-3": hot3,
  "add-only": addOnly,
};
