/**
 * Domain errors. Their `name` is a contract: the state machines' Retry/Catch match on
 * it, and the HTTP middleware maps each client-facing error to a status and a code.
 *
 * Two families:
 * - `ClientError` subclasses: the caller asked for something we refuse. They carry an
 *   API.md error code and an HTTP status, and their message is shown to people.
 * - everything else: our fault or the platform's. Retryable ones are named so that
 *   ASL `Retry` can match them; the rest fail the step and are reported generically.
 */

/** Base of every refusal that a caller should see, with its API error code. */
export class ClientError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown>;

  constructor(status: number, code: string, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'ClientError';
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** 400: the request is malformed; `field` says which part. */
export class ValidationError extends ClientError {
  constructor(message: string, details: { field?: string; [key: string]: unknown } = {}) {
    super(400, 'VALIDATION_ERROR', message, details);
    this.name = 'ValidationError';
  }
}

/**
 * 400: a page cursor this API did not hand out for this list: edited, cut, replayed on
 * another list, object type or account, or naming a position no list can have.
 */
export class InvalidCursorError extends ClientError {
  constructor(message = 'The cursor is not one this API gave out for this list; start again without it.') {
    super(400, 'INVALID_CURSOR', message, { field: 'cursor' });
    this.name = 'InvalidCursorError';
  }
}

/** 400: a one-time link's token that is unknown, already used, replaced by a newer one, or someone else's. */
export class InvalidConfirmationError extends ClientError {
  constructor(message: string) {
    super(400, 'INVALID_CONFIRMATION', message, { field: 'token' });
    this.name = 'InvalidConfirmationError';
  }
}

/** 401: no token, a bad token, or a failed re-authentication. */
export class UnauthorizedError extends ClientError {
  constructor(message = 'Sign in first: this call needs a valid bearer token.', code = 'UNAUTHORIZED') {
    super(401, code, message);
    this.name = 'UnauthorizedError';
  }
}

/** 403: signed in, but the role does not allow it. */
export class ForbiddenError extends ClientError {
  constructor(message = 'Only super admins can back up or restore CRM data.') {
    super(403, 'FORBIDDEN', message);
    this.name = 'ForbiddenError';
  }
}

/** 404: unknown id, or an id that belongs to another account (never tell which). */
export class NotFoundError extends ClientError {
  constructor(what: string) {
    super(404, 'NOT_FOUND', `${what} was not found.`);
    this.name = 'NotFoundError';
  }
}

/** 409: the resource is in a state that does not allow the call. */
export class ConflictError extends ClientError {
  constructor(code: string, message: string, details: Record<string, unknown> = {}) {
    super(409, code, message, details);
    this.name = 'ConflictError';
  }
}

/** 410: it existed, and is gone for good (an expired backup or plan). */
export class GoneError extends ClientError {
  constructor(code: string, message: string, details: Record<string, unknown> = {}) {
    super(410, code, message, details);
    this.name = 'GoneError';
  }
}

/** 413: the request body is larger than we accept. */
export class PayloadTooLargeError extends ClientError {
  constructor(limitBytes: number) {
    super(413, 'PAYLOAD_TOO_LARGE', `The request body is larger than ${limitBytes} bytes.`, { limitBytes });
    this.name = 'PayloadTooLargeError';
  }
}

/**
 * A quota claim whose backup is still being started: it holds the slot, and lapses at
 * `expiresAt` if its start never completes (the claimer crashed).
 */
export interface ClaimInProgress {
  backupId: string;
  expiresAt: string;
}

/**
 * 429: the account's backup quota is spent until `nextAllowedAt`, always the claim's own
 * end. While the claiming backup is still being started, `claimInProgress` says so.
 */
export class QuotaExceededError extends ClientError {
  readonly nextAllowedAt: string;
  /** Whole seconds until `nextAllowedAt`, from the domain's clock (the `Retry-After` header). */
  readonly retryAfterSeconds: number;

  constructor(nextAllowedAt: string, tierLabel: string, period: string, now: Date, claimInProgress?: ClaimInProgress) {
    super(
      429,
      'QUOTA_EXCEEDED',
      `${tierLabel} accounts can create one backup every ${period}. The next backup is allowed at ${nextAllowedAt}.` +
        (claimInProgress
          ? ` Backup ${claimInProgress.backupId} took this period's slot and is being started; if it never starts, its claim lapses at ${claimInProgress.expiresAt}.`
          : ''),
      { nextAllowedAt, ...(claimInProgress ? { claimInProgress } : {}) },
    );
    this.name = 'QuotaExceededError';
    this.nextAllowedAt = nextAllowedAt;
    this.retryAfterSeconds = Math.max(1, Math.ceil((Date.parse(nextAllowedAt) - now.getTime()) / 1000));
  }
}

/**
 * A transient failure of a store or service (throttling, a timeout, a 5xx).
 * State machines retry it with backoff; the HTTP layer answers 503.
 */
export class TransientError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TransientError';
  }
}

/**
 * A backup or restore step hit a condition that retrying will not fix: the data it
 * needs is gone or corrupt. State machines go straight to their failure handler.
 */
export class StepFailedError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StepFailedError';
  }
}

/**
 * A state machine handed a step an input it does not accept (a field missing or of the
 * wrong type): a mistake in an ASL file or in the step before, which retrying cannot fix.
 * Every step handler reports bad input under this one name (lambdas/runtime/step-handler.ts).
 */
export class StepInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StepInputError';
  }
}

/** The archive does not match its manifest: a flipped byte, a truncation, a swap. */
export class ArchiveIntegrityError extends StepFailedError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ArchiveIntegrityError';
  }
}

/** A restore lost its lock (lease expired and someone else took it): stop writing. */
export class LockLostError extends StepFailedError {
  constructor(message: string) {
    super(message);
    this.name = 'LockLostError';
  }
}

/** The message a person may see for any error: ours verbatim, others generic. */
export function describeError(error: unknown): string {
  if (error instanceof ClientError || error instanceof StepFailedError) return error.message;
  if (error instanceof TransientError) return `${error.message} (a temporary problem; it was retried and kept failing)`;
  return 'An internal error occurred.';
}
