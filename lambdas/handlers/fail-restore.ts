import { z } from 'zod';
import { failRestore, type FailRestoreInput } from '#core/restores/fail-restore.ts';
import { buildDeps, type AppDeps } from '#runtime/deps.ts';
import { configFromEnv } from '#runtime/config.ts';
import { lazyHandler } from '#runtime/lazy-handler.ts';
import { caughtError, endedExecutionError, executionAccountId, executionStatusChange } from '#runtime/step-events.ts';

const fromStateMachine = z.object({
  accountId: z.string().min(1),
  restoreId: z.string().min(1),
  failure: caughtError.optional(),
});

/**
 * Marks a restore FAILED and cleans up after it. Two callers: the restore state
 * machine's Catch, and the EventBridge rule on its executions ending FAILED, TIMED_OUT
 * or ABORTED (a timeout or a stop skips the Catch, and the lock must still be freed).
 */
export function createHandler(deps: AppDeps) {
  return async (event: unknown) => failRestore(toInput(event), deps);
}

function toInput(event: unknown): FailRestoreInput {
  const status = executionStatusChange.safeParse(event);
  if (!status.success) return fromStateMachine.parse(event);
  const { detail } = status.data;
  return { accountId: executionAccountId(detail), restoreId: detail.name, failure: endedExecutionError(detail) };
}

export const handler = lazyHandler(() => createHandler(buildDeps(configFromEnv())));
