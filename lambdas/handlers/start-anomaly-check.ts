import { z } from 'zod';
import { startAnomalyCheck } from '#core/alerts/start-anomaly-check.ts';
import { lambdaHandler } from '#runtime/lazy-handler.ts';
import { caughtFailure, stepHandler } from '#runtime/step-handler.ts';

/** The backup execution's input, from the EventBridge rule on backups that SUCCEEDED (`failure` is empty then). */
const succeededBackup = z.object({ accountId: z.string().min(1), backupId: z.string().min(1), failure: caughtFailure.optional() }).loose();

/**
 * Starts the `anomaly-check` state machine for a backup that SUCCEEDED (after its own
 * email), named after the backup, so a repeated event starts nothing new.
 */
export const createHandler = stepHandler(succeededBackup, async ({ accountId, backupId }, deps) => {
  await startAnomalyCheck({ accountId, backupId }, deps);
  return { started: true };
});

export const handler = lambdaHandler(createHandler);
