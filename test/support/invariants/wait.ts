/** Waiting without sleeping longer than needed: the polls every invariant check starts with. */

/** Sleeps without keeping the process alive. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

/** Polls `probe` until it returns a value that is not undefined, or throws after the timeout. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined | null>,
  timeoutMs = 15_000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    // null is "not yet" too: a Redis GET of a key not set yet answers null, and a probe
    // that returned it once made a test pass without waiting for anything.
    if (value !== undefined && value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}
