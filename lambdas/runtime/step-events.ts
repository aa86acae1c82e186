import { z } from 'zod';

/**
 * The EventBridge event "Step Functions Execution Status Change" that the catalog's
 * EXECUTION_STATUS_RULES deliver when an execution ends without reaching its Catch
 * (a timeout, a stop, an uncatchable error). The execution name is the id of the
 * backup, restore or plan; `input` is the execution's input as a JSON string.
 */
export const executionStatusChange = z
  .object({
    source: z.literal('aws.states'),
    detail: z
      .object({
        name: z.string().min(1),
        status: z.string(),
        input: z.string(),
        error: z.string().nullish(),
        cause: z.string().nullish(),
      })
      .loose(),
  })
  .loose();

export type ExecutionStatusChangeEvent = z.infer<typeof executionStatusChange>;

/**
 * The error to report for an ended execution: the status itself for a timeout or a
 * stop (they carry no error of their own), else the execution's error.
 */
export function endedExecutionError(detail: ExecutionStatusChangeEvent['detail']): { Error?: string; Cause?: string } {
  const error = detail.status === 'TIMED_OUT' ? 'States.Timeout' : detail.status === 'ABORTED' ? 'States.Aborted' : (detail.error ?? undefined);
  return { Error: error, Cause: detail.cause ?? undefined };
}
