/**
 * Domain errors. Their `name` is a contract: the state machines' Retry/Catch match on
 * it, and the HTTP runtime answers each refusal with the status and API.md code its
 * class maps to (`REFUSALS` in lambdas/runtime/http.ts). The core says what went
 * wrong; how HTTP says it is decided in that one table.
 *
 * Two families:
 * - `ClientError` subclasses: the caller asked for something we refuse. Their message
 *   is shown to people, and their `details` join it in the answer's error object.
 * - everything else: our fault or the platform's. Retryable ones are named so that
 *   ASL `Retry` can match them; the rest fail the step and are reported generically.
 */

/**
 * Base of every refusal that a caller should see: a sentence for people, and details
 * that join it in the answer's error object (required where `Details` has required keys).
 */
export class ClientError<Details extends Record<string, unknown> = Record<string, unknown>> extends Error {
  readonly details: Details;

  constructor(message: string, ...[details]: {} extends Details ? [details?: Details] : [details: Details]) {
    super(message);
    this.name = 'ClientError';
    this.details = details ?? ({} as Details);
  }
}

/** The request is malformed; `field` says which part. */
export class ValidationError extends ClientError<{ field?: string; [key: string]: unknown }> {
  override readonly name = 'ValidationError';
}

/**
 * A page cursor this API did not hand out for this list: edited, cut, replayed on
 * another list, object type or account, or naming a position no list can have.
 */
export class InvalidCursorError extends ClientError {
  override readonly name = 'InvalidCursorError';

  constructor(message = 'The cursor is not one this API gave out for this list; start again without it.') {
    super(message, { field: 'cursor' });
  }
}

/** A one-time link's token that is unknown, already used, replaced by a newer one, or someone else's. */
export class InvalidConfirmationError extends ClientError {
  override readonly name = 'InvalidConfirmationError';

  constructor(message: string) {
    super(message, { field: 'token' });
  }
}

/** No token, or a token that does not name a user and an account. */
export class UnauthorizedError extends ClientError {
  override readonly name = 'UnauthorizedError';

  constructor(message = 'Sign in first: this call needs a valid bearer token.') {
    super(message);
  }
}

/**
 * A sensitive action asked without the re-authentication it needs: no code, or no
 * confirmed enrolment (then `authenticator` says which, so clients send the caller to
 * enrol rather than ask for a code).
 */
export class ReauthRequiredError extends ClientError<{ authenticator?: 'NONE' | 'PENDING_CONFIRMATION' }> {
  override readonly name = 'ReauthRequiredError';
}

/** A re-authentication code that is wrong, already used, or refused after too many attempts. */
export class ReauthFailedError extends ClientError {
  override readonly name = 'ReauthFailedError';
}

/** Signed in, but the role does not allow it. */
export class ForbiddenError extends ClientError {
  override readonly name = 'ForbiddenError';

  constructor(message = 'Only super admins can back up or restore CRM data.') {
    super(message);
  }
}

/** Unknown id, or an id that belongs to another account (never tell which). */
export class NotFoundError extends ClientError {
  override readonly name = 'NotFoundError';

  constructor(what: string) {
    super(`${what} was not found.`);
  }
}

/** A backup that has not completed (queued, running or failed): nothing to download or restore. */
export class BackupNotReadyError extends ClientError<{ status: string }> {
  override readonly name = 'BackupNotReadyError';
}

/** A backup past its 14 days: its file is deleted. */
export class BackupExpiredError extends ClientError<{ expiresAt?: string; expiredAt?: string }> {
  override readonly name = 'BackupExpiredError';
}

/** A backup archive that does not match its manifest, found while a plan read it (see ArchiveIntegrityError). */
export class BackupDamagedError extends ClientError {
  override readonly name = 'BackupDamagedError';
}

/** A restore plan past its lifetime: the data it previewed has moved on. */
export class PlanExpiredError extends ClientError<{ expiresAt: string }> {
  override readonly name = 'PlanExpiredError';
}

/** A restore plan still PLANNING, or FAILED: it cannot be executed. */
export class PlanNotReadyError extends ClientError<{ status: string }> {
  override readonly name = 'PlanNotReadyError';
}

/** A comparison (an export of differences) still COMPARING, or FAILED: there is nothing to download. */
export class ComparisonNotReadyError extends ClientError<{ status: string }> {
  override readonly name = 'ComparisonNotReadyError';
}

/** A comparison whose backup expired: its files are deleted with the backup's. */
export class ComparisonExpiredError extends ClientError<{ expiresAt: string }> {
  override readonly name = 'ComparisonExpiredError';
}

/** Another restore of the account holds its restore lock. */
export class RestoreInProgressError extends ClientError<{ restoreId: string }> {
  override readonly name = 'RestoreInProgressError';
}

/** A restore that cannot be undone: it changed nothing, or kept no ledger of what it changed. */
export class NothingToUndoError extends ClientError<{ restoreId: string }> {
  override readonly name = 'NothingToUndoError';
}

/** A record edited by someone else between reading it and writing it. */
export class EditConflictError extends ClientError {
  override readonly name = 'EditConflictError';
}

/** A confirmed authenticator app exists already: another is enrolled only as a reset (`replace`). */
export class TotpAlreadyEnrolledError extends ClientError {
  override readonly name = 'TotpAlreadyEnrolledError';
}

/** An action that confirms by email, asked by a sign-in without an email address. */
export class EmailRequiredError extends ClientError {
  override readonly name = 'EmailRequiredError';
}

/** A one-time confirmation link used after its expiry. */
export class ConfirmationExpiredError extends ClientError<{ expiredAt: string }> {
  override readonly name = 'ConfirmationExpiredError';
}

/** A request body larger than we accept. */
export class PayloadTooLargeError extends ClientError<{ limitBytes: number }> {
  override readonly name = 'PayloadTooLargeError';

  constructor(limitBytes: number) {
    super(`The request body is larger than ${limitBytes} bytes.`, { limitBytes });
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
 * The account's backup quota is spent until `nextAllowedAt`, always the claim's own
 * end. While the claiming backup is still being started, `claimInProgress` says so.
 */
export class QuotaExceededError extends ClientError {
  override readonly name = 'QuotaExceededError';
  readonly nextAllowedAt: string;
  /** Whole seconds until `nextAllowedAt`, from the domain's clock (the `Retry-After` header). */
  readonly retryAfterSeconds: number;

  constructor(nextAllowedAt: string, tierLabel: string, period: string, now: Date, claimInProgress?: ClaimInProgress) {
    super(
      `${tierLabel} accounts can create one backup every ${period}. The next backup is allowed at ${nextAllowedAt}.` +
        (claimInProgress
          ? ` Backup ${claimInProgress.backupId} took this period's slot and is being started; if it never starts, its claim lapses at ${claimInProgress.expiresAt}.`
          : ''),
      { nextAllowedAt, ...(claimInProgress ? { claimInProgress } : {}) },
    );
    this.nextAllowedAt = nextAllowedAt;
    this.retryAfterSeconds = Math.max(1, Math.ceil((Date.parse(nextAllowedAt) - now.getTime()) / 1000));
  }
}

/**
 * The account's connected data source refused the credentials it was connected with
 * (revoked, rotated, expired): nothing works until a super admin connects it again.
 */
export class SourceReconnectRequiredError extends ClientError<{ source: string }> {
  override readonly name = 'SourceReconnectRequiredError';
}

/** The connected data source's token lacks scopes a call needs; `missingScopes` names them (one of them suffices). */
export class SourceScopesMissingError extends ClientError<{ source: string; missingScopes: string[] }> {
  override readonly name = 'SourceScopesMissingError';
}

/**
 * The connected data source's daily API limit is used up until `resetsAt`: retrying
 * sooner only spends requests that other integrations of the account need too.
 */
export class SourceLimitReachedError extends ClientError<{ source: string; resetsAt: string }> {
  override readonly name = 'SourceLimitReachedError';
  /** Whole seconds until `resetsAt` (the `Retry-After` header). */
  readonly retryAfterSeconds: number;

  constructor(message: string, details: { source: string; resetsAt: string }, now: Date) {
    super(message, details);
    this.retryAfterSeconds = Math.max(1, Math.ceil((Date.parse(details.resetsAt) - now.getTime()) / 1000));
  }
}

/** The account's data source cannot change while a backup or restore reads or writes it. */
export class SourceInUseError extends ClientError<{ backupId?: string; restoreId?: string }> {
  override readonly name = 'SourceInUseError';
}

/**
 * The account's data source keeps no change history this service can read by actor,
 * source and time (a HubSpot portal's is per record), so its changes cannot be reverted.
 */
export class ChangeHistoryUnavailableError extends ClientError<{ source: string }> {
  override readonly name = 'ChangeHistoryUnavailableError';
}

/** Errors of a data source whose messages are written for people: a failed step says them as they are. */
export const SOURCE_ERROR_NAMES: readonly string[] = ['SourceReconnectRequiredError', 'SourceScopesMissingError', 'SourceLimitReachedError'];

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
