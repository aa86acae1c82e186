import { QuotaExceededError } from '../errors.ts';
import type { BackupDeps } from './backup-deps.ts';
import { startBackup } from './backup-start.ts';
import { sweepStuckBackups } from './stale-backups.ts';

/** What one scheduler run did, for its log. */
export interface ScheduledRun {
  started: Array<{ accountId: string; backupId: string }>;
  /** Accounts whose quota does not allow a backup yet. */
  waiting: Array<{ accountId: string; nextAllowedAt: string }>;
  failed: Array<{ accountId: string; error: string }>;
  /** Stuck backups the sweep failed (their claimer crashed, or their failure went unhandled). */
  recovered: Array<{ accountId: string; backupId: string }>;
}

/**
 * The scheduler (an EventBridge rule in AWS, a timer locally): backs up every account
 * whose schedule is on, as often as its quota allows.
 *
 * Primary course:
 *  1. List the accounts whose schedule is on (a sparse index: only those).
 *  2. Fail the account's stuck backups (`sweepStuckBackups`): this frees a quota that a
 *     crashed start held, and tidies backups left QUEUED or RUNNING for good.
 *  3. For each, start a backup through the same path as the API, with trigger
 *     "schedule", emailing the super admin who turned the schedule on.
 *  4. A spent quota just means "not yet": the account waits for a later run.
 *
 * One account's failure does not stop the others.
 */
export async function runScheduledBackups(deps: BackupDeps): Promise<ScheduledRun> {
  const run: ScheduledRun = { started: [], waiting: [], failed: [], recovered: [] };
  for (const schedule of await deps.backups.listEnabledSchedules()) {
    try {
      // A backup stuck since a crash would otherwise hold the account's quota for a whole
      // period. The sweep failing (say, its email bounces for good) must not keep the
      // account from its scheduled backup: it is reported and tried again next run.
      const swept = await sweepStuckBackups(schedule.accountId, deps).catch((error: unknown) => {
        run.failed.push({ accountId: schedule.accountId, error: `Sweeping stuck backups failed: ${(error as Error).message}` });
        return [];
      });
      for (const backupId of swept) run.recovered.push({ accountId: schedule.accountId, backupId });
      const backup = await startBackup({ accountId: schedule.accountId, requestedBy: schedule.email ?? 'schedule', trigger: 'schedule' }, deps);
      run.started.push({ accountId: schedule.accountId, backupId: backup.id });
    } catch (error) {
      if (error instanceof QuotaExceededError) run.waiting.push({ accountId: schedule.accountId, nextAllowedAt: error.nextAllowedAt });
      else run.failed.push({ accountId: schedule.accountId, error: (error as Error).message });
    }
  }
  return run;
}
