import { requireSuperAdmin, type Caller } from '../caller.ts';
import { NotFoundError, QuotaExceededError, type ClaimInProgress } from '../errors.ts';
import type { Tier } from '../model.ts';
import type { BackupDeps } from './backup-deps.ts';
import { QUOTA_PERIODS } from './backup-policy.ts';
import { inspectBackup } from './stale-backups.ts';

/** `GET /v1/backup-quota`: whether "Back up now" would be accepted right now. */
export interface BackupQuotaView {
  tier: Tier;
  /** One backup per this period ("24 hours" or "7 days"). */
  period: string;
  allowed: boolean;
  /** When the next backup is allowed; only while `allowed` is false. */
  nextAllowedAt?: string;
  /** The sentence `POST /v1/backups` answers with its 429; only while `allowed` is false. */
  message?: string;
  /** The backup holding the claim is still being started; its claim lapses at `expiresAt` if it never starts. */
  claimInProgress?: ClaimInProgress;
}

/**
 * `GET /v1/backup-quota`: reads the account's quota in advance, so clients can disable
 * "Back up now" with the reason instead of waiting for a 429. Reads only; it claims
 * nothing, so a concurrent request may still win or lose the claim in between.
 *
 * Primary course:
 *  1. Super admins only; read the account's tier (it fixes the period).
 *  2. Read the quota claim: none, or one whose `nextAllowedAt` has passed, means allowed.
 *  3. Otherwise not allowed until the claim's `nextAllowedAt`, with the 429's sentence.
 *
 * Alternate courses (the same rules `startBackup` applies, see `inspectBackup`):
 *  - The claim is held by a stuck backup: allowed (a request would take the claim over).
 *  - The holder is still being started (or crashed, which nobody can tell within its
 *    grace period): not allowed until the claim's end, with `claimInProgress`.
 */
export async function getBackupQuota(caller: Caller, deps: Pick<BackupDeps, 'backups' | 'records' | 'workflows' | 'clock'>): Promise<BackupQuotaView> {
  requireSuperAdmin(caller);
  const account = await deps.records.getAccount(caller.accountId);
  if (!account) throw new NotFoundError(`Account "${caller.accountId}"`);
  const quota = QUOTA_PERIODS[account.tier];
  const base = { tier: account.tier, period: quota.period };
  const now = deps.clock.now();
  const claim = await deps.backups.getQuota(caller.accountId);
  // ISO 8601 UTC strings of one format compare like the times they name (as the claim's condition does).
  if (!claim || claim.nextAllowedAt <= now.toISOString()) return { ...base, allowed: true };
  const holder = await inspectBackup(caller.accountId, claim.backupId, claim.claimedAt, deps);
  if (holder.stuck) return { ...base, allowed: true };
  const claimInProgress = holder.stuckFrom && holder.stuckFrom < claim.nextAllowedAt ? { backupId: claim.backupId, expiresAt: holder.stuckFrom } : undefined;
  const refusal = new QuotaExceededError(claim.nextAllowedAt, quota.tierLabel, quota.period, now, claimInProgress);
  return { ...base, allowed: false, nextAllowedAt: claim.nextAllowedAt, message: refusal.message, ...(claimInProgress ? { claimInProgress } : {}) };
}
