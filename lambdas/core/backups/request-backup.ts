import { requireSuperAdmin, type Caller } from '../caller.ts';
import { NotFoundError, QuotaExceededError } from '../errors.ts';
import type { Backup } from '../model.ts';
import type { BackupDeps } from './backup-deps.ts';
import { QUOTA_PERIODS, toBackupView, type BackupView } from './backup-policy.ts';
import { failBackup } from './fail-backup.ts';

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
 */
export async function startBackup(request: BackupRequest, deps: BackupDeps): Promise<Backup> {
  const account = await deps.records.getAccount(request.accountId);
  if (!account) throw new NotFoundError(`Account "${request.accountId}"`);
  const quota = QUOTA_PERIODS[account.tier];
  const now = deps.clock.now();
  const backupId = deps.ids.next('bk');
  const claim = await deps.backups.claimQuota(request.accountId, {
    backupId,
    now: now.toISOString(),
    nextAllowedAt: new Date(now.getTime() + quota.ms).toISOString(),
  });
  if (!claim.claimed) throw new QuotaExceededError(claim.nextAllowedAt, quota.tierLabel, quota.period, now);

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
    await failBackup({ accountId: request.accountId, backupId, reason: 'The backup could not be started. Try again in a few minutes.' }, deps).catch(
      () => deps.backups.refundQuota(request.accountId, backupId),
    );
    throw error;
  }
  return backup;
}

/** `POST /v1/backups`: a super admin asks for a backup of their own account. */
export async function requestBackup(caller: Caller, deps: BackupDeps): Promise<BackupView> {
  requireSuperAdmin(caller);
  const backup = await startBackup({ accountId: caller.accountId, requestedBy: caller.email, trigger: 'api' }, deps);
  return toBackupView(backup, deps.clock.now());
}
