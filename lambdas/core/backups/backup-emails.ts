import type { Backup } from '../model.ts';
import type { Email } from '../ports/mailer.ts';
import { backupPageUrl } from './backup-policy.ts';

/**
 * The emails a backup sends. They link to the backup's page in the app, where a
 * signed-in super admin downloads through a presigned URL minted on the spot: a link
 * in an inbox must not itself open the data (STACK.md, presigned URL lifetimes).
 */

/** "Your CRM backup is ready", with what it holds and how long it can be downloaded. */
export function backupReadyEmail(backup: Backup, accountName: string, appUrl: string): Email {
  const link = backupPageUrl(appUrl, backup.id);
  const lines = (backup.objects ?? []).map((object) =>
    object.records > 0 ? `  - ${object.objectType}: ${object.records.toLocaleString('en-US')} records` : `  - ${object.objectType}: no records (no file)`,
  );
  const text = [
    `Your backup of ${accountName}'s CRM data is ready.`,
    '',
    `Backup: ${backup.id} (${backup.trigger === 'schedule' ? 'scheduled' : 'requested'} ${backup.createdAt})`,
    `Completed: ${backup.completedAt}`,
    ...(backup.sizeBytes !== undefined ? [`Size: ${formatBytes(backup.sizeBytes)} (zip)`] : []),
    '',
    'It contains:',
    ...lines,
    '',
    `Download it from the app until ${backup.expiresAt}: ${link}`,
    '',
    'The backup holds sensitive data (personal and financial values). Store the downloaded file securely,',
    'and delete copies you no longer need. The zip includes manifest.json with a SHA-256 checksum per file.',
  ].join('\n');
  return { to: [backup.requestedBy], subject: `Your CRM backup is ready (${accountName})`, text };
}

/** "Your CRM backup failed", with the reason and the news that the quota was given back. */
export function backupFailedEmail(backup: Backup, accountName: string, reason: string, appUrl: string): Email {
  const text = [
    `Your backup of ${accountName}'s CRM data failed.`,
    '',
    `Backup: ${backup.id} (${backup.trigger === 'schedule' ? 'scheduled' : 'requested'} ${backup.createdAt})`,
    `Reason: ${reason}`,
    '',
    'Nothing was kept from this attempt, and it does not count against your backup quota: you can request a new backup now.',
    `Details: ${backupPageUrl(appUrl, backup.id)}`,
  ].join('\n');
  return { to: [backup.requestedBy], subject: `Your CRM backup failed (${accountName})`, text };
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GB`;
}
