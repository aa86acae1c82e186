import type { RestoreStatus } from '../restore-model.ts';
import { concludeRestore, type ConcludeRestoreDeps, type RestoreStepInput } from './restore-conclusion.ts';

/**
 * The last step of a restore whose batches all succeeded.
 *
 * Primary course:
 *  1. Sum the segments' counts and mark the restore SUCCEEDED (only from RUNNING, so a
 *     retried step or a late failure report cannot flip it).
 *  2. Add "Data restore - <Object>" to the account's imports, and an audit entry.
 *  3. Email the requester, once.
 *  4. Release the account's restore lock (only if this restore still holds it).
 */
export async function finalizeRestore(input: RestoreStepInput, deps: ConcludeRestoreDeps): Promise<RestoreStepInput & { status: RestoreStatus }> {
  const status = await concludeRestore(input, { status: 'SUCCEEDED' }, deps);
  return { ...input, status };
}
