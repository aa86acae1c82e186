import { QuotaExceededError } from '../errors.ts';
import type { BackupDeps } from './backup-deps.ts';
import { startBackup } from './request-backup.ts';

/** What one scheduler run did, for its log. */
export interface ScheduledRun {
  started: Array<{ accountId: string; backupId: string }>;
  /** Accounts whose quota does not allow a backup yet. */
  waiting: Array<{ accountId: string; nextAllowedAt: string }>;
  failed: Array<{ accountId: string; error: string }>;
}

/**
 * The scheduler (an EventBridge rule in AWS, a timer locally): backs up every account
 * whose schedule is on, as often as its quota allows.
 *
 * Primary course:
 *  1. List the accounts whose schedule is on (a sparse index: only those).
 *  2. For each, start a backup through the same path as the API, with trigger
 *     "schedule", emailing the super admin who turned the schedule on.
 *  3. A spent quota just means "not yet": the account waits for a later run.
 *
 * One account's failure does not stop the others.
 */
export async function runScheduledBackups(deps: BackupDeps): Promise<ScheduledRun> {
  const run: ScheduledRun = { started: [], waiting: [], failed: [] };
  for (const schedule of await deps.backups.listEnabledSchedules()) {
    try {
      const backup = await startBackup({ accountId: schedule.accountId, requestedBy: schedule.email ?? 'schedule', trigger: 'schedule' }, deps);
      run.started.push({ accountId: schedule.accountId, backupId: backup.id });
    } catch (error) {
      if (error instanceof QuotaExceededError) run.waiting.push({ accountId: schedule.accountId, nextAllowedAt: error.nextAllowedAt });
      else run.failed.push({ accountId: schedule.accountId, error: (error as Error).message });
    }
  }
  return run;
}
