/**
 * Preloaded (`--import`) into every process the benchmark starts: when the benchmark
 * dies without stopping it (killed, or a test runner's timeout), the process is
 * re-parented and stops itself gracefully instead of running on.
 */
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.kill(process.pid, "SIGTERM");
}, 1_000).unref();
export {};
