import { z } from 'zod';
import { failRestore, type FailRestoreInput } from '#core/restores/fail-restore.ts';
import { buildDeps, type AppDeps } from '#runtime/deps.ts';
import { configFromEnv } from '#runtime/config.ts';
import { lazyHandler } from '#runtime/lazy-handler.ts';

const fromStateMachine = z.object({
  accountId: z.string().min(1),
  restoreId: z.string().min(1),
  failure: z.object({ Error: z.string().optional(), Cause: z.string().optional() }).optional(),
});

const fromEventBridge = z.object({
  source: z.literal('aws.states'),
  detail: z.object({
    name: z.string().min(1),
    status: z.string(),
    input: z.string(),
    error: z.string().nullish(),
    cause: z.string().nullish(),
  }),
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
  const status = fromEventBridge.safeParse(event);
  if (!status.success) return fromStateMachine.parse(event);
  const { detail } = status.data;
  const { accountId } = z.object({ accountId: z.string().min(1) }).parse(JSON.parse(detail.input));
  const error = detail.status === 'TIMED_OUT' ? 'States.Timeout' : detail.status === 'ABORTED' ? 'States.Aborted' : (detail.error ?? undefined);
  return { accountId, restoreId: detail.name, failure: { Error: error, Cause: detail.cause ?? undefined } };
}

export const handler = lazyHandler(() => createHandler(buildDeps(configFromEnv())));
