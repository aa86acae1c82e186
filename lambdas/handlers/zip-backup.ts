import { z } from 'zod';
import { zipBackup } from '#core/backups/zip-backup.ts';
import { lambdaHandler } from '#runtime/lazy-handler.ts';
import { stepHandler } from '#runtime/step-handler.ts';

const zipInput = z
  .object({
    accountId: z.string().min(1),
    backupId: z.string().min(1),
    exports: z.array(z.object({ objectType: z.string().min(1), records: z.number().int().min(0), parts: z.number().int().min(0) })),
  })
  .loose();

/** Backup step 3 (state machine task): the CSV parts into one zip with a manifest. */
export const createHandler = stepHandler(zipInput, zipBackup, { durationMetric: 'BackupZipDuration' });

export const handler = lambdaHandler(createHandler);
