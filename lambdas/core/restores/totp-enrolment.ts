import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { generateSecret, generateURI } from 'otplib';
import type { Caller } from '../caller.ts';
import { requireSuperAdmin } from '../caller.ts';
import { ConflictError, GoneError, InvalidConfirmationError } from '../errors.ts';
import type { Email, Mailer } from '../ports/mailer.ts';
import type { TotpState } from '../ports/totp-secrets.ts';
import { checkCode, cipherContext, HOW_TO_ENROL, type ReauthDeps } from './reauthenticate.ts';

/** Enrolment also emails the confirmation link, which points at the web page. */
export interface TotpEnrolmentDeps extends ReauthDeps {
  mailer: Mailer;
  config: { appUrl: string };
}

/** How long an enrolment's emailed confirmation link works. */
export const CONFIRMATION_LINK_MINUTES = 60;
const TOTP_ISSUER = 'crm-backup';

export interface TotpEnrolment {
  secret: string;
  otpauthUri: string;
}

/** What `POST /v1/me/totp-enrolment` answers: the secret once, and where its confirmation went. */
export interface PendingTotpEnrolment extends TotpEnrolment {
  status: 'PENDING_CONFIRMATION';
  confirmationSentTo: string;
  confirmationExpiresAt: string;
  /** A reset: the confirmed app keeps working until this one is confirmed. */
  replacesConfirmed: boolean;
}

/**
 * What `GET /v1/me/totp-enrolment` answers: whether the caller's restores (and downloads,
 * where asked) can be re-authenticated, and what waits for its emailed link. Never the secret.
 */
export interface TotpEnrolmentStatus {
  /** False for SSO sign-ins: their identity provider re-authenticates, no code is asked. */
  required: boolean;
  /** CONFIRMED: codes are accepted; PENDING_CONFIRMATION: the first enrolment waits for its link. */
  status: 'NONE' | 'PENDING_CONFIRMATION' | 'CONFIRMED';
  enrolledAt?: string;
  confirmedAt?: string;
  /** A first enrolment, or a reset of a confirmed one, waiting for its link. */
  pendingConfirmation?: { sentTo: string; expiresAt: string; expired: boolean; replacesConfirmed: boolean };
}

/** `POST /v1/me/totp-enrolment`'s body: `replace` resets a confirmed enrolment. */
export interface TotpEnrolmentRequest {
  replace?: boolean;
}

/**
 * Enrols a super admin's authenticator app, or resets a confirmed one: a new secret,
 * stored encrypted, answered once (as an otpauth:// URI for a QR code), and not usable
 * until confirmed out of band: a one-time link goes to the admin's email, and the web
 * page it opens sends the link's token with a code from the app. A stolen session
 * alone cannot enrol its own authenticator and then restore, nor swap one in: a reset
 * (`replace`) changes nothing until its link is confirmed, so the confirmed app keeps
 * working meanwhile and a reset nobody confirms lapses. A pending enrolment or reset is
 * replaced by a new one, and its link stops working.
 *
 * Primary course:
 *  1. Only super admins (the only ones who restore) enrol, and only with an email address.
 *  2. A confirmed enrolment is replaced only when asked (`replace`; else 409 TOTP_ALREADY_ENROLLED).
 *  3. Generate a 160-bit secret and a 256-bit link token; store the secret encrypted
 *     and the token's SHA-256 with its expiry: as the enrolment, or beside the
 *     confirmed one as its pending replacement.
 *  4. Email the link, audit TOTP_ENROLMENT_REQUESTED, answer the secret and the URI.
 */
export async function enrolTotp(caller: Caller, request: TotpEnrolmentRequest, deps: TotpEnrolmentDeps): Promise<PendingTotpEnrolment> {
  requireSuperAdmin(caller);
  const existing = await deps.totp.get(caller.userId);
  const confirmed = existing !== undefined && !existing.pendingConfirmation;
  if (confirmed && !request.replace) {
    throw new ConflictError(
      'TOTP_ALREADY_ENROLLED',
      'An authenticator app is already enrolled and confirmed for you. To replace it (a lost or new phone), reset it on the Authenticator screen (CLI: crm-backup totp reset; API: send "replace": true): your current app keeps working until you confirm the new one from the link we email you.',
    );
  }
  if (!caller.email) {
    throw new ConflictError('EMAIL_REQUIRED', 'Enrolling an authenticator app is confirmed by email, and your sign-in has no email address; ask an operator to add one.');
  }
  const now = deps.clock.now();
  const token = randomBytes(32).toString('base64url');
  const pending = { tokenHash: hashToken(token), expiresAt: new Date(now.getTime() + CONFIRMATION_LINK_MINUTES * 60_000).toISOString() };
  const changedMeanwhile = () => new ConflictError('TOTP_ENROLMENT_CHANGED', 'Your authenticator enrolment changed while this request ran (another tab or device?); look at it again and retry.');
  let enrolment: TotpEnrolment | undefined;
  if (confirmed) {
    const secret = generateSecret();
    const stored = await deps.totp.requestReplacement(caller.userId, {
      ...pending,
      encryptedSecret: await deps.secrets.encrypt(secret, cipherContext(caller.userId)),
      requestedAt: now.toISOString(),
    });
    if (!stored) throw changedMeanwhile();
    enrolment = { secret, otpauthUri: otpauthUri(caller.email, secret) };
  } else {
    enrolment = await createTotpSecret(caller.userId, caller.email, deps, pending);
    if (!enrolment) throw changedMeanwhile();
  }
  await deps.mailer.send(totpConfirmationEmail(caller.email, confirmationUrl(deps.config.appUrl, token), pending.expiresAt, confirmed));
  await deps.audit.append({
    id: deps.ids.next('au'),
    accountId: caller.accountId,
    action: 'TOTP_ENROLMENT_REQUESTED',
    actor: caller.email,
    occurredAt: now.toISOString(),
    summary: confirmed
      ? `${caller.email} asked to replace their confirmed authenticator app, which keeps working until the new one is confirmed; a confirmation link valid until ${pending.expiresAt} was emailed to ${caller.email}.`
      : `${caller.email} enrolled an authenticator app${existing ? ', replacing one never confirmed' : ''}; a confirmation link valid until ${pending.expiresAt} was emailed to ${caller.email}.`,
  });
  return { ...enrolment, status: 'PENDING_CONFIRMATION', confirmationSentTo: caller.email, confirmationExpiresAt: pending.expiresAt, replacesConfirmed: confirmed };
}

/**
 * `GET /v1/me/totp-enrolment`: the caller's enrolment as the Authenticator screen and
 * `crm-backup totp status` show it.
 */
export async function totpEnrolmentStatus(caller: Caller, deps: Pick<ReauthDeps, 'totp' | 'clock'>): Promise<TotpEnrolmentStatus> {
  requireSuperAdmin(caller);
  const state = await deps.totp.get(caller.userId);
  const required = !caller.sso;
  if (!state) return { required, status: 'NONE' };
  const now = deps.clock.now().getTime();
  const waiting = state.pendingConfirmation ?? state.pendingReplacement;
  return {
    required,
    status: state.pendingConfirmation ? 'PENDING_CONFIRMATION' : 'CONFIRMED',
    enrolledAt: state.enrolledAt,
    ...(state.pendingConfirmation ? {} : { confirmedAt: state.confirmedAt ?? state.enrolledAt }),
    ...(waiting
      ? {
          pendingConfirmation: {
            sentTo: caller.email,
            expiresAt: waiting.expiresAt,
            expired: Date.parse(waiting.expiresAt) <= now,
            replacesConfirmed: !state.pendingConfirmation,
          },
        }
      : {}),
  };
}

/**
 * Confirms a pending enrolment or reset from its emailed link
 * (`POST /v1/me/totp-enrolment/confirmation`): the link's token proves the email, a
 * code proves the app holds the new secret.
 *
 * Primary course:
 *  1. The token must be the caller's pending one (400 INVALID_CONFIRMATION otherwise:
 *     used, replaced, someone else's) and not expired (410 CONFIRMATION_EXPIRED).
 *  2. Check the code against the new secret like a re-authentication (attempt limit, no
 *     replay); the same conditional write confirms and voids the token, so a link works
 *     once. A reset's secret replaces the confirmed one in that write.
 *  3. Audit TOTP_ENROLMENT_CONFIRMED.
 */
export async function confirmTotpEnrolment(
  caller: Caller,
  request: { token: string; totp: string },
  deps: ReauthDeps,
): Promise<{ status: 'CONFIRMED'; confirmedAt: string; replacedEarlier: boolean }> {
  requireSuperAdmin(caller);
  const state = await deps.totp.get(caller.userId);
  const tokenHash = hashToken(request.token);
  const enrolment = state?.pendingConfirmation && sameHash(state.pendingConfirmation.tokenHash, tokenHash) ? state.pendingConfirmation : undefined;
  const replacement = !enrolment && state?.pendingReplacement && sameHash(state.pendingReplacement.tokenHash, tokenHash) ? state.pendingReplacement : undefined;
  const pending = enrolment ?? replacement;
  if (!state || !pending) {
    throw new InvalidConfirmationError(
      'This confirmation link is not valid for you: it was used already, a newer enrolment replaced it, or it was sent to another user. Sign in as the person it was sent to, or enrol again for a new link.',
    );
  }
  const now = deps.clock.now();
  if (Date.parse(pending.expiresAt) <= now.getTime()) {
    throw new GoneError('CONFIRMATION_EXPIRED', `This confirmation link expired at ${pending.expiresAt}; enrol again ${HOW_TO_ENROL} for a new one.`, {
      expiredAt: pending.expiresAt,
    });
  }
  const confirmedAt = now.toISOString();
  const confirmation = (timeStep: number) => ({ tokenHash, timeStep, confirmedAt });
  if (replacement) {
    // A new secret: its codes have no history yet, so none is "already used".
    await checkCode(caller, request.totp, { encryptedSecret: replacement.encryptedSecret }, deps, (timeStep) => deps.totp.confirmReplacement(caller.userId, confirmation(timeStep)));
  } else {
    await checkCode(caller, request.totp, { encryptedSecret: state.encryptedSecret, afterTimeStep: state.lastTimeStep }, deps, (timeStep) =>
      deps.totp.confirm(caller.userId, confirmation(timeStep)),
    );
  }
  await deps.audit.append({
    id: deps.ids.next('au'),
    accountId: caller.accountId,
    action: 'TOTP_ENROLMENT_CONFIRMED',
    actor: caller.email || caller.userId,
    occurredAt: confirmedAt,
    summary: replacement
      ? `${caller.email} confirmed their new authenticator app from the link emailed to them; it replaced the earlier one, whose codes are no longer accepted.`
      : `${caller.email} confirmed their authenticator app from the link emailed to them; restores now accept its codes.`,
  });
  return { status: 'CONFIRMED', confirmedAt, replacedEarlier: replacement !== undefined };
}

/** Where the emailed link points: the page reads the token from the fragment, which no server or log sees. */
export function confirmationUrl(appUrl: string, token: string): string {
  return `${appUrl.replace(/\/$/, '')}/totp-confirmation#token=${token}`;
}

function totpConfirmationEmail(to: string, link: string, expiresAt: string, replacesConfirmed: boolean): Email {
  const text = [
    replacesConfirmed
      ? 'Someone signed in as you asked to replace your authenticator app for re-authenticating restores of CRM data with a new one.'
      : 'Someone signed in as you asked to enrol an authenticator app for re-authenticating restores of CRM data.',
    '',
    `If it was you, open this link (valid until ${expiresAt}) and enter a code from the new app to confirm it:`,
    link,
    '',
    'If it was not you, do not open the link: someone may know your password. Change it and tell your operator.',
    replacesConfirmed
      ? 'Until the new app is confirmed, nothing changes: your current app keeps working.'
      : 'Until the enrolment is confirmed, it cannot be used for anything.',
  ].join('\n');
  return { to: [to], subject: replacesConfirmed ? 'Confirm your new authenticator app for CRM restores' : 'Confirm your authenticator app for CRM restores', text };
}

function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

function sameHash(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

function otpauthUri(label: string, secret: string): string {
  return generateURI({ issuer: TOTP_ISSUER, label, secret });
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
  return { secret, otpauthUri: otpauthUri(label, secret) };
}

/** A user's TOTP secret in clear, or undefined (only the local runtime's banner needs it). */
export async function readTotpSecret(userId: string, label: string, deps: Pick<ReauthDeps, 'totp' | 'secrets'>): Promise<TotpEnrolment | undefined> {
  const state = await deps.totp.get(userId);
  if (!state) return undefined;
  const secret = await deps.secrets.decrypt(state.encryptedSecret, cipherContext(userId));
  return { secret, otpauthUri: otpauthUri(label, secret) };
}
