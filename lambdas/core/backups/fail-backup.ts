import type { BackupDeps } from './backup-deps.ts';
import { describeStepFailure, recordBackupFailure } from './backup-failure.ts';

/** What the failure step receives: which backup, and what Step Functions reported of the failure (its Error name and Cause, the ASL's `$.failure`). */
export interface FailBackupInput {
  accountId: string;
  backupId: string;
  failure?: { Error?: string; Cause?: string };
}

/**
 * The backup state machine's failure step, reached from its Catch and from the rule on
 * executions that ended FAILED, TIMED_OUT or ABORTED without reaching it: the failure
 * in a sentence for the admin, then the backup failed, idempotently (see
 * `recordBackupFailure`), so both may run.
 */
export async function failBackup(input: FailBackupInput, deps: BackupDeps): Promise<{ status: string }> {
  const reason = describeStepFailure(input.failure?.Error, input.failure?.Cause);
  return recordBackupFailure({ accountId: input.accountId, backupId: input.backupId, reason }, deps);
}
