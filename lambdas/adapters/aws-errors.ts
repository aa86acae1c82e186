import { TransientError } from '#core/errors.ts';

/** Error names that AWS services use for "slow down" or "try again". */
const TRANSIENT_NAMES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'Throttling',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'SlowDown',
  'InternalServerError',
  'InternalError',
  'ServiceUnavailable',
  'RequestTimeout',
  'TimeoutError',
  'ECONNRESET',
  'EPIPE',
]);

/**
 * Turns a throttling or 5xx answer from an AWS service into a `TransientError`, the
 * one name that state machines retry, so that no domain code knows SDK error names.
 * Anything else is rethrown as is.
 */
export function rethrowTransient(error: unknown, what: string): never {
  if (isTransient(error)) throw new TransientError(`${what} is temporarily unavailable`, { cause: error });
  throw error;
}

export function isTransient(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const code = (error as { code?: string }).code;
  return TRANSIENT_NAMES.has(error.name) || (code !== undefined && TRANSIENT_NAMES.has(code)) || (status !== undefined && status >= 500);
}

/** True for DynamoDB's "your condition did not hold". */
export function isConditionFailed(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/** True for DynamoDB's refusal of a write that would make an item larger than 400 KB. */
export function isItemTooLarge(error: unknown): boolean {
  return error instanceof Error && error.name === 'ValidationException' && /item size/i.test(error.message);
}

/**
 * Sends a DynamoDB document-client command, turning throttling and 5xx answers into
 * `TransientError` (see rethrowTransient); `what` names the store in that message.
 * The document client's per-command overloads do not survive a generic wrapper, hence `any`.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function sendDocumentCommand(client: { send(command: any): Promise<any> }, command: unknown, what: string): Promise<any> {
  try {
    return await client.send(command);
  } catch (error) {
    return rethrowTransient(error, what);
  }
}

/**
 * Sends a conditional DynamoDB write: true when it landed, false when its condition
 * refused it (a lost race, a claim someone else holds); throttling and 5xx answers
 * become `TransientError` as in sendDocumentCommand.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function sendConditionalWrite(client: { send(command: any): Promise<any> }, command: unknown, what: string): Promise<boolean> {
  try {
    await client.send(command);
    return true;
  } catch (error) {
    if (isConditionFailed(error)) return false;
    return rethrowTransient(error, what);
  }
}
