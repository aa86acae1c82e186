import { z } from 'zod';
import { exportObject } from '#core/backups/export-object.ts';
import { lambdaHandler } from '#runtime/lazy-handler.ts';
import { stepHandler } from '#runtime/step-handler.ts';

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

/** Backup step 2 (one Map iteration, looped): one object type to CSV parts, resumable within the invocation's time. */
export const createHandler = stepHandler(exportInput, exportObject, { durationMetric: 'BackupExportDuration' });

export const handler = lambdaHandler(createHandler);
