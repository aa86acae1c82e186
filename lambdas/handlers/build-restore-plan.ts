import { z } from 'zod';
import { buildRestorePlan, failRestorePlan } from '#core/restores/build-restore-plan.ts';
import { tuningOf } from '#core/restores/restore-policy.ts';
import { lambdaHandler } from '#runtime/lazy-handler.ts';
import { caughtFailure, stepHandler } from '#runtime/step-handler.ts';

const planJob = z.object({ accountId: z.string().min(1), planId: z.string().min(1), failure: caughtFailure.optional() }).loose();

/**
 * Time kept after a stop: dropping the segment in progress, saving the checkpoint.
 * A segment of 10,000 records takes a second or two, so 60 s is ample.
 */
const RESERVE_MS = 60_000;

/**
 * restore-plan state machine: goes on with a PLANNING plan from its checkpoint until
 * the function's time runs low (answers `done: false`, the ASL loops); with `failure`
 * (the ASL's Catch, or the execution-status rule: a timeout or a stop skips the Catch),
 * ends the plan FAILED and deletes its segment files; a settled plan stays as it is.
 */
export const createHandler = stepHandler(planJob, async ({ accountId, planId, failure }, deps, context) => {
  if (failure !== undefined) {
    deps.telemetry.logger.warn('Restore planning failed', { failure: failure.Error });
    return failRestorePlan({ accountId, planId }, deps);
  }
  const most = tuningOf(deps.config).planSegmentsPerInvocation;
  return buildRestorePlan({ accountId, planId }, deps, {
    // At least one segment per invocation, so a plan always moves on.
    keepGoing: (segments) => segments < 1 || (segments < most && context.remainingMs() > RESERVE_MS),
  });
});

export const handler = lambdaHandler(createHandler);
