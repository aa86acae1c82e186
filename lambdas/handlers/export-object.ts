import type { Context } from 'aws-lambda';
import { z } from 'zod';
import type { BackupDeps } from '#core/backups/backup-deps.ts';
import { exportObject } from '#core/backups/export-object.ts';
import { buildDeps } from '#runtime/deps.ts';
import { configFromEnv } from '#runtime/config.ts';
import { lazyHandler } from '#runtime/lazy-handler.ts';
import { parseInput } from '#runtime/http.ts';

const exportInput = z
  .object({
    accountId: z.string().min(1),
    backupId: z.string().min(1),
    objectType: z.string().min(1),
    index: z.number().int().min(0),
    records: z.number().int().min(0).optional(),
    cursor: z
      .object({
        part: z.number().int().min(1),
        pending: z.array(z.object({ segment: z.number().int().min(0), resumeAfter: z.string().optional() })),
      })
      .optional(),
  })
  .loose();

/** Backup step 2 (one Map iteration, looped): one object type to CSV parts, resumable. */
export function createHandler(deps: BackupDeps) {
  return async (event: unknown, context: Context) =>
    exportObject(parseInput(exportInput, event), deps, { remainingMs: () => context.getRemainingTimeInMillis() });
}

export const handler = lazyHandler(() => createHandler(buildDeps(configFromEnv())));
