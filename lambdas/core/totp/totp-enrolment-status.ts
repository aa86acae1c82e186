import type { Caller } from '../caller.ts';
import { requireSuperAdmin } from '../caller.ts';
import type { ReauthDeps } from './reauthenticate.ts';

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

/**
 * `GET /v1/me/totp-enrolment`: the caller's enrolment as the Authenticator screen and
 * `crm-backup totp status` show it.
 */
export async function totpEnrolmentStatus(caller: Caller, deps: Pick<ReauthDeps, 'totp' | 'clock'>): Promise<TotpEnrolmentStatus> {
  requireSuperAdmin(caller);
  const state = await deps.totp.get(caller.userId);
  const required = !caller.sso;
  if (!state) return { required, status: 'NONE' };
  const waiting = state.pendingConfirmation ?? state.pendingReplacement;
  return {
    required,
    status: state.pendingConfirmation ? 'PENDING_CONFIRMATION' : 'CONFIRMED',
    enrolledAt: state.enrolledAt,
    // Enrolments made before confirmation existed have no confirmedAt: they count as confirmed when made.
    ...(state.pendingConfirmation ? {} : { confirmedAt: state.confirmedAt ?? state.enrolledAt }),
    ...(waiting
      ? {
          pendingConfirmation: {
            sentTo: caller.email,
            expiresAt: waiting.expiresAt,
            expired: Date.parse(waiting.expiresAt) <= deps.clock.now().getTime(),
            replacesConfirmed: !state.pendingConfirmation,
          },
        }
      : {}),
  };
}
