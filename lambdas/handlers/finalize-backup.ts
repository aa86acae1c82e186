import type { Context } from 'aws-lambda';
import type { BackupDeps } from '#core/backups/backup-deps.ts';
import { finalizeBackup } from '#core/backups/finalize-backup.ts';
import { buildDeps } from '#runtime/deps.ts';
import { configFromEnv } from '#runtime/config.ts';
import { lazyHandler } from '#runtime/lazy-handler.ts';
import { parseInput } from '#runtime/http.ts';
import { backupRef } from './list-backup-objects.ts';

/** Backup step 4 (state machine task): SUCCEEDED, audit entry, email. */
export function createHandler(deps: BackupDeps) {
  return async (event: unknown, _context: Context) => finalizeBackup(parseInput(backupRef, event), deps);
}

export const handler = lazyHandler(() => createHandler(buildDeps(configFromEnv())));
