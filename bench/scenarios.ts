/**
 * The workloads. Each scenario seeds its products (ids under its own prefix, so several
 * can share one database) and carts, then drives the real HTTP API in phases.
 */
import type { Pool } from "undici";
import { waitForQueueIdle } from "./checks";
import { runLoad } from "./load";
import type { Progress } from "./progress";
import { listTask, type RequestSpec } from "./load";
import { measureAlternating, measurePhase, recordCompletions, type PhaseContext } from "./phase";
import type { BenchOptions } from "./options";
import { clientId, rng } from "./stats";
import type { DesignId, PhaseResult, ScenarioId, SoldOutResult } from "./types";
import type { Cart, Product, World } from "./world";

/** Plenty: a product that never runs out during a run. */
export const AMPLE_STOCK = 100_000_000;

export interface Seeded {
  initialStock: Map<string, number>;
  params: Record<string, number | string>;
  /** The id prefix of the scenario's products (the checks look at their orders only). */
  productPrefix: string;
}

export interface ScenarioOutput {
  phases: PhaseResult[];
  checkoutAnswers: { completed: number; pending: number };
  soldOut?: SoldOutResult;
  /** add-to-cart runs: the cart rows MySQL must hold afterwards (a 504 may or may not have added). */
  expectedCartRows?: { min: number; max: number };
}

export interface Driver {
  world: World;
  design: DesignId;
  pools: Pool[];
  phase: PhaseContext;
  opts: BenchOptions;
  progress: Progress;
  label: string;
}

export interface Scenario {
  id: ScenarioId;
  seed(world: World, opts: BenchOptions, design: DesignId): Promise<Seeded>;
  run(driver: Driver): Promise<ScenarioOutput>;
}

const post = (path: string, body: unknown): RequestSpec => ({ method: "POST", path, body });
const checkout = (clientID: string): RequestSpec => post("/checkOutCart", { clientID });

function stockMap(products: Product[]): Map<string, number> {
  return new Map(products.map((p) => [p.id, p.quantity]));
}

const HOT = "fs-hot";

export const flashSale: Scenario = {
  id: "flash-sale",
  async seed(world, opts) {
    const products = [{ id: HOT, quantity: opts.flashSale.stock }];
    await world.seedProducts(products);
    // The sold-out phase's shoppers: carts holding the (by then sold-out) product.
    const carts: Cart[] = Array.from({ length: opts.soldOut.clients }, (_, i) => ({
      clientId: clientId("so-", i),
      lines: [{ productId: HOT, quantity: 1 }],
    }));
    await world.seedCarts(carts);
    return {
      initialStock: stockMap(products),
      productPrefix: "fs-",
      params: {
        product: HOT,
        stock: opts.flashSale.stock,
        clients: opts.flashSale.clients,
        concurrency: opts.concurrency,
        "sold-out clients": opts.soldOut.clients,
        "sold-out rounds": `${opts.soldOut.rounds} x ${opts.soldOut.roundSeconds}s`,
      },
    };
  },
  async run(d) {
    const { clients, stock } = d.opts.flashSale;
    const ids = Array.from({ length: clients }, (_, i) => clientId("fs-", i));
    const add = await measurePhase(d.phase, {
      label: `${d.label} add`,
      targets: d.pools,
      concurrency: d.opts.concurrency,
      total: clients,
      task: listTask(ids.map((clientID) => post("/addToCart", { clientID, productID: HOT, quantity: 1 }))),
      progress: d.progress,
    });
    // An add answered 504 may still land (its job is retried): let the cart queue settle,
    // then the shoppers who have a cart check out (the no-op design keeps no carts: all do).
    await waitForQueueIdle(d.world, "cart", d.opts.checkTimeoutMs);
    const withCart =
      d.design === "noop"
        ? ids
        : ((await d.world
            .db("client_cart")
            .where({ product_id: HOT })
            .where("client_id", "like", "fs-%")
            .pluck("client_id")) as string[]);
    if (withCart.length < clients)
      d.progress.log(`  ${d.label}: ${withCart.length} of ${clients} shoppers have a cart after the add phase`);
    const buy = await measurePhase(
      d.phase,
      {
        label: `${d.label} checkout`,
        targets: d.pools,
        concurrency: d.opts.concurrency,
        total: withCart.length,
        task: listTask(withCart.map(checkout)),
        progress: d.progress,
      },
      { stock },
    );
    if (d.design !== "noop") {
      await waitForQueueIdle(d.world, "checkout", d.opts.checkTimeoutMs);
      await recordCompletions(d.world.db, buy.result, "fs-", stock);
    }
    const phases = [add.result, buy.result];
    const answers = { completed: buy.result.ok, pending: buy.result.pending };
    if (d.design === "noop") return { phases, checkoutAnswers: answers };

    // When the sale did not sell out (too few carts), sell the rest first, unmeasured.
    let next = 0;
    let soldOutSeen = false;
    const drained = await runLoad({
      label: `${d.label} drain`,
      targets: d.pools,
      concurrency: d.opts.concurrency,
      task: async (_i, send) => {
        if (soldOutSeen) return false;
        if ((await send(checkout(clientId("so-", next++)))) === 409) soldOutSeen = true;
        return true;
      },
    });
    let drainedOk = 0;
    let drainedPending = 0;
    for (const s of drained.status) {
      if (s === 200) drainedOk++;
      if (s === 202) drainedPending++;
    }
    if (drainedOk || drainedPending)
      d.progress.log(`  ${d.label}: ${drainedOk} units left after the sale were sold before the sold-out phase`);
    await waitForQueueIdle(d.world, "checkout", d.opts.checkTimeoutMs);
    answers.completed += drainedOk;
    answers.pending += drainedPending;
    const firstSoldOutClient = next;

    // Sold out: every checkout is turned away. Against GET /healthz of the same process, alternated.
    const { roundSeconds, rounds, clients: soldOutClients } = d.opts.soldOut;
    const soldOutSpec = () => ({
      label: `${d.label} sold-out`,
      targets: d.pools,
      concurrency: d.opts.concurrency,
      durationMs: roundSeconds * 1000,
      progress: d.progress,
      task: async (_i: number, send: (r: RequestSpec) => Promise<number>) => {
        // Past the clients the drain used (their carts are empty now), wrapping around.
        const span = Math.max(1, soldOutClients - firstSoldOutClient);
        await send(checkout(clientId("so-", firstSoldOutClient + (next++ % span))));
        return true;
      },
    });
    const healthSpec = () => ({
      label: `${d.label} healthz`,
      targets: d.pools,
      concurrency: d.opts.concurrency,
      durationMs: roundSeconds * 1000,
      progress: d.progress,
      task: async (_i: number, send: (r: RequestSpec) => Promise<number>) => {
        await send({ method: "GET", path: "/healthz" });
        return true;
      },
    });
    const [soldOut, health] = await measureAlternating(d.phase, [
      Array.from({ length: rounds }, soldOutSpec),
      Array.from({ length: rounds }, healthSpec),
    ]);
    if (!soldOut || !health) throw new Error("sold-out phase produced no result");
    return {
      phases: [...phases, soldOut.result, health.result],
      checkoutAnswers: {
        completed: answers.completed + soldOut.result.ok,
        pending: answers.pending + soldOut.result.pending,
      },
      soldOut: {
        soldOut: soldOut.result,
        healthz: health.result,
        ratio:
          health.result.requestsPerSecond > 0 ? soldOut.result.requestsPerSecond / health.result.requestsPerSecond : 0,
      },
    };
  },
};

export const wideCatalog: Scenario = {
  id: "wide-catalog",
  async seed(world, opts) {
    const { products: n, carts: k, maxLines } = opts.wideCatalog;
    const products = Array.from({ length: n }, (_, i) => ({ id: `wc-${i}`, quantity: AMPLE_STOCK }));
    await world.seedProducts(products);
    const random = rng(42);
    const carts: Cart[] = Array.from({ length: k }, (_, i) => {
      const lines = 1 + Math.floor(random() * maxLines);
      const chosen = new Set<number>();
      while (chosen.size < lines) chosen.add(Math.floor(random() * n));
      return {
        clientId: clientId("wc-c", i),
        lines: [...chosen].map((p) => ({ productId: `wc-${p}`, quantity: 1 + Math.floor(random() * 2) })),
      };
    });
    await world.seedCarts(carts);
    const lineCount = carts.reduce((s, c) => s + c.lines.length, 0);
    return {
      initialStock: stockMap(products),
      productPrefix: "wc-",
      params: {
        products: n,
        carts: k,
        "lines per cart": `1-${maxLines} (mean ${(lineCount / k).toFixed(2)})`,
        "stock per product": AMPLE_STOCK,
        concurrency: opts.concurrency,
      },
    };
  },
  async run(d) {
    const k = d.opts.wideCatalog.carts;
    const buy = await measurePhase(d.phase, {
      label: `${d.label} checkout`,
      targets: d.pools,
      concurrency: d.opts.concurrency,
      total: k,
      task: listTask(Array.from({ length: k }, (_, i) => checkout(clientId("wc-c", i)))),
      progress: d.progress,
    });
    if (d.design !== "noop") {
      await waitForQueueIdle(d.world, "checkout", d.opts.checkTimeoutMs);
      await recordCompletions(d.world.db, buy.result, "wc-c");
    }
    return { phases: [buy.result], checkoutAnswers: { completed: buy.result.ok, pending: buy.result.pending } };
  },
};

const HOT3 = ["h3-a", "h3-b", "h3-c"];

export const hot3: Scenario = {
  id: "hot-3",
  async seed(world, opts) {
    const k = opts.hot3.carts;
    const products = HOT3.map((id) => ({ id, quantity: k }));
    await world.seedProducts(products);
    await world.seedCarts(
      Array.from({ length: k }, (_, i) => ({
        clientId: clientId("h3-c", i),
        lines: HOT3.map((productId) => ({ productId, quantity: 1 })),
      })),
    );
    return {
      initialStock: stockMap(products),
      productPrefix: "h3-",
      params: {
        products: HOT3.join(", "),
        "stock per product": k,
        carts: `${k} (one of each)`,
        concurrency: opts.concurrency,
      },
    };
  },
  async run(d) {
    const k = d.opts.hot3.carts;
    const buy = await measurePhase(
      d.phase,
      {
        label: `${d.label} checkout`,
        targets: d.pools,
        concurrency: d.opts.concurrency,
        total: k,
        task: listTask(Array.from({ length: k }, (_, i) => checkout(clientId("h3-c", i)))),
        progress: d.progress,
      },
      { stock: k },
    );
    if (d.design !== "noop") {
      await waitForQueueIdle(d.world, "checkout", d.opts.checkTimeoutMs);
      await recordCompletions(d.world.db, buy.result, "h3-c", k);
    }
    return { phases: [buy.result], checkoutAnswers: { completed: buy.result.ok, pending: buy.result.pending } };
  },
};

export const addOnly: Scenario = {
  id: "add-only",
  async seed(world, opts) {
    const products = Array.from({ length: opts.addOnly.products }, (_, i) => ({
      id: `ao-${i}`,
      quantity: AMPLE_STOCK,
    }));
    await world.seedProducts(products);
    return {
      initialStock: stockMap(products),
      productPrefix: "ao-",
      params: {
        products: opts.addOnly.products,
        requests: `${opts.addOnly.requests} (one per client, a random product)`,
        concurrency: opts.concurrency,
      },
    };
  },
  async run(d) {
    const { requests, products } = d.opts.addOnly;
    const random = rng(7);
    const list = Array.from({ length: requests }, (_, i) =>
      post("/addToCart", {
        clientID: clientId("ao-c", i),
        productID: `ao-${Math.floor(random() * products)}`,
        quantity: 1,
      }),
    );
    const add = await measurePhase(d.phase, {
      label: `${d.label} add`,
      targets: d.pools,
      concurrency: d.opts.concurrency,
      total: requests,
      task: listTask(list),
      progress: d.progress,
    });
    return {
      phases: [add.result],
      checkoutAnswers: { completed: 0, pending: 0 },
      ...(d.design === "noop"
        ? {}
        : { expectedCartRows: { min: add.result.ok, max: add.result.ok + (add.result.statuses["504"] ?? 0) } }),
    };
  },
};

export const SCENARIOS: Record<ScenarioId, Scenario> = {
  "flash-sale": flashSale,
  "wide-catalog": wideCatalog,
  "hot-3": hot3,
  "add-only": addOnly,
};
