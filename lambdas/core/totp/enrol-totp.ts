import { randomBytes } from 'node:crypto';
import type { Caller } from '../caller.ts';
import { requireSuperAdmin } from '../caller.ts';
import { EmailRequiredError, TotpAlreadyEnrolledError } from '../errors.ts';
import type { Mailer } from '../ports/mailer.ts';
import type { ReauthDeps } from './reauthenticate.ts';
import { CONFIRMATION_LINK_MINUTES, confirmationUrl, createTotpSecret, hashToken, totpConfirmationEmail, type PendingTotpEnrolment } from './totp-enrolment.ts';

/** Enrolment also emails the confirmation link, which points at the web page. */
export interface TotpEnrolmentDeps extends ReauthDeps {
  mailer: Mailer;
  config: { appUrl: string };
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
    new TotpAlreadyEnrolledError('An authenticator app is already enrolled and confirmed for you; ask an operator to reset it to enrol another.');
  const existing = await deps.totp.get(caller.userId);
  if (existing && !existing.pendingConfirmation) throw alreadyEnrolled();
  if (!caller.email) {
    throw new EmailRequiredError('Enrolling an authenticator app is confirmed by email, and your sign-in has no email address; ask an operator to add one.');
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
