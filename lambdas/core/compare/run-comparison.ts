import { StepFailedError } from '../errors.ts';
import type { CompareDeps } from './compare-deps.ts';
import { advanceComparison, COMPARISON_STOPPED, failComparison, type ComparisonJob, type ComparisonRun } from './comparison-work.ts';

/**
 * The `comparison` state machine's step (and the `anomaly-check` machine's, per object
 * type): moves a COMPARING comparison on from its checkpoint until the function's time
 * runs low (`done: false`, the ASL loops) or it is READY or FAILED (`done: true`).
 */
export async function runComparison(job: ComparisonJob, deps: CompareDeps, run: ComparisonRun): Promise<{ done: boolean }> {
  const comparison = await deps.comparisons.getComparison(job.accountId, job.comparisonId);
  if (!comparison) throw new StepFailedError(`Comparison ${job.comparisonId} does not exist.`);
  const step = await advanceComparison(comparison, deps, run);
  return { done: step.done };
}

/**
 * The failure step of both machines (their Catch, and the execution-status rule on a
 * timeout or a stop): the comparison ends FAILED with its files deleted; one already
 * READY or FAILED stays as it is.
 */
export async function failRunningComparison(job: ComparisonJob, deps: Pick<CompareDeps, 'comparisons' | 'blobs' | 'clock'>): Promise<{ done: true }> {
  await failComparison({ accountId: job.accountId, id: job.comparisonId }, COMPARISON_STOPPED, deps);
  return { done: true };
}
