import type { Context } from 'aws-lambda';
import { z } from 'zod';
import type { BackupDeps } from '#core/backups/backup-deps.ts';
import { listBackupObjects } from '#core/backups/list-backup-objects.ts';
import { buildDeps } from '#runtime/deps.ts';
import { configFromEnv } from '#runtime/config.ts';
import { lazyHandler } from '#runtime/lazy-handler.ts';
import { parseInput } from '#runtime/http.ts';

export const backupRef = z.object({ accountId: z.string().min(1), backupId: z.string().min(1) }).loose();

/** Backup step 1 (state machine task): RUNNING, and the object types to export. */
export function createHandler(deps: BackupDeps) {
  return async (event: unknown, _context: Context) => listBackupObjects(parseInput(backupRef, event), deps);
}

export const handler = lazyHandler(() => createHandler(buildDeps(configFromEnv())));
