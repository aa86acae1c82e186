import { randomBytes } from 'node:crypto';
import { generateSecret } from 'otplib';
import type { Caller } from '../caller.ts';
import { requireSuperAdmin } from '../caller.ts';
import { EditConflictError, EmailRequiredError, TotpAlreadyEnrolledError } from '../errors.ts';
import type { Mailer } from '../ports/mailer.ts';
import type { ReauthDeps } from './reauthenticate.ts';
import {
  cipherContext,
  CONFIRMATION_LINK_MINUTES,
  confirmationUrl,
  createTotpSecret,
  hashToken,
  otpauthUri,
  totpConfirmationEmail,
  type PendingTotpEnrolment,
  type TotpEnrolment,
} from './totp-enrolment.ts';

/** Enrolment also emails the confirmation link, which points at the web page. */
export interface TotpEnrolmentDeps extends ReauthDeps {
  mailer: Mailer;
  config: { appUrl: string };
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
    throw new TotpAlreadyEnrolledError(
      'An authenticator app is already enrolled and confirmed for you. To replace it (a lost or new phone), reset it on the Authenticator screen (CLI: crm-backup totp reset; API: send "replace": true): your current app keeps working until you confirm the new one from the link we email you.',
    );
  }
  if (!caller.email) {
    throw new EmailRequiredError('Enrolling an authenticator app is confirmed by email, and your sign-in has no email address; ask an operator to add one.');
  }
  const now = deps.clock.now();
  const token = randomBytes(32).toString('base64url');
  const pending = { tokenHash: hashToken(token), expiresAt: new Date(now.getTime() + CONFIRMATION_LINK_MINUTES * 60_000).toISOString() };
  const changedMeanwhile = () => new EditConflictError('Your authenticator enrolment changed while this request ran (another tab or device?); look at it again and retry.');
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
