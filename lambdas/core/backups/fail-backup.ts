import type { BackupDeps } from './backup-deps.ts';
import { describeStepFailure, recordBackupFailure } from './backup-failure.ts';

/** What the failure step receives: which backup, and what Step Functions reported of the failure (its Error name and Cause). */
export interface FailBackupInput {
  accountId: string;
  backupId: string;
  error?: { Error?: string; Cause?: string };
}

/**
 * The backup state machine's failure step, reached from its Catch and from the rule on
 * executions that ended FAILED, TIMED_OUT or ABORTED without reaching it: the failure
 * in a sentence for the admin, then the backup failed, idempotently (see
 * `recordBackupFailure`), so both may run.
 */
export async function failBackup(input: FailBackupInput, deps: BackupDeps): Promise<{ status: string }> {
  const reason = describeStepFailure(input.error?.Error, input.error?.Cause);
  return recordBackupFailure({ accountId: input.accountId, backupId: input.backupId, reason }, deps);
}
