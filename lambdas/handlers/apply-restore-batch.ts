import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { applyRestoreBatch, type ApplyBatchOutput } from '#core/restores/apply-restore-batch.ts';
import { buildDeps, type AppDeps } from '#runtime/deps.ts';
import { configFromEnv } from '#runtime/config.ts';
import { lazyHandler } from '#runtime/lazy-handler.ts';

const input = z.object({ accountId: z.string().min(1), restoreId: z.string().min(1), segment: z.number().int().min(0) });

/** Restore state machine, inside the Map: applies the next part of one plan segment. */
export function createHandler(deps: AppDeps) {
  return async (event: unknown, context: Context): Promise<ApplyBatchOutput> =>
    applyRestoreBatch(input.parse(event), deps, { remainingMs: () => context.getRemainingTimeInMillis() });
}

export const handler = lazyHandler(() => createHandler(buildDeps(configFromEnv())));
