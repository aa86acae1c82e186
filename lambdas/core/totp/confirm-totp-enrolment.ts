import type { Caller } from '../caller.ts';
import { requireSuperAdmin } from '../caller.ts';
import { ConfirmationExpiredError, InvalidConfirmationError } from '../errors.ts';
import { checkTotpCode, HOW_TO_ENROL, type ReauthDeps } from './reauthenticate.ts';
import { hashToken, sameHash } from './totp-enrolment.ts';

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
    throw new ConfirmationExpiredError(`This confirmation link expired at ${pending.expiresAt}; enrol again ${HOW_TO_ENROL} for a new one.`, {
      expiredAt: pending.expiresAt,
    });
  }
  const confirmedAt = now.toISOString();
  const confirmation = (timeStep: number) => ({ tokenHash, timeStep, confirmedAt });
  if (replacement) {
    // A new secret: none of its codes has been used yet.
    await checkTotpCode(caller, request.totp, { encryptedSecret: replacement.encryptedSecret }, deps, (timeStep) => deps.totp.confirmReplacement(caller.userId, confirmation(timeStep)));
  } else {
    await checkTotpCode(caller, request.totp, state, deps, (timeStep) => deps.totp.confirm(caller.userId, confirmation(timeStep)));
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
