import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { generateSecret, generateURI, verify } from 'otplib';
import type { Caller } from '../caller.ts';
import { requireSuperAdmin } from '../caller.ts';
import { ConflictError, GoneError, InvalidConfirmationError, UnauthorizedError } from '../errors.ts';
import type { AuditLog } from '../ports/audit-log.ts';
import type { Clock } from '../ports/clock.ts';
import type { IdGenerator } from '../ports/ids.ts';
import type { Email, Mailer } from '../ports/mailer.ts';
import type { SecretCipher, TotpSecrets, TotpState } from '../ports/totp-secrets.ts';

export interface ReauthDeps {
  totp: TotpSecrets;
  secrets: SecretCipher;
  audit: AuditLog;
  clock: Clock;
  ids: IdGenerator;
}

/** Enrolment also emails the confirmation link, which points at the web page. */
export interface TotpEnrolmentDeps extends ReauthDeps {
  mailer: Mailer;
  config: { appUrl: string };
}

/** At most this many codes are checked per window; then every code is refused until the window ends. */
export const MAX_TOTP_ATTEMPTS = 5;
export const LOCKOUT_MINUTES = 15;
/** How long an enrolment's emailed confirmation link works. */
export const CONFIRMATION_LINK_MINUTES = 60;
/** Accept the previous and next 30-second step too: phones' clocks drift. */
const EPOCH_TOLERANCE_SECONDS = 30;
const TOTP_ISSUER = 'crm-backup';

/** The secret is bound to its user: a ciphertext copied to another user's item does not decrypt. */
function cipherContext(userId: string): Record<string, string> {
  return { purpose: 'totp', userId };
}

/**
 * Re-authenticates a caller before a sensitive action (PRODUCT.md, Restore 3): SSO
 * sign-ins pass (their identity provider re-authenticates), everyone else must give a
 * fresh TOTP code of a confirmed enrolment. `action` starts the sentences that ask for
 * a code ("Restoring data", "Downloading a backup").
 *
 * Primary course:
 *  1. SSO callers pass; without a code, 401 REAUTH_REQUIRED.
 *  2. Without a confirmed enrolment, 401 REAUTH_REQUIRED saying what to do.
 *  3. Claim an attempt atomically (at most MAX_TOTP_ATTEMPTS per LOCKOUT_MINUTES window,
 *     however many requests arrive at once), then verify the code.
 *  4. Claim the code's time step with a conditional write, so that it cannot be replayed,
 *     even by a concurrent request; that ends the attempt window.
 * Alternate course: a wrong code is audited and answers 401 REAUTH_FAILED; once the
 * window's attempts are spent, every code is refused until it ends.
 */
export async function reauthenticate(caller: Caller, code: string | undefined, deps: ReauthDeps, action = 'Restoring data'): Promise<void> {
  if (caller.sso) return;
  if (!code) {
    throw new UnauthorizedError(`${action} needs a code from your authenticator app: send it as "totp".`, 'REAUTH_REQUIRED');
  }
  const state = await deps.totp.get(caller.userId);
  if (!state) {
    throw new UnauthorizedError(
      `${action} needs a code from an authenticator app, and you have none enrolled: enrol one with POST /v1/me/totp-enrolment and confirm it from the link we email you.`,
      'REAUTH_REQUIRED',
    );
  }
  if (state.pendingConfirmation) throw new UnauthorizedError(unconfirmedSentence(caller, state.pendingConfirmation.expiresAt, deps.clock.now()), 'REAUTH_REQUIRED');
  await checkCode(caller, code, state, deps, (timeStep) => deps.totp.acceptTimeStep(caller.userId, timeStep));
}

/** Why an enrolment does not count yet, and what to do about it. */
function unconfirmedSentence(caller: Caller, expiresAt: string, now: Date): string {
  const where = caller.email ? `the link we emailed to ${caller.email}` : 'the link we emailed you';
  return Date.parse(expiresAt) > now.getTime()
    ? `Your authenticator app is not confirmed yet: open ${where} (valid until ${expiresAt}) and enter a code there, then try again.`
    : `Your authenticator app was never confirmed and its link expired at ${expiresAt}: enrol again with POST /v1/me/totp-enrolment and open the new link we email you.`;
}

/**
 * Checks one code against a user's secret within the attempt limit; `accept` records a
 * matching time step (and whatever else must happen in the same conditional write).
 * Throws 401 REAUTH_FAILED for a wrong, replayed or refused code.
 */
async function checkCode(caller: Caller, code: string, state: TotpState, deps: ReauthDeps, accept: (timeStep: number) => Promise<boolean>): Promise<void> {
  const now = deps.clock.now();
  const claim = await deps.totp.claimAttempt(caller.userId, { now, windowMs: LOCKOUT_MINUTES * 60_000, maxAttempts: MAX_TOTP_ATTEMPTS });
  if (!claim.claimed) throw new UnauthorizedError(`Too many wrong codes: try again after ${claim.retryAfter}.`, 'REAUTH_FAILED');
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
  throw new UnauthorizedError(
    windowFull ? `Wrong code. Too many wrong codes: try again after ${claim.windowEndsAt}.` : 'The authenticator code is wrong or was already used.',
    'REAUTH_FAILED',
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

export interface TotpEnrolment {
  secret: string;
  otpauthUri: string;
}

/** What `POST /v1/me/totp-enrolment` answers: the secret once, and where its confirmation went. */
export interface PendingTotpEnrolment extends TotpEnrolment {
  status: 'PENDING_CONFIRMATION';
  confirmationSentTo: string;
  confirmationExpiresAt: string;
}

/**
 * Enrols a super admin's authenticator app: a new secret, stored encrypted, answered
 * once (as an otpauth:// URI for a QR code), and not usable until confirmed out of
 * band: a one-time link goes to the admin's email, and the web page it opens sends
 * the link's token with a code from the app. A stolen session alone cannot enrol its
 * own authenticator and then restore. A confirmed enrolment is never replaced here
 * (an operator removes it first, and the new one is confirmed the same way); an
 * unconfirmed one is, and its link stops working.
 *
 * Primary course:
 *  1. Only super admins (the only ones who restore) enrol, and only with an email address.
 *  2. Generate a 160-bit secret and a 256-bit link token; store the secret encrypted
 *     and the token's SHA-256 with its expiry, unless a confirmed enrolment exists (409).
 *  3. Email the link, audit TOTP_ENROLMENT_REQUESTED, answer the secret and the URI.
 */
export async function enrolTotp(caller: Caller, deps: TotpEnrolmentDeps): Promise<PendingTotpEnrolment> {
  requireSuperAdmin(caller);
  const alreadyEnrolled = () =>
    new ConflictError('TOTP_ALREADY_ENROLLED', 'An authenticator app is already enrolled and confirmed for you; ask an operator to reset it to enrol another.');
  const existing = await deps.totp.get(caller.userId);
  if (existing && !existing.pendingConfirmation) throw alreadyEnrolled();
  if (!caller.email) {
    throw new ConflictError('EMAIL_REQUIRED', 'Enrolling an authenticator app is confirmed by email, and your sign-in has no email address; ask an operator to add one.');
  }
  const now = deps.clock.now();
  const token = randomBytes(32).toString('base64url');
  const expiresAt = new Date(now.getTime() + CONFIRMATION_LINK_MINUTES * 60_000).toISOString();
  const enrolment = await createTotpSecret(caller.userId, caller.email, deps, { tokenHash: hashToken(token), expiresAt });
  if (!enrolment) throw alreadyEnrolled();
  await deps.mailer.send(totpConfirmationEmail(caller.email, confirmationUrl(deps.config.appUrl, token), expiresAt));
  await deps.audit.append({
    id: deps.ids.next('au'),
    accountId: caller.accountId,
    action: 'TOTP_ENROLMENT_REQUESTED',
    actor: caller.email,
    occurredAt: now.toISOString(),
    summary: `${caller.email} enrolled an authenticator app${existing ? ', replacing one never confirmed' : ''}; a confirmation link valid until ${expiresAt} was emailed to ${caller.email}.`,
  });
  return { ...enrolment, status: 'PENDING_CONFIRMATION', confirmationSentTo: caller.email, confirmationExpiresAt: expiresAt };
}

/**
 * Confirms a pending enrolment from its emailed link (`POST /v1/me/totp-enrolment/confirmation`):
 * the link's token proves the email, a code proves the app holds the new secret.
 *
 * Primary course:
 *  1. The token must be the caller's pending one (400 INVALID_CONFIRMATION otherwise:
 *     used, replaced, someone else's) and not expired (410 CONFIRMATION_EXPIRED).
 *  2. Check the code like a re-authentication (attempt limit, no replay); the same
 *     conditional write confirms and voids the token, so a link works once.
 *  3. Audit TOTP_ENROLMENT_CONFIRMED.
 */
export async function confirmTotpEnrolment(caller: Caller, request: { token: string; totp: string }, deps: ReauthDeps): Promise<{ status: 'CONFIRMED'; confirmedAt: string }> {
  requireSuperAdmin(caller);
  const state = await deps.totp.get(caller.userId);
  const tokenHash = hashToken(request.token);
  const pending = state?.pendingConfirmation;
  if (!state || !pending || !sameHash(pending.tokenHash, tokenHash)) {
    throw new InvalidConfirmationError(
      'This confirmation link is not valid for you: it was used already, a newer enrolment replaced it, or it was sent to another user. Sign in as the person it was sent to, or enrol again for a new link.',
    );
  }
  const now = deps.clock.now();
  if (Date.parse(pending.expiresAt) <= now.getTime()) {
    throw new GoneError('CONFIRMATION_EXPIRED', `This confirmation link expired at ${pending.expiresAt}; enrol again with POST /v1/me/totp-enrolment for a new one.`, {
      expiredAt: pending.expiresAt,
    });
  }
  const confirmedAt = now.toISOString();
  await checkCode(caller, request.totp, state, deps, (timeStep) => deps.totp.confirm(caller.userId, { tokenHash, timeStep, confirmedAt }));
  await deps.audit.append({
    id: deps.ids.next('au'),
    accountId: caller.accountId,
    action: 'TOTP_ENROLMENT_CONFIRMED',
    actor: caller.email || caller.userId,
    occurredAt: confirmedAt,
    summary: `${caller.email} confirmed their authenticator app from the link emailed to them; restores now accept its codes.`,
  });
  return { status: 'CONFIRMED', confirmedAt };
}

/** Where the emailed link points: the page reads the token from the fragment, which no server or log sees. */
export function confirmationUrl(appUrl: string, token: string): string {
  return `${appUrl.replace(/\/$/, '')}/totp-confirmation#token=${token}`;
}

function totpConfirmationEmail(to: string, link: string, expiresAt: string): Email {
  const text = [
    'Someone signed in as you asked to enrol an authenticator app for re-authenticating restores of CRM data.',
    '',
    `If it was you, open this link (valid until ${expiresAt}) and enter a code from the app to confirm it:`,
    link,
    '',
    'If it was not you, do not open the link: someone may know your password. Change it and tell your operator.',
    'Until the enrolment is confirmed, it cannot be used for anything.',
  ].join('\n');
  return { to: [to], subject: 'Confirm your authenticator app for CRM restores', text };
}

function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

function sameHash(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/**
 * Creates and stores a user's TOTP secret unless a confirmed one exists; answers it, or
 * undefined when the user already had one. Without `pendingConfirmation` the enrolment
 * counts as confirmed (the local runtime seeds the demo admins that way).
 */
export async function createTotpSecret(
  userId: string,
  label: string,
  deps: Pick<ReauthDeps, 'totp' | 'secrets' | 'clock'>,
  pendingConfirmation?: TotpState['pendingConfirmation'],
): Promise<TotpEnrolment | undefined> {
  const secret = generateSecret();
  const enrolledAt = deps.clock.now().toISOString();
  const stored = await deps.totp.enrol({
    userId,
    encryptedSecret: await deps.secrets.encrypt(secret, cipherContext(userId)),
    enrolledAt,
    ...(pendingConfirmation ? { pendingConfirmation } : { confirmedAt: enrolledAt }),
  });
  if (!stored) return undefined;
  return { secret, otpauthUri: generateURI({ issuer: TOTP_ISSUER, label, secret }) };
}

/** A user's TOTP secret in clear, or undefined (only the local runtime's banner needs it). */
export async function readTotpSecret(userId: string, label: string, deps: Pick<ReauthDeps, 'totp' | 'secrets'>): Promise<TotpEnrolment | undefined> {
  const state = await deps.totp.get(userId);
  if (!state) return undefined;
  const secret = await deps.secrets.decrypt(state.encryptedSecret, cipherContext(userId));
  return { secret, otpauthUri: generateURI({ issuer: TOTP_ISSUER, label, secret }) };
}
