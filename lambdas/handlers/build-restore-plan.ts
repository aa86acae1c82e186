import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { buildRestorePlan, failRestorePlan } from '#core/restores/build-restore-plan.ts';
import { tuningOf } from '#core/restores/restore-policy.ts';
import { buildDeps, type AppDeps } from '#runtime/deps.ts';
import { configFromEnv } from '#runtime/config.ts';
import { lazyHandler } from '#runtime/lazy-handler.ts';
import { executionAccountId, executionStatusChange } from '#runtime/step-events.ts';

const input = z.object({ accountId: z.string().min(1), planId: z.string().min(1), failure: z.unknown().optional() });

/**
 * Time kept after a stop: dropping the segment in progress, saving the checkpoint.
 * A segment of 10,000 records takes a second or two, so 60 s is ample.
 */
const RESERVE_MS = 60_000;

/**
 * restore-plan state machine: goes on with a PLANNING plan from its checkpoint until
 * the function's time runs low (answers `done: false`, the ASL loops); with `failure`
 * (the ASL's Catch), or from the execution-status rule (a timeout or a stop skips the
 * Catch), ends the plan FAILED and deletes its segment files; a settled plan stays as it is.
 */
export function createHandler(deps: AppDeps) {
  return async (event: unknown, context: Context): Promise<{ done: boolean }> => {
    // The EventBridge rule on restore-plan executions that ended FAILED, TIMED_OUT or ABORTED.
    const ended = executionStatusChange.safeParse(event);
    if (ended.success) {
      return failRestorePlan({ accountId: executionAccountId(ended.data.detail), planId: ended.data.detail.name }, deps);
    }
    const job = input.parse(event);
    if (job.failure !== undefined) {
      console.error(JSON.stringify({ level: 'ERROR', message: 'Restore planning failed', planId: job.planId, failure: job.failure }));
      return failRestorePlan({ accountId: job.accountId, planId: job.planId }, deps);
    }
    const most = tuningOf(deps.config).planSegmentsPerInvocation;
    return buildRestorePlan({ accountId: job.accountId, planId: job.planId }, deps, {
      // At least one segment per invocation, so a plan always moves on.
      keepGoing: (segments) => segments < 1 || (segments < most && context.getRemainingTimeInMillis() > RESERVE_MS),
    });
  };
}

export const handler = lazyHandler(() => createHandler(buildDeps(configFromEnv())));
