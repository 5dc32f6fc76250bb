/** Group-commit batch sizes, scraped from the worker processes' /metrics at the end of a run. */
import type { WriteBatches } from "./types";

const METRIC = "oms_write_batch_size";

/** Sums the committed batches of every worker; null when none could be read (in-process runs). */
export async function scrapeWriteBatches(urls: string[]): Promise<WriteBatches | null> {
  const texts = await Promise.all(
    urls.map((url) =>
      fetch(url).then(
        (r) => (r.ok ? r.text() : ""),
        () => "",
      ),
    ),
  );
  const buckets = new Map<number, number>();
  let transactions = 0;
  let writes = 0;
  let read = false;
  for (const text of texts) {
    for (const line of text.split("\n")) {
      if (!line.startsWith(METRIC) || !line.includes('outcome="committed"')) continue;
      read = true;
      const value = Number(line.slice(line.lastIndexOf(" ") + 1));
      if (line.startsWith(`${METRIC}_bucket`)) {
        const le = /le="([^"]+)"/.exec(line)?.[1];
        const bound = le === "+Inf" ? Infinity : Number(le);
        buckets.set(bound, (buckets.get(bound) ?? 0) + value);
      } else if (line.startsWith(`${METRIC}_sum`)) writes += value;
      else if (line.startsWith(`${METRIC}_count`)) transactions += value;
    }
  }
  if (!read) return null;
  const cumulative = [...buckets].sort((a, b) => a[0] - b[0]);
  const quantile = (q: number) => cumulative.find(([, n]) => n >= q * transactions)?.[0] ?? Infinity;
  return {
    transactions,
    writes,
    meanSize: transactions ? Math.round((10 * writes) / transactions) / 10 : 0,
    p50AtMost: quantile(0.5),
    p90AtMost: quantile(0.9),
    maxAtMost: quantile(1),
  };
}
