export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Probes until `ok` holds for the probe's value and returns that value; after
 * `timeoutMs` it throws, naming `what` and the last value seen. A probe that throws
 * ends the wait with its error (a probe that should tolerate failures catches them).
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | Promise<T>,
  ok: (value: T) => boolean,
  timeoutMs: number,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(value)})`);
    await sleep(intervalMs);
  }
}

/**
 * `promise`, or a rejection once `ms` have passed: `what` names what took too long, or
 * builds the error to reject with (a caller that maps it to an answer of its own).
 */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string | (() => Error)): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(typeof what === "string" ? new Error(`${what} took longer than ${ms} ms`) : what()),
          ms,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
