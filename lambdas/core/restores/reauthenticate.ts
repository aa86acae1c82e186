import { generateSecret, generateURI, verify } from 'otplib';
import type { Caller } from '../caller.ts';
import { requireSuperAdmin } from '../caller.ts';
import { ConflictError, UnauthorizedError } from '../errors.ts';
import type { AuditLog } from '../ports/audit-log.ts';
import type { Clock } from '../ports/clock.ts';
import type { IdGenerator } from '../ports/ids.ts';
import type { SecretCipher, TotpSecrets } from '../ports/totp-secrets.ts';

export interface ReauthDeps {
  totp: TotpSecrets;
  secrets: SecretCipher;
  audit: AuditLog;
  clock: Clock;
  ids: IdGenerator;
}

/** After this many wrong codes in a row, every code is refused for LOCKOUT_MINUTES. */
export const MAX_TOTP_FAILURES = 5;
export const LOCKOUT_MINUTES = 15;
/** Accept the previous and next 30-second step too: phones' clocks drift. */
const EPOCH_TOLERANCE_SECONDS = 30;
const TOTP_ISSUER = 'crm-backup';

/** The secret is bound to its user: a ciphertext copied to another user's item does not decrypt. */
function cipherContext(userId: string): Record<string, string> {
  return { purpose: 'totp', userId };
}

/**
 * Re-authenticates a caller before a restore (PRODUCT.md, Restore 3): SSO sign-ins
 * pass (their identity provider re-authenticates), everyone else must give a fresh
 * TOTP code.
 *
 * Primary course:
 *  1. SSO callers pass; without a code, 401 REAUTH_REQUIRED.
 *  2. Refuse while the user is locked out after too many wrong codes.
 *  3. Verify the code against the decrypted secret, refusing time steps already used.
 *  4. Claim the code's time step with a conditional write, so that it cannot be replayed,
 *     even by a concurrent request; reset the failure counter.
 * Alternate course: a wrong code counts a failure (the fifth locks the user out for 15
 * minutes), is audited, and answers 401 REAUTH_FAILED.
 */
export async function reauthenticate(caller: Caller, code: string | undefined, deps: ReauthDeps): Promise<void> {
  if (caller.sso) return;
  if (!code) {
    throw new UnauthorizedError('Restoring data needs a code from your authenticator app: send it as "totp".', 'REAUTH_REQUIRED');
  }
  const state = await deps.totp.get(caller.userId);
  if (!state) {
    throw new UnauthorizedError(
      'You have no authenticator app enrolled: enrol one with POST /v1/me/totp-enrolment, then send its code as "totp".',
      'REAUTH_REQUIRED',
    );
  }
  const now = deps.clock.now();
  if (state.lockedUntil && Date.parse(state.lockedUntil) > now.getTime()) {
    throw new UnauthorizedError(`Too many wrong codes: try again after ${state.lockedUntil}.`, 'REAUTH_FAILED');
  }
  const secret = await deps.secrets.decrypt(state.encryptedSecret, cipherContext(caller.userId));
  const timeStep = await matchingTimeStep(secret, code, now, state.lastTimeStep);
  if (timeStep !== undefined && (await deps.totp.acceptTimeStep(caller.userId, timeStep))) return;

  const failures = (state.lockedUntil ? 0 : state.failures) + 1;
  const lockedUntil = failures >= MAX_TOTP_FAILURES ? new Date(now.getTime() + LOCKOUT_MINUTES * 60_000).toISOString() : undefined;
  await deps.totp.recordFailure(caller.userId, { failures: lockedUntil ? 0 : failures, lockedUntil });
  await deps.audit.append({
    id: deps.ids.next('au'),
    accountId: caller.accountId,
    action: 'REAUTH_FAILED',
    actor: caller.email || caller.userId,
    occurredAt: now.toISOString(),
    summary: lockedUntil
      ? `${caller.email} gave a wrong authenticator code ${MAX_TOTP_FAILURES} times and is locked out until ${lockedUntil}.`
      : `${caller.email} gave a wrong or already used authenticator code.`,
  });
  throw new UnauthorizedError(
    lockedUntil ? `Wrong code. Too many wrong codes: try again after ${lockedUntil}.` : 'The authenticator code is wrong or was already used.',
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

/**
 * Enrols a super admin's authenticator app: a new secret, stored encrypted, answered
 * once (as an otpauth:// URI for a QR code). A second enrolment is refused, so a
 * stolen session cannot swap the secret; an operator removes the old one first.
 *
 * Primary course:
 *  1. Only super admins (the only ones who restore) enrol.
 *  2. Generate a 160-bit secret, encrypt it bound to the user, store it if none exists.
 *  3. Answer the secret and its otpauth URI; they are never shown again.
 */
export async function enrolTotp(caller: Caller, deps: ReauthDeps): Promise<TotpEnrolment> {
  requireSuperAdmin(caller);
  if (await deps.totp.get(caller.userId)) {
    throw new ConflictError('TOTP_ALREADY_ENROLLED', 'An authenticator app is already enrolled for you; ask an operator to reset it to enrol another.');
  }
  const enrolment = await createTotpSecret(caller.userId, caller.email || caller.userId, deps);
  if (!enrolment) {
    throw new ConflictError('TOTP_ALREADY_ENROLLED', 'An authenticator app is already enrolled for you; ask an operator to reset it to enrol another.');
  }
  return enrolment;
}

/**
 * Creates and stores a user's TOTP secret unless one exists; answers it, or undefined
 * when the user already had one. (The local runtime seeds the demo admin with it.)
 */
export async function createTotpSecret(userId: string, label: string, deps: Pick<ReauthDeps, 'totp' | 'secrets' | 'clock'>): Promise<TotpEnrolment | undefined> {
  const secret = generateSecret();
  const stored = await deps.totp.enrol({
    userId,
    encryptedSecret: await deps.secrets.encrypt(secret, cipherContext(userId)),
    failures: 0,
    enrolledAt: deps.clock.now().toISOString(),
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
