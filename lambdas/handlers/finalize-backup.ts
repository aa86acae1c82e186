import { finalizeBackup } from '#core/backups/finalize-backup.ts';
import { lambdaHandler } from '#runtime/lazy-handler.ts';
import { stepHandler } from '#runtime/step-handler.ts';
import { backupRef } from './list-backup-objects.ts';

/** Backup step 4 (state machine task): SUCCEEDED, audit entry, email. */
export const createHandler = stepHandler(backupRef, finalizeBackup, { durationMetric: 'BackupFinalizeDuration' });

export const handler = lambdaHandler(createHandler);
