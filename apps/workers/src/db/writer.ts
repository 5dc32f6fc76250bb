import { isDbUnavailable, traced, withTransaction, type Knex } from "@oms/shared";

/**
 * One kind of write (create orders, complete orders, add to carts, ...). Every queued
 * op of a kind runs in one call, inside the batch's transaction, so it can use
 * multi-row statements; it returns one outcome per op, in order. An expected conflict
 * of one op (a replayed order, an order already ended) is that op's outcome, never a
 * throw: a throw fails the whole batch.
 */
export interface WriteKind<In, Out> {
  readonly name: string;
  run(trx: Knex.Transaction, ops: readonly In[]): Promise<Out[]>;
}

export interface WriterOptions {
  /** Transactions in flight at once, each on its own connection. */
  connections: number;
  /** Most ops written in one transaction. */
  maxBatch: number;
  /** Kinds run in this order inside a batch, the same in every process (one lock order). */
  kindOrder?: readonly string[];
  /** Called after each batch commits (or fails) with its size, for the metrics. */
  onBatch?(size: number, ok: boolean): void;
  /** Testing only: runs inside each batch's transaction, after its writes, before COMMIT (the chaos suite kills here). */
  beforeCommit?(): Promise<void>;
}

interface Queued {
  kind: WriteKind<unknown, unknown>;
  op: unknown;
  resolve(outcome: unknown): void;
  reject(err: unknown): void;
}

/**
 * Group commit: callers hand their writes over and await their own outcome; the writer
 * puts everything queued into one transaction as soon as a connection is free. Nothing
 * waits on a timer: a lone write on an idle system goes at once, and under load the
 * queue fills while the previous transaction runs, so batches form by themselves.
 *
 * A batch whose transaction fails (a duplicate key nobody foresaw, a deadlock that
 * outlived its retries, a lost connection) is written again one op per transaction,
 * so only the op at fault fails; every caller learns its own outcome either way.
 */
export class GroupCommitWriter {
  private queue: Queued[] = [];
  private inFlight = 0;
  private readonly rank: Map<string, number>;

  constructor(
    private readonly db: Knex,
    private readonly options: WriterOptions,
  ) {
    this.rank = new Map((options.kindOrder ?? []).map((name, i) => [name, i]));
  }

  /** Queues `op` for the next batch and resolves with its own outcome (a span, when tracing, covers the wait and the write). */
  submit<In, Out>(kind: WriteKind<In, Out>, op: In): Promise<Out> {
    return traced(`mysql group commit ${kind.name}`, { "db.system.name": "mysql" }, () => this.enqueue(kind, op));
  }

  private enqueue<In, Out>(kind: WriteKind<In, Out>, op: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.queue.push({
        kind: kind as WriteKind<unknown, unknown>,
        op,
        resolve: resolve as (outcome: unknown) => void,
        reject,
      });
      this.pump();
    });
  }

  /** Ops queued and not yet in a transaction (for tests and metrics). */
  get queued(): number {
    return this.queue.length;
  }

  private pump(): void {
    while (this.inFlight < this.options.connections && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      this.inFlight++;
      void this.write(batch).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async write(batch: Queued[]): Promise<void> {
    let outcomes: unknown[];
    try {
      // The writer's pool runs every session at READ COMMITTED (createDb's
      // sessionIsolation): no gap locks on rows that do not exist yet, and no SET
      // TRANSACTION statement per batch.
      outcomes = await withTransaction(this.db, (trx) => this.runBatch(trx, batch));
    } catch (err) {
      this.options.onBatch?.(batch.length, false);
      // Unreachable MySQL fails every op alike: no point in trying them one by one.
      if (batch.length === 1 || isDbUnavailable(err)) {
        for (const queued of batch) queued.reject(err);
        return;
      }
      for (const queued of batch) await this.write([queued]);
      return;
    }
    this.options.onBatch?.(batch.length, true);
    batch.forEach((queued, i) => queued.resolve(outcomes[i]));
  }

  private async runBatch(trx: Knex.Transaction, batch: Queued[]): Promise<unknown[]> {
    const groups = new Map<WriteKind<unknown, unknown>, number[]>();
    batch.forEach((queued, i) => {
      const group = groups.get(queued.kind);
      if (group) group.push(i);
      else groups.set(queued.kind, [i]);
    });
    const kinds = [...groups.keys()].sort(
      (a, b) => (this.rank.get(a.name) ?? Infinity) - (this.rank.get(b.name) ?? Infinity),
    );
    const outcomes = new Array<unknown>(batch.length);
    for (const kind of kinds) {
      const indexes = groups.get(kind) ?? [];
      const results = await kind.run(
        trx,
        indexes.map((i) => batch[i]?.op),
      );
      if (results.length !== indexes.length)
        throw new Error(`write kind ${kind.name} answered ${results.length} outcomes for ${indexes.length} ops`);
      indexes.forEach((i, j) => (outcomes[i] = results[j]));
    }
    await this.options.beforeCommit?.();
    return outcomes;
  }
}
