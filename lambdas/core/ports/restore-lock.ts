/** The account's restore lock as stored. */
export interface RestoreLockState {
  holder: string;
  /** Epoch milliseconds after which anyone may take the lock. */
  leaseExpiresAt: number;
  /** Incremented by every acquisition and renewal (a record version number, as in Amazon's lock client). */
  version: number;
}

export type LockAcquisition = { acquired: true; version: number } | { acquired: false; holder: string; leaseExpiresAt: number };

/**
 * One restore per account at a time: a conditional write with a lease. A crashed
 * holder loses the lock when its lease ends; a live one renews it before each batch
 * and stops (LockLostError) the moment a renewal finds someone else holding it.
 * Time is passed in (from `deps.clock`) so the adapter holds no clock of its own.
 */
export interface RestoreLock {
  /** Takes the lock for `holder` if nobody holds it or the holder's lease ended before `now`. */
  acquire(accountId: string, holder: string, lease: { now: number; durationMs: number }): Promise<LockAcquisition>;
  /** Extends the lease if `holder` still holds it; throws LockLostError otherwise. */
  renew(accountId: string, holder: string, lease: { now: number; durationMs: number }): Promise<void>;
  /** Releases the lock if `holder` holds it; answers whether it did (releasing twice is harmless). */
  release(accountId: string, holder: string): Promise<boolean>;
  get(accountId: string): Promise<RestoreLockState | undefined>;
}
