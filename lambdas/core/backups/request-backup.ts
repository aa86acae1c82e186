import { requireSuperAdmin, type Caller } from '../caller.ts';
import type { BackupDeps } from './backup-deps.ts';
import { toBackupView, type BackupView } from './backup-policy.ts';
import { startBackup } from './backup-start.ts';

/**
 * `POST /v1/backups`: a super admin asks for a backup of their own account, through
 * the same start as the scheduler's (quota claim, QUEUED backup, execution).
 */
export async function requestBackup(caller: Caller, deps: BackupDeps): Promise<BackupView> {
  requireSuperAdmin(caller);
  const backup = await startBackup({ accountId: caller.accountId, requestedBy: caller.email, trigger: 'api' }, deps);
  return toBackupView(backup, deps.clock.now());
}
