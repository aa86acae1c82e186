import { TransientError } from '../errors.ts';
import type { StoredComparison } from '../compare-model.ts';
import type { CompareDeps } from './compare-deps.ts';
import { COMPARISON_STOPPED, failComparison } from './comparison-work.ts';

/**
 * How long a COMPARING comparison may go without a checkpoint before a reader checks
 * its execution. The API call that starts one lives at most 29 s; a merging step may
 * run for minutes without a checkpoint, which the check finds RUNNING and leaves alone.
 */
export const COMPARISON_START_GRACE_MS = 2 * 60_000;
/** Between two checks of one comparison's execution (pages poll every few seconds). */
const CHECK_INTERVAL_MS = 60_000;

export type ComparisonRecoveryDeps = Pick<CompareDeps, 'comparisons' | 'blobs' | 'clock' | 'workflows'>;

/**
 * Gets a COMPARING comparison going again when the API call that started it died before
 * starting its `comparison` execution, or the alert check that compared it ended first,
 * and ends one whose own execution ended without ending it. Answers the comparison as
 * it is after the check; a busy engine or table only postpones the check.
 *
 * Primary course:
 *  1. Only a comparison without a checkpoint for the grace period, and one checker a
 *     minute (a conditional claim).
 *  2. Ask the engine about the execution that moves it on.
 *  3. Running: nothing to do. None, or an alert check that ended: start a `comparison`
 *     execution named after it (the name makes a second start a no-op).
 * Alternate course: its own `comparison` execution ended: FAILED, files deleted.
 */
export async function recoverStalledComparison(comparison: StoredComparison, deps: ComparisonRecoveryDeps): Promise<StoredComparison> {
  const now = deps.clock.now();
  if (comparison.status !== 'COMPARING' || now.getTime() < Date.parse(comparison.updatedAt) + COMPARISON_START_GRACE_MS) return comparison;
  try {
    const checkedBefore = new Date(now.getTime() - CHECK_INTERVAL_MS).toISOString();
    if (!(await deps.comparisons.claimComparisonCheck(comparison.accountId, comparison.id, now.toISOString(), checkedBefore))) return comparison;
    const runner = comparison.runner ?? { workflow: 'comparison', execution: comparison.id };
    const execution = await deps.workflows.describe(runner.workflow, runner.execution);
    if (execution?.status === 'RUNNING' || execution?.status === 'PENDING_REDRIVE') return comparison;
    if (execution && runner.workflow === 'comparison') return (await failComparison(comparison, COMPARISON_STOPPED, deps)) ?? comparison;
    await deps.workflows.start('comparison', comparison.id, { accountId: comparison.accountId, comparisonId: comparison.id });
    return comparison;
  } catch (error) {
    if (error instanceof TransientError) return comparison;
    throw error;
  }
}
