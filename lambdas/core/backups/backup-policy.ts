import { BackupExpiredError, BackupNotReadyError, NotFoundError } from '../errors.ts';
import type { Backup, Tier } from '../model.ts';
import type { Clock } from '../ports/clock.ts';
import { BACKUP_RETENTION_DAYS } from '../model.ts';

/**
 * Rules and names every backup step shares: the quota per tier, where a backup's
 * files live in the bucket, and how a stored backup is shown.
 */

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** One backup per this period (PRODUCT.md, Backup 1). */
export const QUOTA_PERIODS: Record<Tier, { ms: number; tierLabel: string; period: string }> = {
  starter: { ms: 7 * DAY_MS, tierLabel: 'Starter', period: '7 days' },
  professional: { ms: 7 * DAY_MS, tierLabel: 'Professional', period: '7 days' },
  enterprise: { ms: 24 * HOUR_MS, tierLabel: 'Enterprise', period: '24 hours' },
};

/** Presigned download URLs live this long: a leaked link is useless minutes later. */
export const DOWNLOAD_URL_SECONDS = 300;

export function addDays(iso: string, days: number): string {
  return new Date(Date.parse(iso) + days * DAY_MS).toISOString();
}

/** When a backup completed at `completedAt` stops being downloadable (and S3 deletes it). */
export function expiryOf(completedAt: string): string {
  return addDays(completedAt, BACKUP_RETENTION_DAYS);
}

/**
 * Everything of one backup is under this prefix: the bucket's 14-day lifecycle rule
 * on `backups/` removes it all, and a failed backup's cleanup deletes it at once.
 */
export function backupPrefix(accountId: string, backupId: string): string {
  return `backups/${accountId}/${backupId}/`;
}

/** Part files of the exports; deleted once the zip holds them. */
export function partsPrefix(accountId: string, backupId: string): string {
  return `${backupPrefix(accountId, backupId)}parts/`;
}

/**
 * Part `part` of one object type's CSV, stored as a raw deflate segment (the zip is
 * assembled from the parts as they are). Part 0 is the header row; each export
 * invocation writes the next part, so a retried invocation overwrites its own part.
 */
export function partKey(accountId: string, backupId: string, objectType: string, part: number): string {
  return `${partsPrefix(accountId, backupId)}${objectType}/${String(part).padStart(5, '0')}.csv`;
}

/** The small JSON next to a part: its segment's CRC-32 and sizes, the running SHA-256 (export-object.ts). */
export function partDigestKey(accountId: string, backupId: string, objectType: string, part: number): string {
  return `${partsPrefix(accountId, backupId)}${objectType}/${String(part).padStart(5, '0')}.json`;
}

/** The zip's file name: what the browser saves (`crm-backup-acme-2026-11-26.zip`). */
export function zipFileName(accountId: string, createdAt: string): string {
  return `crm-backup-${accountId}-${createdAt.slice(0, 10)}.zip`;
}

/** The zip's key: deterministic from the backup, so a retried zip step overwrites rather than duplicates. */
export function zipKey(backup: Pick<Backup, 'accountId' | 'id' | 'createdAt'>): string {
  return `${backupPrefix(backup.accountId, backup.id)}${zipFileName(backup.accountId, backup.createdAt)}`;
}

/** A backup's file name inside the zip, per object type. */
export function csvFileName(objectType: string): string {
  return `${objectType}.csv`;
}

/** Where one object type's records are in a backup: its CSV in the zip, and what the manifest says of it. */
export interface BackupFile {
  zipKey: string;
  entry: { name: string; bytes: number; sha256: string };
  /** Records in it, as the manifest counts them. */
  records: number;
}

/** The object type's CSV in a completed backup; undefined when the backup holds no records of it. */
export function backupFileOf(backup: Backup, objectType: string): BackupFile | undefined {
  const object = backup.objects?.find((candidate) => candidate.objectType === objectType);
  if (!object?.file || !object.sha256 || object.bytes === undefined || !backup.zipKey) return undefined;
  return { zipKey: backup.zipKey, entry: { name: object.file, bytes: object.bytes, sha256: object.sha256 }, records: object.records };
}

/** The link in emails: the app's page for the backup, never a presigned URL (STACK.md). */
export function backupPageUrl(appUrl: string, backupId: string): string {
  return `${appUrl.replace(/\/$/, '')}/backups/${encodeURIComponent(backupId)}`;
}

/** A backup as the API answers it: no storage details, and EXPIRED once past `expiresAt`. */
export interface BackupView {
  id: string;
  status: Backup['status'];
  trigger: Backup['trigger'];
  requestedBy: string;
  createdAt: string;
  completedAt?: string;
  expiresAt?: string;
  sizeBytes?: number;
  objects?: Backup['objects'];
  error?: string;
  /** The anomaly check against the previous backup (the history's badge): absent until it runs. */
  anomalyCheck?: Backup['anomalyCheck'];
}

/** Shows a stored backup; the status turns EXPIRED when `now` is past `expiresAt`. */
export function toBackupView(backup: Backup, now: Date): BackupView {
  const expired = backup.status === 'SUCCEEDED' && backup.expiresAt !== undefined && now.getTime() > Date.parse(backup.expiresAt);
  return {
    id: backup.id,
    status: expired ? 'EXPIRED' : backup.status,
    trigger: backup.trigger,
    requestedBy: backup.requestedBy,
    createdAt: backup.createdAt,
    ...(backup.completedAt ? { completedAt: backup.completedAt } : {}),
    ...(backup.expiresAt ? { expiresAt: backup.expiresAt } : {}),
    ...(backup.sizeBytes !== undefined ? { sizeBytes: backup.sizeBytes } : {}),
    objects: backup.objects ?? [],
    ...(backup.error ? { error: backup.error } : {}),
    ...(backup.anomalyCheck ? { anomalyCheck: backup.anomalyCheck } : {}),
  };
}

/**
 * A backup of the account that can still be read (restored from, compared):
 * NotFoundError, BackupExpiredError (its file is deleted) or BackupNotReadyError
 * otherwise. `use` words the refusal: `{subject: 'This backup', verb: 'restored'}`.
 */
export async function requireReadableBackup(
  accountId: string,
  backupId: string,
  deps: { backups: { getBackup(accountId: string, backupId: string): Promise<Backup | undefined> }; clock: Clock },
  use: { subject: string; verb: string },
): Promise<Backup> {
  const backup = await deps.backups.getBackup(accountId, backupId);
  if (!backup) throw new NotFoundError(`Backup "${backupId}"`);
  if (backup.status === 'EXPIRED' || (backup.expiresAt && Date.parse(backup.expiresAt) <= deps.clock.now().getTime())) {
    throw new BackupExpiredError(`${use.subject} expired at ${backup.expiresAt} and its file is deleted; it can no longer be ${use.verb}.`, {
      expiresAt: backup.expiresAt,
    });
  }
  if (backup.status !== 'SUCCEEDED' || !backup.expiresAt) {
    throw new BackupNotReadyError(`${use.subject} is ${backup.status.toLowerCase()}; only a completed backup can be ${use.verb}.`, { status: backup.status });
  }
  return backup;
}
