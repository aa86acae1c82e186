import { verify } from 'otplib';
import type { Caller } from '../caller.ts';
import { ReauthFailedError, ReauthRequiredError } from '../errors.ts';
import type { AuditLog } from '../ports/audit-log.ts';
import type { Clock } from '../ports/clock.ts';
import type { IdGenerator } from '../ports/ids.ts';
import type { SecretCipher, TotpSecrets, TotpState } from '../ports/totp-secrets.ts';
import { cipherContext } from './totp-enrolment.ts';

export interface ReauthDeps {
  totp: TotpSecrets;
  secrets: SecretCipher;
  audit: AuditLog;
  clock: Clock;
  ids: IdGenerator;
}

/** At most this many codes are checked per window; then every code is refused until the window ends. */
export const MAX_TOTP_ATTEMPTS = 5;
export const LOCKOUT_MINUTES = 15;
/** Accept the previous and next 30-second step too: phones' clocks drift. */
const EPOCH_TOLERANCE_SECONDS = 30;

/**
 * Where a password admin without a usable authenticator goes: the page's Authenticator
 * screen, the CLI, or the API. Part of the sentences of the refusals that ask to enrol.
 */
export const HOW_TO_ENROL = 'on the Authenticator screen of the web page (CLI: crm-backup totp enrol; API: POST /v1/me/totp-enrolment)';

/**
 * Re-authenticates a caller before a sensitive action (PRODUCT.md, Restore 3): SSO
 * sign-ins pass (their identity provider re-authenticates), everyone else must give a
 * fresh TOTP code of a confirmed enrolment. `action` starts the sentences that ask for
 * a code ("Restoring data", "Downloading a backup").
 *
 * Primary course:
 *  1. SSO callers pass.
 *  2. Without a confirmed enrolment, 401 REAUTH_REQUIRED saying what to do, with
 *     `authenticator` (NONE, PENDING_CONFIRMATION) so the page and the CLI send the
 *     admin to enrol rather than ask for a code they cannot have.
 *  3. Without a code, 401 REAUTH_REQUIRED asking for one.
 *  4. Claim an attempt atomically (at most MAX_TOTP_ATTEMPTS per LOCKOUT_MINUTES window,
 *     however many requests arrive at once), then verify the code.
 *  5. Claim the code's time step with a conditional write, so that it cannot be replayed,
 *     even by a concurrent request; that ends the attempt window.
 * Alternate course: a wrong code is audited and answers 401 REAUTH_FAILED; once the
 * window's attempts are spent, every code is refused until it ends.
 */
export async function reauthenticate(caller: Caller, code: string | undefined, deps: ReauthDeps, action = 'Restoring data'): Promise<void> {
  if (caller.sso) return;
  const state = await deps.totp.get(caller.userId);
  if (!state) {
    throw new ReauthRequiredError(
      `${action} needs a code from an authenticator app, and you have none enrolled: enrol one ${HOW_TO_ENROL} and confirm it from the link we email you.`,
      { authenticator: 'NONE' },
    );
  }
  if (state.pendingConfirmation) {
    throw new ReauthRequiredError(unconfirmedSentence(caller, state.pendingConfirmation.expiresAt, deps.clock.now()), { authenticator: 'PENDING_CONFIRMATION' });
  }
  if (!code) throw new ReauthRequiredError(`${action} needs a code from your authenticator app: send it as "totp".`);
  await checkTotpCode(caller, code, state, deps, (timeStep) => deps.totp.acceptTimeStep(caller.userId, timeStep));
}

/** Why an enrolment does not count yet, and what to do about it. */
function unconfirmedSentence(caller: Caller, expiresAt: string, now: Date): string {
  const where = caller.email ? `the link we emailed to ${caller.email}` : 'the link we emailed you';
  return Date.parse(expiresAt) > now.getTime()
    ? `Your authenticator app is not confirmed yet: open ${where} (valid until ${expiresAt}) and enter a code there, then try again.`
    : `Your authenticator app was never confirmed and its link expired at ${expiresAt}: enrol again ${HOW_TO_ENROL} and open the new link we email you.`;
}

/**
 * Checks one code against a secret of the caller's within the attempt limit (codes of
 * `lastTimeStep` or earlier are refused); `accept` records a matching time step (and
 * whatever else must happen in the same conditional write). Throws 401 REAUTH_FAILED
 * for a wrong, replayed or refused code.
 */
export async function checkTotpCode(
  caller: Caller,
  code: string,
  state: Pick<TotpState, 'encryptedSecret' | 'lastTimeStep'>,
  deps: ReauthDeps,
  accept: (timeStep: number) => Promise<boolean>,
): Promise<void> {
  const now = deps.clock.now();
  const claim = await deps.totp.claimAttempt(caller.userId, { now, windowMs: LOCKOUT_MINUTES * 60_000, maxAttempts: MAX_TOTP_ATTEMPTS });
  if (!claim.claimed) throw new ReauthFailedError(`Too many wrong codes: try again after ${claim.retryAfter}.`);
  const secret = await deps.secrets.decrypt(state.encryptedSecret, cipherContext(caller.userId));
  const timeStep = await matchingTimeStep(secret, code, now, state.lastTimeStep);
  if (timeStep !== undefined && (await accept(timeStep))) return;

  const windowFull = claim.attempt >= MAX_TOTP_ATTEMPTS;
  await deps.audit.append({
    id: deps.ids.next('au'),
    accountId: caller.accountId,
    action: 'REAUTH_FAILED',
    actor: caller.email || caller.userId,
    occurredAt: now.toISOString(),
    summary: windowFull
      ? `${caller.email} gave a wrong authenticator code; that was the ${MAX_TOTP_ATTEMPTS}th code checked since ${new Date(Date.parse(claim.windowEndsAt) - LOCKOUT_MINUTES * 60_000).toISOString()}, so codes are refused until ${claim.windowEndsAt}.`
      : `${caller.email} gave a wrong or already used authenticator code.`,
  });
  throw new ReauthFailedError(
    windowFull ? `Wrong code. Too many wrong codes: try again after ${claim.windowEndsAt}.` : 'The authenticator code is wrong or was already used.',
  );
}

/** The time step `code` belongs to, if it is valid now and newer than `afterTimeStep`. */
async function matchingTimeStep(secret: string, code: string, now: Date, afterTimeStep: number | undefined): Promise<number | undefined> {
  if (!/^\d{6}$/.test(code)) return undefined;
  try {
    const result = await verify({
      secret,
      token: code,
      epoch: Math.floor(now.getTime() / 1000),
      epochTolerance: EPOCH_TOLERANCE_SECONDS,
      ...(afterTimeStep !== undefined ? { afterTimeStep } : {}),
    });
    return result.valid && 'timeStep' in result ? result.timeStep : undefined;
  } catch {
    // otplib throws on an afterTimeStep ahead of the window (a clock moved back): not valid now.
    return undefined;
  }
}
