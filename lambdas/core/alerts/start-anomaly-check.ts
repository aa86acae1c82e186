import type { AlertDeps } from './alert-deps.ts';
import type { AnomalyCheckJob } from './anomaly-check.ts';

/**
 * Runs when a backup's execution SUCCEEDED (an EventBridge rule, after the backup was
 * marked SUCCEEDED and its requester emailed): starts the `anomaly-check` state machine
 * for it, named after the backup, so a repeated event starts nothing new. The check is
 * its own execution: however it goes, the backup stays as it is.
 */
export async function startAnomalyCheck(job: AnomalyCheckJob, deps: Pick<AlertDeps, 'workflows'>): Promise<void> {
  await deps.workflows.start('anomaly-check', job.backupId, { accountId: job.accountId, backupId: job.backupId });
}
