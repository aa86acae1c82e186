import type { BackupDeps } from './backup-deps.ts';
import { backupFailedEmail } from './backup-emails.ts';
import { backupPrefix } from './backup-policy.ts';

/** A backup to fail, and why in words a person understands. */
export interface BackupFailure {
  accountId: string;
  backupId: string;
  reason: string;
}

/**
 * How long a claimed announcement (audit entry, email) belongs to its claimer. The
 * longest a Lambda lives: a claimer still alive is never overtaken, and one that died
 * before notifying leaves the announcement to the next caller after that.
 */
export const NOTICE_LEASE_MS = 15 * 60_000;

/** Step errors whose messages are written for people (errors.ts: StepFailedError and kin). */
const READABLE_ERRORS = new Set(['StepFailedError', 'ArchiveIntegrityError', 'LockLostError']);

/**
 * Turns what Step Functions reports about a failure (an error name and a Cause, which
 * for Lambda errors is the JSON `{"errorType","errorMessage"}`) into a sentence for
 * the admin. Internal details never leak: unknown errors get a generic sentence.
 */
export function describeStepFailure(error: string | null | undefined, cause: string | null | undefined): string {
  let type = error ?? '';
  let message = '';
  try {
    const parsed = JSON.parse(cause ?? '') as { errorType?: string; errorMessage?: string };
    type = parsed.errorType ?? type;
    message = parsed.errorMessage ?? '';
  } catch {
    // Not Lambda's JSON (a States.* error): the name says enough.
  }
  if (READABLE_ERRORS.has(type) && message) return message;
  if (type === 'TransientError') return 'A storage service stayed unavailable while the backup ran, even after several retries.';
  if (type === 'States.Timeout') return 'The backup took longer than the time allowed and was stopped.';
  if (type === 'States.Aborted' || type === 'ABORTED') return 'The backup was stopped before it finished.';
  return 'An internal error stopped the backup.';
}

/**
 * Marks a backup FAILED and undoes what it held: idempotent, so the state machine's
 * Catch, the execution-status rule (for executions that never reached the Catch), the
 * scheduler's sweep and a take-over of a stuck claim can all run it, even at once.
 *
 * Primary course:
 *  1. Move the backup from QUEUED/RUNNING to FAILED with the reason (conditional).
 *  2. Give the quota back, but only if this backup still holds the claim.
 *  3. Delete every object under the backup's prefix (part files, a half-written zip).
 *  4. Claim the announcement (one conditional write): only its winner goes on.
 *  5. Audit entry and email to the requester, then remember that they went out.
 *
 * Alternate courses:
 *  - The backup already SUCCEEDED: nothing changes (a late status event).
 *  - Already FAILED and notified: nothing changes (the second of the two callers).
 *  - Another caller holds the announcement: it announces, this one stops after cleaning up.
 *  - The backup was never stored (its creation failed): only the quota is refunded.
 */
export async function recordBackupFailure(input: BackupFailure, deps: BackupDeps): Promise<{ status: string }> {
  const { accountId, backupId } = input;
  let backup = await deps.backups.getBackup(accountId, backupId);
  if (!backup) {
    await deps.backups.refundQuota(accountId, backupId);
    return { status: 'UNKNOWN' };
  }
  if (backup.status === 'QUEUED' || backup.status === 'RUNNING') {
    const failedAt = deps.clock.now().toISOString();
    await deps.backups.updateBackup(accountId, backupId, { status: 'FAILED', error: input.reason, completedAt: failedAt }, ['QUEUED', 'RUNNING']);
    backup = (await deps.backups.getBackup(accountId, backupId))!;
  }
  if (backup.status !== 'FAILED' || backup.notifiedAt) return { status: backup.status };

  await deps.backups.refundQuota(accountId, backupId);
  await deps.blobs.deletePrefix(backupPrefix(accountId, backupId));
  // Reading "FAILED, not notified" and then sending would let two callers both send:
  // the one whose claim lands announces; the claim goes stale only after a claimer's
  // whole lifetime, so an announcement cut short by a crash is still made, later.
  const now = deps.clock.now();
  const claim = { status: 'FAILED' as const, at: now.toISOString(), staleBefore: new Date(now.getTime() - NOTICE_LEASE_MS).toISOString() };
  if (!(await deps.backups.claimNotification(accountId, backupId, claim))) return { status: 'FAILED' };
  deps.metrics.add('BackupsFailed', 1);
  const reason = backup.error ?? input.reason;
  const failedAt = backup.completedAt ?? deps.clock.now().toISOString();
  await deps.audit.append({
    id: `${backupId}-failed`,
    accountId,
    action: 'BACKUP_FAILED',
    actor: 'system',
    resourceId: backupId,
    occurredAt: failedAt,
    summary: `Backup ${backupId} failed: ${reason}`,
    details: { reason, trigger: backup.trigger },
  });
  const account = await deps.records.getAccount(accountId);
  if (backup.requestedBy.includes('@')) await deps.mailer.send(backupFailedEmail(backup, account?.name ?? accountId, reason, deps.config.appUrl));
  await deps.backups.updateBackup(accountId, backupId, { notifiedAt: deps.clock.now().toISOString() }, ['FAILED']);
  return { status: 'FAILED' };
}
