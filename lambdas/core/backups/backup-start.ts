import { NotFoundError, QuotaExceededError, type ClaimInProgress } from '../errors.ts';
import type { Backup } from '../model.ts';
import type { BackupDeps } from './backup-deps.ts';
import { recordBackupFailure } from './backup-failure.ts';
import { QUOTA_PERIODS } from './backup-policy.ts';
import { inspectBackup, NOT_STARTED_REASON } from './stale-backups.ts';

/** Who starts a backup and why: a super admin through the API, or the schedule. */
export interface BackupRequest {
  accountId: string;
  /** The email the completion notice goes to. */
  requestedBy: string;
  trigger: Backup['trigger'];
}

/**
 * Starts a backup of an account if its quota allows: the one code path for the API
 * and the scheduler.
 *
 * Primary course:
 *  1. Read the account's tier; it fixes the quota period.
 *  2. Claim the quota with one conditional write (the only guard against concurrent
 *     requests: of any number of callers exactly one wins).
 *  3. Store the backup as QUEUED and record the request in the audit log.
 *  4. Start the state machine with the backup id as the execution name.
 *
 * Alternate courses:
 *  - Quota spent: QuotaExceededError with `nextAllowedAt`; nothing was written.
 *  - Anything fails after the claim: the backup is marked FAILED and the claim refunded.
 *  - The claim is held by a stuck backup (its claimer crashed before the execution
 *    started, past a grace period; see `inspectBackup`): take the claim over with one
 *    conditional write naming the stuck backup (of concurrent callers exactly one
 *    wins), fail the stuck backup, and go on as usual. A running backup is never stuck.
 *    Within the grace period the refusal still names the claim's end as `nextAllowedAt`
 *    (and Retry-After), and adds `claimInProgress`: the backup being started and when its
 *    claim lapses if it never starts.
 */
export async function startBackup(request: BackupRequest, deps: BackupDeps): Promise<Backup> {
  const account = await deps.records.getAccount(request.accountId);
  if (!account) throw new NotFoundError(`Account "${request.accountId}"`);
  const quota = QUOTA_PERIODS[account.tier];
  const now = deps.clock.now();
  const backupId = deps.ids.next('bk');
  const wanted = { backupId, now: now.toISOString(), nextAllowedAt: new Date(now.getTime() + quota.ms).toISOString() };
  let claim = await deps.backups.claimQuota(request.accountId, wanted);
  // Refused, yet nobody holds the claim: it was given back in between (a failure or a sweep).
  if (!claim.claimed && !claim.heldBy) claim = await deps.backups.claimQuota(request.accountId, wanted);
  let claimInProgress: ClaimInProgress | undefined;
  if (!claim.claimed && claim.heldBy) {
    const stale = claim.heldBy;
    const holder = await inspectBackup(request.accountId, stale.backupId, stale.claimedAt, deps);
    if (holder.stuck) {
      claim = await deps.backups.claimQuota(request.accountId, { ...wanted, replacing: stale.backupId });
      // Only the one caller that took the claim over fails the stuck backup: one email,
      // one audit entry. Its refund is a no-op now (the claim is ours); if this fails,
      // the scheduler's sweep or the next request finishes it.
      if (claim.claimed) await recordBackupFailure({ accountId: request.accountId, backupId: stale.backupId, reason: holder.stuck }, deps).catch(() => undefined);
    } else if (holder.stuckFrom && holder.stuckFrom < claim.nextAllowedAt) {
      // Still being started (or its claimer crashed, which nobody can tell yet): the refusal
      // names the claim's real end, and says when the claim lapses if the start never completes.
      claimInProgress = { backupId: stale.backupId, expiresAt: holder.stuckFrom };
    }
  }
  if (!claim.claimed) throw new QuotaExceededError(claim.nextAllowedAt, quota.tierLabel, quota.period, now, claimInProgress);

  const backup: Backup = {
    id: backupId,
    accountId: request.accountId,
    status: 'QUEUED',
    trigger: request.trigger,
    requestedBy: request.requestedBy,
    createdAt: now.toISOString(),
    objects: [],
  };
  try {
    await deps.backups.createBackup(backup);
    await deps.audit.append({
      id: `${backupId}-requested`,
      accountId: request.accountId,
      action: 'BACKUP_REQUESTED',
      actor: request.trigger === 'schedule' ? 'system' : request.requestedBy,
      resourceId: backupId,
      occurredAt: backup.createdAt,
      summary: request.trigger === 'schedule' ? `Scheduled backup ${backupId} started` : `${request.requestedBy} requested backup ${backupId}`,
      details: { trigger: request.trigger },
    });
    await deps.workflows.start('backup', backupId, { accountId: request.accountId, backupId });
  } catch (error) {
    await recordBackupFailure({ accountId: request.accountId, backupId, reason: NOT_STARTED_REASON }, deps).catch(
      () => deps.backups.refundQuota(request.accountId, backupId),
    );
    throw error;
  }
  return backup;
}
