import { z } from 'zod';
import { failRunningComparison, runComparison } from '#core/compare/run-comparison.ts';
import { lambdaHandler } from '#runtime/lazy-handler.ts';
import { caughtFailure, stepHandler } from '#runtime/step-handler.ts';

const job = z.object({ accountId: z.string().min(1), comparisonId: z.string().min(1), failure: caughtFailure.optional() }).loose();

/**
 * Time kept after a stop: writing the buffered run or the export's part and the
 * checkpoint. A 24 MB run uploads in a second or two, so 60 s is ample.
 */
const RESERVE_MS = 60_000;

/**
 * The `comparison` state machine's step, and the `anomaly-check` machine's per object
 * type: moves a comparison on from its checkpoint until the function's time runs low
 * (`done: false`, the ASL loops). With `failure` (the ASL's Catch, or the
 * execution-status rule on the `comparison` machine: a timeout or a stop skips the
 * Catch), the comparison ends FAILED with its files deleted.
 */
export const createHandler = stepHandler(job, async ({ accountId, comparisonId, failure }, deps, context) => {
  if (failure !== undefined) {
    deps.telemetry.logger.warn('Comparison failed', { failure: failure.Error });
    return failRunningComparison({ accountId, comparisonId }, deps);
  }
  return runComparison({ accountId, comparisonId }, deps, { keepGoing: () => context.remainingMs() > RESERVE_MS });
});

export const handler = lambdaHandler(createHandler);
