import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { failRunningComparison, runComparison } from '#core/compare/run-comparison.ts';
import { buildDeps, type AppDeps } from '#runtime/deps.ts';
import { configFromEnv } from '#runtime/config.ts';
import { lazyHandler } from '#runtime/lazy-handler.ts';
import { caughtError, executionAccountId, executionStatusChange } from '#runtime/step-events.ts';

const job = z.object({ accountId: z.string().min(1), comparisonId: z.string().min(1), failure: caughtError.optional() });

/**
 * Time kept after a stop: writing the buffered run or the export's part and the
 * checkpoint. A 24 MB run uploads in a second or two, so 60 s is ample.
 */
const RESERVE_MS = 60_000;

/**
 * The `comparison` state machine's step, and the `anomaly-check` machine's per object
 * type: moves a comparison on from its checkpoint until the function's time runs low
 * (`done: false`, the ASL loops). With `failure` (the ASL's Catch), or from the
 * execution-status rule on the `comparison` machine (a timeout or a stop skips the
 * Catch), the comparison ends FAILED with its files deleted.
 */
export function createHandler(deps: AppDeps) {
  return async (event: unknown, context: Context): Promise<{ done: boolean }> => {
    const ended = executionStatusChange.safeParse(event);
    if (ended.success) return failRunningComparison({ accountId: executionAccountId(ended.data.detail), comparisonId: ended.data.detail.name }, deps);
    const input = job.parse(event);
    if (input.failure !== undefined) {
      console.error(JSON.stringify({ level: 'ERROR', message: 'Comparison failed', comparisonId: input.comparisonId, failure: input.failure }));
      return failRunningComparison(input, deps);
    }
    return runComparison(input, deps, { keepGoing: () => context.getRemainingTimeInMillis() > RESERVE_MS });
  };
}

export const handler = lazyHandler(() => createHandler(buildDeps(configFromEnv())));
