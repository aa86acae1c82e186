import { requireSuperAdmin, type Caller } from '../caller.ts';
import { BackupExpiredError, BackupNotReadyError, NotFoundError } from '../errors.ts';
import { reauthenticate, type ReauthDeps } from '../totp/reauthenticate.ts';
import type { BackupDeps } from './backup-deps.ts';
import { DOWNLOAD_URL_SECONDS, zipFileName } from './backup-policy.ts';

/** A short-lived link to the zip. */
export interface BackupDownload {
  url: string;
  expiresAt: string;
}

export interface DownloadBackupDeps extends Pick<BackupDeps, 'backups' | 'blobs' | 'audit' | 'clock' | 'ids'>, ReauthDeps {
  /**
   * `reauthenticateDownloads`: the deployment lets a password alone sign in (Cognito MFA
   * optional), so a download, a whole tenant's data in one file, asks for the same
   * re-authentication as a restore.
   */
  config: { reauthenticateDownloads?: boolean };
}

/**
 * `GET /v1/backups/{id}/download`: mints a presigned URL for the zip, valid for
 * minutes, each time a signed-in super admin asks (emails only link to the app).
 *
 * Primary course:
 *  1. Super admins only; the backup must be the caller's account's (else 404).
 *  2. It must have SUCCEEDED (else 409 BACKUP_NOT_READY) and not be past `expiresAt`
 *     (else 410 BACKUP_EXPIRED: S3's lifecycle rule has deleted or will delete it).
 *  3. When downloads re-authenticate: a fresh TOTP code unless the caller signed in
 *     through SSO (401 REAUTH_REQUIRED / REAUTH_FAILED), exactly as a restore; checked
 *     last, so that a code is not spent on a download that would be refused anyway.
 *  4. Presign a GET that saves as `crm-backup-<account>-<date>.zip`.
 *  5. Audit entry "backup downloaded".
 */
export async function downloadBackup(caller: Caller, backupId: string, totp: string | undefined, deps: DownloadBackupDeps): Promise<BackupDownload> {
  requireSuperAdmin(caller);
  const backup = await deps.backups.getBackup(caller.accountId, backupId);
  if (!backup) throw new NotFoundError(`Backup "${backupId}"`);
  const now = deps.clock.now();
  if (backup.status !== 'SUCCEEDED' || !backup.zipKey) {
    throw new BackupNotReadyError(`Backup ${backupId} is ${backup.status.toLowerCase()}; only a completed backup can be downloaded.`, {
      status: backup.status,
    });
  }
  if (backup.expiresAt && now.getTime() > Date.parse(backup.expiresAt)) {
    throw new BackupExpiredError(`Backup ${backupId} expired at ${backup.expiresAt}; backups can be downloaded for 14 days.`, {
      expiredAt: backup.expiresAt,
    });
  }
  if (deps.config.reauthenticateDownloads) {
    await reauthenticate(caller, totp, deps, 'Downloading a backup');
  }
  const url = await deps.blobs.presignDownload(backup.zipKey, {
    expiresInSeconds: DOWNLOAD_URL_SECONDS,
    filename: zipFileName(backup.accountId, backup.createdAt),
  });
  await deps.audit.append({
    id: deps.ids.next('au'),
    accountId: caller.accountId,
    action: 'BACKUP_DOWNLOADED',
    actor: caller.email,
    resourceId: backupId,
    occurredAt: now.toISOString(),
    summary: `${caller.email} downloaded backup ${backupId}`,
  });
  return { url, expiresAt: new Date(now.getTime() + DOWNLOAD_URL_SECONDS * 1000).toISOString() };
}
