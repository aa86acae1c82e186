import { z } from 'zod';
import { applyRestoreBatch } from '#core/restores/apply-restore-batch.ts';
import { lambdaHandler } from '#runtime/lazy-handler.ts';
import { stepHandler } from '#runtime/step-handler.ts';

const segmentJob = z.object({ accountId: z.string().min(1), restoreId: z.string().min(1), segment: z.number().int().min(0) });

/** Restore state machine, inside the Map: applies the next part of one plan segment. */
export const createHandler = stepHandler(segmentJob, applyRestoreBatch);

export const handler = lambdaHandler(createHandler);
