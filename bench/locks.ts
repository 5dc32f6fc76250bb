/**
 * Which statements wait for InnoDB row locks, and on whom: sampled from
 * information_schema (INNODB_LOCK_WAITS, INNODB_TRX, INNODB_LOCKS) a few times a
 * second during a phase, for this run's database only. The blocking side shows the
 * statement its transaction runs at that moment (or none: between statements).
 */
import type { Knex } from "@oms/shared";

export interface LockWaitPair {
  table: string;
  index: string;
  mode: string;
  waiting: string;
  blocking: string;
  samples: number;
}

interface Row {
  waiting: string | null;
  blocking: string | null;
  lock_table: string;
  lock_index: string | null;
  lock_mode: string;
}

export function normalizeSql(sql: string | null): string {
  if (!sql) return "(between statements)";
  return sql
    .replace(/'(?:[^'\\]|\\.)*'/g, "?")
    .replace(/\b\d+(\.\d+)?\b/g, "?")
    .replace(/\((\s*\?\s*,)+\s*\?\s*\)/g, "(?...)")
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, 140);
}

export class LockWaitSampler {
  private timer: NodeJS.Timeout | undefined;
  private readonly pairs = new Map<string, LockWaitPair>();
  private busy = false;
  samples = 0;
  /** Statements this sampler sent, so the phase's statement count can leave them out. */
  queries = 0;

  constructor(
    private readonly db: Knex,
    private readonly database: string,
    private readonly intervalMs = 250,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): LockWaitPair[] {
    if (this.timer) clearInterval(this.timer);
    return [...this.pairs.values()].sort((a, b) => b.samples - a.samples).slice(0, 8);
  }

  private async sample(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    this.queries++;
    try {
      const [rows] = (await this.db.raw(
        `SELECT r.trx_query AS waiting, b.trx_query AS blocking, l.lock_table, l.lock_index, l.lock_mode
           FROM information_schema.INNODB_LOCK_WAITS w
           JOIN information_schema.INNODB_TRX r ON r.trx_id = w.requesting_trx_id
           JOIN information_schema.INNODB_TRX b ON b.trx_id = w.blocking_trx_id
           JOIN information_schema.INNODB_LOCKS l ON l.lock_id = w.requested_lock_id
          WHERE l.lock_table LIKE ?`,
        [`\`${this.database}\`.%`],
      )) as [Row[]];
      this.samples++;
      for (const r of rows) {
        const table = r.lock_table.replace(/^`[^`]+`\./, "").replace(/`/g, "");
        const pair: Omit<LockWaitPair, "samples"> = {
          table,
          index: r.lock_index ?? "",
          mode: r.lock_mode,
          waiting: normalizeSql(r.waiting),
          blocking: normalizeSql(r.blocking),
        };
        const key = JSON.stringify(pair);
        const entry = this.pairs.get(key) ?? { ...pair, samples: 0 };
        entry.samples++;
        this.pairs.set(key, entry);
      }
    } catch {
      // information_schema may refuse under load; a missed sample is fine.
    } finally {
      this.busy = false;
    }
  }
}
