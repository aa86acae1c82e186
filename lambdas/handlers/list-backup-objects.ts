import { z } from 'zod';
import { listBackupObjects } from '#core/backups/list-backup-objects.ts';
import { lambdaHandler } from '#runtime/lazy-handler.ts';
import { stepHandler } from '#runtime/step-handler.ts';

export const backupRef = z.object({ accountId: z.string().min(1), backupId: z.string().min(1) }).loose();

/** Backup step 1 (state machine task): RUNNING, and the object types to export. */
export const createHandler = stepHandler(backupRef, listBackupObjects, { durationMetric: 'BackupListDuration' });

export const handler = lambdaHandler(createHandler);
