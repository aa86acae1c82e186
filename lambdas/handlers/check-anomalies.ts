import { z } from 'zod';
import { evaluateAnomalies } from '#core/alerts/evaluate-anomalies.ts';
import { failAnomalyCheck } from '#core/alerts/fail-anomaly-check.ts';
import { planAnomalyCheck } from '#core/alerts/plan-anomaly-check.ts';
import { lambdaHandler } from '#runtime/lazy-handler.ts';
import { caughtFailure, stepHandler } from '#runtime/step-handler.ts';

const checkJob = { accountId: z.string().min(1), backupId: z.string().min(1) };
const step = z.union([
  z.discriminatedUnion('action', [
    z.object({ action: z.literal('plan'), ...checkJob }),
    z.object({ action: z.literal('evaluate'), ...checkJob, comparisons: z.array(z.string().min(1)) }),
    z.object({ action: z.literal('fail'), ...checkJob, failure: caughtFailure.optional() }),
  ]),
  // An `anomaly-check` execution that ended without reaching its Catch (the status rule).
  z.object({ ...checkJob, failure: caughtFailure }),
]);

/**
 * The `anomaly-check` state machine's steps (`plan`, `evaluate`, and `fail` from its
 * Catch), and the rule on its executions that ended FAILED, TIMED_OUT or ABORTED: the
 * check, never the backup, is marked FAILED.
 */
export const createHandler = stepHandler(step, async (input, deps) => {
  const action = 'action' in input ? input.action : 'fail';
  if (action === 'plan') return planAnomalyCheck(input, deps);
  if (action === 'evaluate' && 'comparisons' in input) return evaluateAnomalies({ accountId: input.accountId, backupId: input.backupId, comparisons: input.comparisons as string[] }, deps);
  deps.telemetry.logger.warn('Anomaly check failed', { backupId: input.backupId, failure: 'failure' in input ? input.failure?.Error : undefined });
  await failAnomalyCheck(input, deps);
  return {};
});

export const handler = lambdaHandler(createHandler);
