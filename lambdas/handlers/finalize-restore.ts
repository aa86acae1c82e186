import { z } from 'zod';
import { finalizeRestore } from '#core/restores/finalize-restore.ts';
import { buildDeps, type AppDeps } from '#runtime/deps.ts';
import { configFromEnv } from '#runtime/config.ts';
import { lazyHandler } from '#runtime/lazy-handler.ts';

const input = z.object({ accountId: z.string().min(1), restoreId: z.string().min(1) });

/** Restore state machine, last step: status, counts, import entry, audit, email, lock. */
export function createHandler(deps: AppDeps) {
  return async (event: unknown) => finalizeRestore(input.parse(event), deps);
}

export const handler = lazyHandler(() => createHandler(buildDeps(configFromEnv())));
