import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { zipBackup, type ZipBackupDeps } from '#core/backups/zip-backup.ts';
import { buildDeps } from '#runtime/deps.ts';
import { configFromEnv } from '#runtime/config.ts';
import { lazyHandler } from '#runtime/lazy-handler.ts';
import { parseInput } from '#runtime/http.ts';

const zipInput = z
  .object({
    accountId: z.string().min(1),
    backupId: z.string().min(1),
    exports: z.array(z.object({ objectType: z.string().min(1), records: z.number().int().min(0), parts: z.number().int().min(0) })),
  })
  .loose();

/** Backup step 3 (state machine task): the CSV parts into one zip with a manifest. */
export function createHandler(deps: ZipBackupDeps) {
  return async (event: unknown, _context: Context) => zipBackup(parseInput(zipInput, event), deps);
}

export const handler = lazyHandler(() => createHandler(buildDeps(configFromEnv())));
