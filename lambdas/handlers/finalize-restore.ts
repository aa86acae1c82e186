import { z } from 'zod';
import { finalizeRestore } from '#core/restores/finalize-restore.ts';
import { lambdaHandler } from '#runtime/lazy-handler.ts';
import { stepHandler } from '#runtime/step-handler.ts';

const restoreRef = z.object({ accountId: z.string().min(1), restoreId: z.string().min(1) });

/** Restore state machine, last step: status, counts, import entry, audit, email, lock. */
export const createHandler = stepHandler(restoreRef, finalizeRestore);

export const handler = lambdaHandler(createHandler);
