import type { RestoreStatus } from '../restore-model.ts';
import { concludeRestore, type ConcludeRestoreDeps, type RestoreStepInput } from './restore-conclusion.ts';

/** The state machine's Catch output: Step Functions' Error name and Cause (Lambda's `{errorType, errorMessage}` JSON). */
export interface FailRestoreInput extends RestoreStepInput {
  failure?: { Error?: string; Cause?: string };
}

/** Names of our errors whose message is written for people (errors.ts, StepFailedError and its subclasses). */
const READABLE_ERRORS = new Set(['StepFailedError', 'ArchiveIntegrityError', 'LockLostError']);

/**
 * Marks a restore FAILED after the state machine caught an error, or after EventBridge
 * reported its execution FAILED, TIMED_OUT or ABORTED (then the Catch never ran).
 *
 * Primary course:
 *  1. Turn the failure into a sentence a person can act on (ours verbatim, others generic).
 *  2. Conclude the restore as FAILED with the counts of what was applied: import entry,
 *     audit entry, email to the requester, lock released. A restore that already ended
 *     keeps its status, and the lock is still released if it holds it.
 */
export async function failRestore(input: FailRestoreInput, deps: ConcludeRestoreDeps): Promise<RestoreStepInput & { status: RestoreStatus }> {
  const status = await concludeRestore(input, { status: 'FAILED', error: describeFailure(input.failure) }, deps);
  return { accountId: input.accountId, restoreId: input.restoreId, status };
}

export function describeFailure(failure: FailRestoreInput['failure']): string {
  if (!failure) return 'The restore stopped unexpectedly.';
  if (failure.Error === 'States.Timeout') return 'The restore took longer than its time limit and was stopped.';
  if (failure.Error === 'States.Aborted') return 'The restore was stopped before it finished.';
  let cause: { errorType?: string; errorMessage?: string } = {};
  try {
    cause = JSON.parse(failure.Cause ?? '{}');
  } catch {
    // a Cause that is not Lambda's JSON: say nothing of it
  }
  const name = cause.errorType ?? failure.Error ?? '';
  if (READABLE_ERRORS.has(name) && cause.errorMessage) return cause.errorMessage;
  if (name === 'TransientError') return 'A storage service kept failing; the restore was retried and then stopped.';
  return 'An internal error stopped the restore.';
}
