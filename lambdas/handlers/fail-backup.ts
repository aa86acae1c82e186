import { z } from 'zod';
import { failBackup } from '#core/backups/fail-backup.ts';
import { lambdaHandler } from '#runtime/lazy-handler.ts';
import { caughtFailure, stepHandler } from '#runtime/step-handler.ts';

const failedBackup = z.object({ accountId: z.string().min(1), backupId: z.string().min(1), failure: caughtFailure.optional() }).loose();

/**
 * The backup failure step, reached two ways: the ASL's Catch, and an EventBridge rule
 * for executions that ended FAILED/TIMED_OUT/ABORTED without reaching the Catch
 * (a timeout, a stop, an uncatchable error). The step is idempotent, so both may run.
 */
export const createHandler = stepHandler(failedBackup, failBackup);

export const handler = lambdaHandler(createHandler);
