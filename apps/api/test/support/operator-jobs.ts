/**
 * Failed jobs for the operator-*.test.ts files to re-drive, as an operator would (not a
 * test file itself).
 */
import type { Job } from "bullmq";
import { waitFor } from "@oms/shared";
import { uid } from "./operator-calls";
import { api } from "./operator-system";

/**
 * A cart job the real cart worker fails for good (quantity 0 does not validate; one attempt).
 * The operator's remedy is to correct its data and re-drive it, which is what the tests do.
 */
export async function failedCartJob(clientId: string, productId: string): Promise<Job> {
  const job = await api.deps.queues.cart.add(
    "addToCart",
    { type: "addToCart", clientId, productId, quantity: 0 },
    { jobId: uid("bad"), attempts: 1 },
  );
  await waitFor(
    "the invalid job fails",
    () => job.getState(),
    (s) => s === "failed",
    10_000,
  );
  await job.updateData({ type: "addToCart", clientId, productId, quantity: 1 });
  return job;
}

/** Waits until a job the operator re-drove (see failedCartJob) has completed. */
export async function redrivenJobCompletes(job: Job): Promise<void> {
  await waitFor(
    "the re-driven job completes",
    () => job.getState(),
    (s) => s === "completed",
    10_000,
  );
}
