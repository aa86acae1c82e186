import type { Context } from 'aws-lambda';
import type { BackupDeps } from '#core/backups/backup-deps.ts';
import { runScheduledBackups } from '#core/backups/run-scheduled-backups.ts';
import { buildDeps } from '#runtime/deps.ts';
import { configFromEnv } from '#runtime/config.ts';
import { lazyHandler } from '#runtime/lazy-handler.ts';

/** The backup scheduler: an EventBridge schedule in AWS, a timer in the local runtime. */
export function createHandler(deps: BackupDeps) {
  return async (_event: unknown, _context: Context) => {
    const run = await runScheduledBackups(deps);
    console.log(JSON.stringify({ level: 'INFO', message: 'Scheduled backups', started: run.started.length, waiting: run.waiting.length, recovered: run.recovered, failed: run.failed }));
    return run;
  };
}

export const handler = lazyHandler(() => createHandler(buildDeps(configFromEnv())));
