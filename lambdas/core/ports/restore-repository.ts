import type { Page } from '../model.ts';
import type { Conflict, ImportEntry, RestoreCounts, RestoreFailure, RestoreStatus, SegmentProgress, StoredPlan, StoredRestore } from '../restore-model.ts';

/** What a step may change on a restore; absent fields stay as they are. */
export interface RestorePatch {
  status?: RestoreStatus;
  completedAt?: string;
  counts?: RestoreCounts;
  failures?: RestoreFailure[];
  conflicts?: Conflict[];
  progress?: { done: number; total: number };
  error?: string;
}

/**
 * Restore plans, restores and their per-segment progress (DynamoDB app table in AWS).
 * Every call names the account, so another tenant's id simply does not exist here.
 */
export interface RestoreRepository {
  /** Stores a plan; it disappears on its own after `expiresAt` (TTL). */
  putPlan(plan: StoredPlan): Promise<void>;
  getPlan(accountId: string, planId: string): Promise<StoredPlan | undefined>;
  /**
   * Replaces a PLANNING plan (a checkpoint, READY or FAILED) only while it is still
   * PLANNING and, if `fromRecords` is given, still at that checkpoint: of two
   * invocations resuming from the same checkpoint, one wins. Answers whether it did.
   */
  savePlan(plan: StoredPlan, fromRecords?: number): Promise<boolean>;
  /**
   * Claims the next check of a PLANNING plan's execution (`recoverStalledPlan`): one
   * conditional write that succeeds only while the plan is PLANNING and was not claimed
   * after `staleBefore`, so of simultaneous readers one checks. Answers whether this call did.
   */
  claimPlanCheck(accountId: string, planId: string, at: string, staleBefore: string): Promise<boolean>;

  /** Stores a new restore; a second call with the same id changes nothing. */
  createRestore(restore: StoredRestore): Promise<void>;
  getRestore(accountId: string, restoreId: string): Promise<StoredRestore | undefined>;
  /** The account's restores, newest first. */
  listRestores(accountId: string, options: { limit: number; cursor?: string }): Promise<Page<StoredRestore>>;
  /** Changes a restore only while its status is one of `fromStatuses`; answers whether it did. */
  updateRestore(accountId: string, restoreId: string, patch: RestorePatch, fromStatuses: RestoreStatus[]): Promise<boolean>;
  /** Sets `notifiedAt` unless it is set; answers whether this call set it (email at most once). */
  claimNotification(accountId: string, restoreId: string, at: string): Promise<boolean>;

  getSegmentProgress(accountId: string, restoreId: string, segment: number): Promise<SegmentProgress | undefined>;
  /**
   * Saves a segment's progress only if its cursor is still at `fromIndex` (0 = never
   * saved): a duplicate invocation of the same batch cannot count twice.
   */
  saveSegmentProgress(accountId: string, restoreId: string, segment: number, progress: SegmentProgress, fromIndex: number): Promise<boolean>;
  /** Every saved segment progress of a restore (summed for progress and final counts). */
  listSegmentProgress(accountId: string, restoreId: string): Promise<SegmentProgress[]>;
}

/** The account's completed imports; restores add themselves here. */
export interface ImportLog {
  /** Writes an entry; the same id twice keeps one entry. */
  put(entry: ImportEntry): Promise<void>;
  /** Newest first. */
  list(accountId: string, options: { limit: number; cursor?: string }): Promise<Page<ImportEntry>>;
}
