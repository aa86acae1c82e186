import type { ComparisonKey, StoredComparison } from '../compare-model.ts';

/**
 * Comparisons and the pointer to the latest comparison of a backup with a side, per
 * object type (DynamoDB app table in AWS). Every call names the account, so another
 * tenant's id simply does not exist here. Items disappear after `expiresAt` (TTL).
 */
export interface ComparisonRepository {
  /** Stores a new comparison; a second call with the same id changes nothing. */
  createComparison(comparison: StoredComparison): Promise<void>;
  getComparison(accountId: string, comparisonId: string): Promise<StoredComparison | undefined>;
  /**
   * Replaces a COMPARING comparison (a checkpoint, READY or FAILED) only while it is
   * still COMPARING at version `fromVersion`: of two workers resuming from the same
   * checkpoint, one wins. Answers whether this call did.
   */
  saveComparison(comparison: StoredComparison, fromVersion: number): Promise<boolean>;
  /**
   * Claims the next check of a COMPARING comparison's execution: one conditional write
   * that succeeds only while it is COMPARING and was not claimed after `staleBefore`.
   */
  claimComparisonCheck(accountId: string, comparisonId: string, at: string, staleBefore: string): Promise<boolean>;
  /** The id of the latest comparison for `key`, if any. */
  findLatest(accountId: string, key: ComparisonKey): Promise<string | undefined>;
  /**
   * Points `key` at `comparisonId` only if it still points at `replacing` (nothing when
   * undefined): of two requests starting a comparison for the same key, one wins and the
   * other shows the winner's. Answers whether this call did.
   */
  setLatest(accountId: string, key: ComparisonKey, comparisonId: string, replacing: string | undefined, expiresAt: string): Promise<boolean>;
}
