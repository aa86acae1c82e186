import type { AnomalyCheck } from '../alert-model.ts';
import { newComparison } from '../compare/comparison-start.ts';
import type { AlertDeps } from './alert-deps.ts';
import { settingsInForce } from './alert-policy.ts';
import { checkEnded, previousBackup, type AnomalyCheckJob } from './anomaly-check.ts';

/**
 * First step of the `anomaly-check` state machine: which comparisons the check needs.
 *
 * Primary course:
 *  1. Nothing to do for a backup whose check already ended.
 *  2. Alerts off, or no earlier backup to compare with (the account's first): SKIPPED,
 *     with the reason.
 *  3. One comparison of the previous backup with this one per object type that has
 *     records in either: the latest one for that pair if there is one, otherwise a new
 *     one, made the latest (the alert's link shows it), moved on by this execution.
 *  4. The backup's check is CHECKING; the comparisons' ids go to the Map.
 */
export async function planAnomalyCheck(job: AnomalyCheckJob, deps: AlertDeps): Promise<{ comparisons: string[] }> {
  const backup = await deps.backups.getBackup(job.accountId, job.backupId);
  if (!backup || backup.status !== 'SUCCEEDED' || checkEnded(backup.anomalyCheck)) return { comparisons: [] };
  const skip = async (reason: string) => {
    const check: AnomalyCheck = { status: 'SKIPPED', reason, checkedAt: deps.clock.now().toISOString() };
    await deps.backups.setAnomalyCheck(job.accountId, job.backupId, check, ['NONE', 'CHECKING', 'FAILED']);
    return { comparisons: [] };
  };
  if (!settingsInForce(await deps.alertSettings.getAlertSettings(job.accountId)).enabled) return skip('Anomaly alerts are off for this account.');
  const previous = await previousBackup(backup, deps);
  if (!previous) return skip('There is no earlier backup to compare this one with.');

  const types = [...new Set([...(previous.objects ?? []), ...(backup.objects ?? [])].filter((object) => object.records > 0).map((object) => object.objectType))];
  const comparisons: string[] = [];
  for (const objectType of types) {
    const key = { backupId: previous.id, with: backup.id, objectType };
    const latestId = await deps.comparisons.findLatest(job.accountId, key);
    const latest = latestId ? await deps.comparisons.getComparison(job.accountId, latestId) : undefined;
    if (latest && latest.status !== 'FAILED') {
      comparisons.push(latest.id);
      continue;
    }
    const comparison = await newComparison({ accountId: job.accountId, requestedBy: 'system' }, { backup: previous, other: backup }, objectType, deps, {
      runner: { workflow: 'anomaly-check', execution: backup.id },
    });
    await deps.comparisons.createComparison(comparison);
    const won = await deps.comparisons.setLatest(job.accountId, key, comparison.id, latestId, comparison.expiresAt);
    comparisons.push(won ? comparison.id : ((await deps.comparisons.findLatest(job.accountId, key)) ?? comparison.id));
  }
  await deps.backups.setAnomalyCheck(job.accountId, job.backupId, { status: 'CHECKING', previousBackupId: previous.id }, ['NONE', 'CHECKING', 'FAILED']);
  return { comparisons };
}
