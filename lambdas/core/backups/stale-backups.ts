import type { BackupDeps } from './backup-deps.ts';
import { describeStepFailure, NOTICE_LEASE_MS, recordBackupFailure } from './backup-failure.ts';

/**
 * How long a claimed backup may wait for its execution. Longer than any function that
 * claims (the API answers within 29 s, the scheduler runs at most 300 s): once it has
 * passed, whoever claimed is dead and can no longer start the execution.
 */
export const START_GRACE_MS = 10 * 60_000;

/** What a backup that never got its execution is failed with. */
export const NOT_STARTED_REASON = 'The backup could not be started. Try again in a few minutes.';

/** Backups the scheduler looks at per account: stuck ones are among the newest. */
const SWEEP_DEPTH = 10;

/** What `inspectBackup` found: stuck (and why), or when it will count as stuck if nothing moves it. */
export interface BackupHealth {
  stuck?: string;
  /** A backup still inside its grace period with no execution: stuck from then on. */
  stuckFrom?: string;
}

/**
 * Whether a backup is stuck. Stuck means nothing will ever move it on:
 *  - it was claimed but never stored, and the grace period has passed (the claimer died
 *    between the claim and storing it);
 *  - it is QUEUED with no execution after the grace period (died before StartExecution);
 *  - it is QUEUED or RUNNING but its execution has ended (the failure step and the
 *    status-change rule both missed it);
 *  - it is FAILED but its cleanup was cut short (it may still hold the quota), unless
 *    a step claimed its announcement within the lease (that step is still at work).
 * A backup whose execution runs is never stuck, however long it takes.
 */
export async function inspectBackup(accountId: string, backupId: string, claimedAt: string, deps: Pick<BackupDeps, 'backups' | 'workflows' | 'clock'>): Promise<BackupHealth> {
  const backup = await deps.backups.getBackup(accountId, backupId);
  const graceEnds = Date.parse(backup?.createdAt ?? claimedAt) + START_GRACE_MS;
  const notStarted = (): BackupHealth => (deps.clock.now().getTime() >= graceEnds ? { stuck: NOT_STARTED_REASON } : { stuckFrom: new Date(graceEnds).toISOString() });
  if (!backup) return notStarted();
  if (backup.status === 'FAILED') {
    // Its announcer claimed it after the cleanup (the quota is back) and may still be at work.
    const announcing = backup.notifyingAt !== undefined && deps.clock.now().getTime() < Date.parse(backup.notifyingAt) + NOTICE_LEASE_MS;
    return backup.notifiedAt || announcing ? {} : { stuck: backup.error ?? NOT_STARTED_REASON };
  }
  if (backup.status !== 'QUEUED' && backup.status !== 'RUNNING') return {};
  const execution = await deps.workflows.describe('backup', backupId);
  if (!execution) return backup.status === 'QUEUED' ? notStarted() : {};
  if (execution.status === 'RUNNING' || execution.status === 'PENDING_REDRIVE') return {};
  const error = execution.status === 'TIMED_OUT' ? 'States.Timeout' : execution.status === 'ABORTED' ? 'States.Aborted' : execution.error;
  return { stuck: describeStepFailure(error, execution.cause) };
}

/** Why a backup is stuck (see `inspectBackup`), or undefined while it may still progress or is done. */
export async function whyStuck(accountId: string, backupId: string, claimedAt: string, deps: Pick<BackupDeps, 'backups' | 'workflows' | 'clock'>): Promise<string | undefined> {
  return (await inspectBackup(accountId, backupId, claimedAt, deps)).stuck;
}

/**
 * The scheduler's sweep of one account: fails its stuck backups (see `inspectBackup`), which
 * also gives back a quota a stuck backup held and deletes its files.
 *
 * Primary course:
 *  1. Read the account's newest backups.
 *  2. For each not yet finished (or failed without cleanup), ask whether it is stuck.
 *  3. Fail the stuck ones through the idempotent failure step.
 *
 * Answers the ids it failed.
 */
export async function sweepStuckBackups(accountId: string, deps: BackupDeps): Promise<string[]> {
  const { items } = await deps.backups.listBackups(accountId, { limit: SWEEP_DEPTH });
  const failed: string[] = [];
  for (const backup of items) {
    if (backup.status === 'SUCCEEDED' || backup.status === 'EXPIRED') continue;
    const reason = (await inspectBackup(accountId, backup.id, backup.createdAt, deps)).stuck;
    if (!reason) continue;
    await recordBackupFailure({ accountId, backupId: backup.id, reason }, deps);
    failed.push(backup.id);
  }
  return failed;
}
