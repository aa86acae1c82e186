import { z } from 'zod';
import { failRestore } from '#core/restores/fail-restore.ts';
import { lambdaHandler } from '#runtime/lazy-handler.ts';
import { caughtFailure, stepHandler } from '#runtime/step-handler.ts';

const failedRestore = z.object({ accountId: z.string().min(1), restoreId: z.string().min(1), failure: caughtFailure.optional() }).loose();

/**
 * Marks a restore FAILED and cleans up after it. Two callers: the restore state
 * machine's Catch, and the EventBridge rule on its executions ending FAILED, TIMED_OUT
 * or ABORTED (a timeout or a stop skips the Catch, and the lock must still be freed).
 */
export const createHandler = stepHandler(failedRestore, failRestore);

export const handler = lambdaHandler(createHandler);
