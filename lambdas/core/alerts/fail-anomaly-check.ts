import type { AlertDeps } from './alert-deps.ts';
import type { AnomalyCheckJob } from './anomaly-check.ts';

/** What a failed check says on the backup's badge. */
export const CHECK_FAILED = 'The comparison with the previous backup could not be completed. The backup itself is complete and can be downloaded and restored.';

/**
 * The `anomaly-check` machine's failure step (its Catch, and the execution-status rule on
 * a timeout or a stop): the check is FAILED with a sentence. Only the check: the backup's
 * status never changes here, and a check that ended stays as it is.
 */
export async function failAnomalyCheck(job: AnomalyCheckJob, deps: Pick<AlertDeps, 'backups' | 'clock'>): Promise<void> {
  const backup = await deps.backups.getBackup(job.accountId, job.backupId);
  const previousBackupId = backup?.anomalyCheck?.previousBackupId;
  await deps.backups.setAnomalyCheck(
    job.accountId,
    job.backupId,
    { status: 'FAILED', reason: CHECK_FAILED, checkedAt: deps.clock.now().toISOString(), ...(previousBackupId ? { previousBackupId } : {}) },
    ['NONE', 'CHECKING'],
  );
}
