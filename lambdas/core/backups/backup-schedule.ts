import { requireSuperAdmin, type Caller } from '../caller.ts';
import type { BackupDeps } from './backup-deps.ts';
import { QUOTA_PERIODS } from './backup-policy.ts';

/** The schedule as the API shows it. */
export interface BackupScheduleView {
  enabled: boolean;
  /** How often scheduled backups run: as often as the tier's quota allows. */
  every: string;
  /** Who gets the scheduled backups' emails (the super admin who last changed it). */
  notify?: string;
  updatedAt?: string;
}

/** `GET /v1/backup-schedule`. */
export async function getBackupSchedule(caller: Caller, deps: Pick<BackupDeps, 'backups' | 'records'>): Promise<BackupScheduleView> {
  requireSuperAdmin(caller);
  const [schedule, account] = await Promise.all([deps.backups.getSchedule(caller.accountId), deps.records.getAccount(caller.accountId)]);
  return {
    enabled: schedule.enabled,
    every: QUOTA_PERIODS[account?.tier ?? 'starter'].period,
    ...(schedule.email ? { notify: schedule.email } : {}),
    ...(schedule.updatedAt ? { updatedAt: schedule.updatedAt } : {}),
  };
}

/**
 * `PUT /v1/backup-schedule` `{enabled}`: turns scheduled backups on or off.
 *
 * Primary course:
 *  1. Super admins only.
 *  2. Store the setting with the caller's email: there is no user directory here, so
 *     scheduled backups email the super admin who turned them on.
 *  3. Audit entry.
 */
export async function putBackupSchedule(caller: Caller, enabled: boolean, deps: Pick<BackupDeps, 'backups' | 'records' | 'audit' | 'clock' | 'ids'>): Promise<BackupScheduleView> {
  requireSuperAdmin(caller);
  const now = deps.clock.now().toISOString();
  await deps.backups.putSchedule({ accountId: caller.accountId, enabled, email: caller.email, updatedAt: now });
  await deps.audit.append({
    id: deps.ids.next('au'),
    accountId: caller.accountId,
    action: 'BACKUP_SCHEDULE_CHANGED',
    actor: caller.email,
    occurredAt: now,
    summary: `${caller.email} turned scheduled backups ${enabled ? 'on' : 'off'}`,
    details: { enabled },
  });
  return getBackupSchedule(caller, deps);
}
