import { requireSuperAdmin, type Caller } from '../caller.ts';
import { NotFoundError } from '../errors.ts';
import type { Page } from '../model.ts';
import type { BackupDeps } from './backup-deps.ts';
import { toBackupView, type BackupView } from './backup-policy.ts';

/** `GET /v1/backups`: the caller's account's backup history, newest first. */
export async function listBackups(caller: Caller, page: { limit: number; cursor?: string }, deps: Pick<BackupDeps, 'backups' | 'clock'>): Promise<Page<BackupView>> {
  requireSuperAdmin(caller);
  const result = await deps.backups.listBackups(caller.accountId, page);
  const now = deps.clock.now();
  return { items: result.items.map((backup) => toBackupView(backup, now)), ...(result.nextCursor ? { nextCursor: result.nextCursor } : {}) };
}

/** `GET /v1/backups/{id}`: one backup with its progress per object type; another account's id is 404. */
export async function getBackup(caller: Caller, backupId: string, deps: Pick<BackupDeps, 'backups' | 'clock'>): Promise<BackupView> {
  requireSuperAdmin(caller);
  const backup = await deps.backups.getBackup(caller.accountId, backupId);
  if (!backup) throw new NotFoundError(`Backup "${backupId}"`);
  return toBackupView(backup, deps.clock.now());
}
