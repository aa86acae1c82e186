import { z } from 'zod';
import { evaluateAnomalies } from '#core/alerts/evaluate-anomalies.ts';
import { failAnomalyCheck } from '#core/alerts/fail-anomaly-check.ts';
import { planAnomalyCheck } from '#core/alerts/plan-anomaly-check.ts';
import { startAnomalyCheck } from '#core/alerts/start-anomaly-check.ts';
import { buildDeps, type AppDeps } from '#runtime/deps.ts';
import { configFromEnv } from '#runtime/config.ts';
import { lazyHandler } from '#runtime/lazy-handler.ts';
import { caughtError, executionAccountId, executionStatusChange } from '#runtime/step-events.ts';

const checkJob = { accountId: z.string().min(1), backupId: z.string().min(1) };
const step = z.discriminatedUnion('action', [
  z.object({ action: z.literal('plan'), ...checkJob }),
  z.object({ action: z.literal('evaluate'), ...checkJob, comparisons: z.array(z.string().min(1)) }),
  z.object({ action: z.literal('fail'), ...checkJob, failure: caughtError.optional() }),
]);

/**
 * The anomaly check after each backup. Three callers: the EventBridge rule on backup
 * executions that SUCCEEDED (starts the `anomaly-check` state machine, execution name =
 * backup id), that machine's steps (`plan`, `evaluate`, and `fail` from its Catch), and
 * the rule on its executions that ended FAILED, TIMED_OUT or ABORTED (the check, never
 * the backup, is marked FAILED).
 */
export function createHandler(deps: AppDeps) {
  return async (event: unknown): Promise<unknown> => {
    const ended = executionStatusChange.safeParse(event);
    if (ended.success) {
      const job = { accountId: executionAccountId(ended.data.detail), backupId: ended.data.detail.name };
      if (ended.data.detail.status === 'SUCCEEDED') await startAnomalyCheck(job, deps);
      else await failAnomalyCheck(job, deps);
      return {};
    }
    const input = step.parse(event);
    switch (input.action) {
      case 'plan':
        return planAnomalyCheck(input, deps);
      case 'evaluate':
        return evaluateAnomalies(input, deps);
      case 'fail':
        console.error(JSON.stringify({ level: 'ERROR', message: 'Anomaly check failed', backupId: input.backupId, failure: input.failure }));
        await failAnomalyCheck(input, deps);
        return {};
    }
  };
}

export const handler = lazyHandler(() => createHandler(buildDeps(configFromEnv())));
