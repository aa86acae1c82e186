import { createHash, timingSafeEqual } from 'node:crypto';
import { generateSecret, generateURI } from 'otplib';
import type { Clock } from '../ports/clock.ts';
import type { Email } from '../ports/mailer.ts';
import type { SecretCipher, TotpSecrets, TotpState } from '../ports/totp-secrets.ts';

/**
 * What enrolling an authenticator app and confirming it share: the secret, kept
 * encrypted and bound to its user, and the one-time link that confirms it by email.
 */

/** How long an enrolment's emailed confirmation link works. */
export const CONFIRMATION_LINK_MINUTES = 60;
const TOTP_ISSUER = 'crm-backup';

/** The secret is bound to its user: a ciphertext copied to another user's item does not decrypt. */
export function cipherContext(userId: string): Record<string, string> {
  return { purpose: 'totp', userId };
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
  /** A reset: the confirmed app keeps working until this one is confirmed. */
  replacesConfirmed: boolean;
}

/** Where the emailed link points: the page reads the token from the fragment, which no server or log sees. */
export function confirmationUrl(appUrl: string, token: string): string {
  return `${appUrl.replace(/\/$/, '')}/totp-confirmation#token=${token}`;
}

/**
 * The email with the confirmation link, and what to do when the enrolment was not
 * yours; a reset's says the current app keeps working meanwhile.
 */
export function totpConfirmationEmail(to: string, link: string, expiresAt: string, replacesConfirmed = false): Email {
  const text = [
    replacesConfirmed
      ? 'Someone signed in as you asked to replace your authenticator app for re-authenticating restores of CRM data with a new one.'
      : 'Someone signed in as you asked to enrol an authenticator app for re-authenticating restores of CRM data.',
    '',
    `If it was you, open this link (valid until ${expiresAt}) and enter a code from the new app to confirm it:`,
    link,
    '',
    'If it was not you, do not open the link: someone may know your password. Change it and tell your operator.',
    replacesConfirmed ? 'Until the new app is confirmed, nothing changes: your current app keeps working.' : 'Until the enrolment is confirmed, it cannot be used for anything.',
  ].join('\n');
  return { to: [to], subject: replacesConfirmed ? 'Confirm your new authenticator app for CRM restores' : 'Confirm your authenticator app for CRM restores', text };
}

/** Only the link token's SHA-256 is stored: a read of the table does not give the link away. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Compares two token hashes in constant time. */
export function sameHash(a: string, b: string): boolean {
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
  deps: { totp: TotpSecrets; secrets: SecretCipher; clock: Clock },
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

/** The otpauth:// URI an authenticator app reads (from a QR code) for `secret`. */
export function otpauthUri(label: string, secret: string): string {
  return generateURI({ issuer: TOTP_ISSUER, label, secret });
}

/** A user's TOTP secret in clear, or undefined (only the local runtime's banner needs it). */
export async function readTotpSecret(userId: string, label: string, deps: { totp: TotpSecrets; secrets: SecretCipher }): Promise<TotpEnrolment | undefined> {
  const state = await deps.totp.get(userId);
  if (!state) return undefined;
  const secret = await deps.secrets.decrypt(state.encryptedSecret, cipherContext(userId));
  return { secret, otpauthUri: otpauthUri(label, secret) };
}
