import { StepFailedError } from '../errors.ts';
import type { BackupRef } from '../model.ts';
import type { BackupDeps } from './backup-deps.ts';
import { backupReadyEmail } from './backup-emails.ts';
import { expiryOf } from './backup-policy.ts';

/**
 * Last step of a backup: it becomes downloadable, and the requester hears of it.
 *
 * Primary course:
 *  1. Move the backup from RUNNING to SUCCEEDED with `expiresAt` = completion + 14 days
 *     (the zip step fixed the completion time, the one the manifest shows).
 *  2. Audit entry "backup completed".
 *  3. Email the requester a link to the backup's page in the app.
 *  4. Remember that the email went out, so that a retried step does not send it again.
 */
export async function finalizeBackup(input: BackupRef, deps: Pick<BackupDeps, 'backups' | 'records' | 'audit' | 'mailer' | 'clock' | 'config' | 'metrics'>): Promise<BackupRef> {
  const { accountId, backupId } = input;
  let backup = await deps.backups.getBackup(accountId, backupId);
  if (!backup) throw new StepFailedError(`Backup ${backupId} does not exist.`);
  if (backup.status === 'RUNNING') {
    if (!backup.zipKey || !backup.completedAt) throw new StepFailedError(`Backup ${backupId} has no zip yet.`);
    await deps.backups.updateBackup(accountId, backupId, { status: 'SUCCEEDED', expiresAt: expiryOf(backup.completedAt) }, ['RUNNING']);
    backup = (await deps.backups.getBackup(accountId, backupId))!;
  }
  if (backup.status !== 'SUCCEEDED') throw new StepFailedError(`Backup ${backupId} is ${backup.status.toLowerCase()}, not finishing.`);
  if (backup.notifiedAt) return input;

  const totalRecords = (backup.objects ?? []).reduce((sum, object) => sum + object.records, 0);
  const files = (backup.objects ?? []).filter((object) => object.file).length;
  await deps.audit.append({
    id: `${backupId}-completed`,
    accountId,
    action: 'BACKUP_COMPLETED',
    actor: 'system',
    resourceId: backupId,
    occurredAt: backup.completedAt!,
    summary: `Backup ${backupId} completed: ${totalRecords.toLocaleString('en-US')} records in ${files} files`,
    details: { sizeBytes: backup.sizeBytes, records: totalRecords, files, expiresAt: backup.expiresAt },
  });
  deps.metrics.add('BackupsSucceeded', 1);
  deps.metrics.add('RecordsExported', totalRecords);
  deps.metrics.add('BytesExported', backup.sizeBytes ?? 0);
  deps.metrics.add('BackupDuration', Date.parse(backup.completedAt!) - Date.parse(backup.createdAt));
  const account = await deps.records.getAccount(accountId);
  // requestedBy is an email for every backup we start; the guard keeps a bad record from failing the step.
  if (backup.requestedBy.includes('@')) await deps.mailer.send(backupReadyEmail(backup, account?.name ?? accountId, deps.config.appUrl));
  await deps.backups.updateBackup(accountId, backupId, { notifiedAt: deps.clock.now().toISOString() }, ['SUCCEEDED']);
  return input;
}
