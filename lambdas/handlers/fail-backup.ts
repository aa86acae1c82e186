import type { Context } from 'aws-lambda';
import { z } from 'zod';
import type { BackupDeps } from '#core/backups/backup-deps.ts';
import { failBackup, type FailBackupInput } from '#core/backups/fail-backup.ts';
import { buildDeps } from '#runtime/deps.ts';
import { configFromEnv } from '#runtime/config.ts';
import { lazyHandler } from '#runtime/lazy-handler.ts';
import { parseInput } from '#runtime/http.ts';
import { caughtError, endedExecutionError, executionStatusChange } from '#runtime/step-events.ts';

/** From the state machine's Catch: the step's input plus `error: {Error, Cause}`. */
const caught = z.object({
  accountId: z.string().min(1),
  backupId: z.string().min(1),
  error: caughtError.optional(),
}).loose();

/**
 * The backup failure step, reached two ways: the ASL's Catch, and an EventBridge rule
 * for executions that ended FAILED/TIMED_OUT/ABORTED without reaching the Catch
 * (a timeout, a stop, an uncatchable error). The step is idempotent, so both may run.
 */
export function createHandler(deps: BackupDeps) {
  return async (event: unknown, _context: Context) => failBackup(toFailure(event), deps);
}

function toFailure(event: unknown): FailBackupInput {
  const change = executionStatusChange.safeParse(event);
  if (change.success) {
    const { detail } = change.data;
    const input = parseInput(caught, JSON.parse(detail.input));
    return { accountId: input.accountId, backupId: input.backupId, error: endedExecutionError(detail) };
  }
  const input = parseInput(caught, event);
  return { accountId: input.accountId, backupId: input.backupId, ...(input.error ? { error: input.error } : {}) };
}

export const handler = lazyHandler(() => createHandler(buildDeps(configFromEnv())));
