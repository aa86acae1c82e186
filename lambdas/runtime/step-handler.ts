import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { ClientError, StepFailedError, StepInputError, TransientError } from '#core/errors.ts';
import type { BusinessMetric } from '#core/ports/metrics.ts';
import type { AppDeps } from './deps.ts';
import { endedExecutionError, executionStatusChange } from './step-events.ts';
import { workKeysOf, loggedError, observed } from './telemetry.ts';

/** What a step gets besides its input and dependencies. */
export interface StepContext {
  /** Milliseconds until Lambda stops the invocation: long steps hand back a cursor before it. */
  remainingMs(): number;
}

/** A step: the ASL's JSON in, JSON out (S3 keys and counts, never data). */
export type Step<Input, Output> = (input: Input, deps: AppDeps, context: StepContext) => Promise<Output>;

export interface StepOptions {
  /** The business metric this step's time is counted in (a stage of the backup). */
  durationMetric?: BusinessMetric;
}

/** What the Catch of every state machine puts in the state (`"ResultPath": "$.failure"`): Step Functions' error and cause. */
export const caughtFailure = z.object({ Error: z.string().optional(), Cause: z.string().optional() }).loose();

/**
 * A Step Functions task handler, built like the HTTP ones (one line per handler):
 *
 *   export const createHandler = stepHandler(schema, coreFunction);
 *   export const handler = lambdaHandler(createHandler);
 *
 * - Traces, a log line per invocation with the ids of the work as keys (account, backup,
 *   plan, restore) and the metrics the step counted, through the Powertools middlewares.
 * - The input is parsed by `schema`; anything else is a `StepInputError` (one name for the
 *   ASL, never retried).
 * - The EventBridge "Execution Status Change" event of an execution that ended FAILED,
 *   TIMED_OUT or ABORTED without reaching its Catch becomes the same input the Catch
 *   would have given: the execution's input plus `failure` ({Error, Cause}), so a
 *   failure step has one input shape whoever calls it.
 * - Errors go out as they are: their `name` is what the ASL's Retry and Catch match.
 */
export function stepHandler<Schema extends z.ZodType, Output>(schema: Schema, step: Step<z.output<Schema>, Output>, options: StepOptions = {}) {
  return (deps: AppDeps) => {
    const { logger } = deps.telemetry;
    // No early timeout: middy's would answer an error while the step kept running and
    // writing, and the ASL's Retry would start a second copy beside it. Steps hand back a
    // cursor well before the deadline themselves (`remainingMs`), as Lambda alone ends them.
    return middy<unknown, Output, Error, Context>({ timeoutEarlyInMillis: 0 })
      .use(observed<unknown, Output>(deps.telemetry))
      .handler(async (event, context) => {
        const input = parseStepInput(schema, fromEndedExecution(event));
        logger.appendKeys(workKeysOf(input));
        const startedAt = Date.now();
        try {
          const output = await step(input, deps, { remainingMs: () => context.getRemainingTimeInMillis() });
          logger.info('Step done', { durationMs: Date.now() - startedAt, ...doneOf(output) });
          return output;
        } catch (error) {
          logStepError(deps, error, Date.now() - startedAt);
          throw error;
        } finally {
          if (options.durationMetric) deps.metrics.add(options.durationMetric, Date.now() - startedAt);
        }
      });
  };
}

/** The Catch's input shape for an execution-status event; any other event as it is. */
function fromEndedExecution(event: unknown): unknown {
  const ended = executionStatusChange.safeParse(event);
  if (!ended.success) return event;
  const { detail } = ended.data;
  let input: unknown;
  try {
    input = JSON.parse(detail.input);
  } catch {
    throw new StepInputError(`The input of execution ${detail.name} is not JSON.`);
  }
  return { ...(input as object), failure: endedExecutionError(detail) };
}

/** `schema` applied to the event, or a `StepInputError` naming the first problem (field and reason, never the value). */
export function parseStepInput<Schema extends z.ZodType>(schema: Schema, event: unknown): z.output<Schema> {
  const result = schema.safeParse(event);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  throw new StepInputError(`Step input: ${issue.path.map(String).join('.') || 'the event'}: ${issue.message}`);
}

/** `done` of a looping step's answer, for the log line. */
function doneOf(output: unknown): { done?: boolean } {
  return typeof output === 'object' && output !== null && typeof (output as { done?: unknown }).done === 'boolean' ? { done: (output as { done: boolean }).done } : {};
}

/** Our refusals and retryable failures are warnings with their sentence; anything else is a bug, with its stack. */
function logStepError(deps: AppDeps, error: unknown, durationMs: number): void {
  const { logger } = deps.telemetry;
  if (error instanceof TransientError || error instanceof StepFailedError || error instanceof ClientError || error instanceof StepInputError)
    logger.warn('Step failed', { durationMs, error: loggedError(error) });
  else logger.error('Step failed', { durationMs, error: error as Error });
}
