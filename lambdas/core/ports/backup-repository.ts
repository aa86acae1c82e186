import type { AnomalyCheck } from '../alert-model.ts';
import type { Backup, BackupObject, BackupStatus, Page } from '../model.ts';

/** The outcome of trying to claim an account's backup quota. */
export type QuotaClaim =
  | { claimed: true }
  /** `heldBy`: the backup holding the claim (absent if the claim vanished meanwhile). */
  | { claimed: false; nextAllowedAt: string; heldBy?: { backupId: string; claimedAt: string } };

/** The account's current quota claim: which backup took it, when, and until when it holds. */
export interface QuotaHolder {
  backupId: string;
  claimedAt: string;
  nextAllowedAt: string;
}

/** An account's scheduled-backup setting. */
export interface BackupSchedule {
  accountId: string;
  enabled: boolean;
  /** The super admin who last changed it: scheduled backups email them. */
  email?: string;
  updatedAt?: string;
}

/** A backup as stored: what the API shows plus bookkeeping the steps need. */
export interface StoredBackup extends Backup {
  /** When the completion or failure email went out. */
  notifiedAt?: string;
  /** When a step claimed the announcement (audit entry, email); see `claimNotification`. */
  notifyingAt?: string;
}

/** What a step may change on a backup; absent fields stay as they are. */
export interface BackupPatch {
  status?: BackupStatus;
  completedAt?: string;
  expiresAt?: string;
  sizeBytes?: number;
  zipKey?: string;
  error?: string;
  /** Replaces the whole list (the zip step records the manifest's files here). */
  objects?: BackupObject[];
  /** Set once the completion or failure email went out, so a retried step does not send it twice. */
  notifiedAt?: string;
}

/**
 * Backup metadata, the per-account quota claim and the schedule setting (DynamoDB
 * app table in AWS). Every call names the account: another tenant's backup id simply
 * does not exist here.
 */
export interface BackupRepository {
  /** One backup of an account, or undefined (also for another account's id). */
  getBackup(accountId: string, backupId: string): Promise<StoredBackup | undefined>;
  /** The account's backups, newest first. */
  listBackups(accountId: string, options: { limit: number; cursor?: string }): Promise<Page<Backup>>;
  /** Stores a new backup; a second call with the same id changes nothing. */
  createBackup(backup: Backup): Promise<void>;
  /**
   * Changes a backup only if its status is one of `fromStatuses`; answers whether it
   * did. This is how steps stay idempotent: finishing twice finishes once.
   */
  updateBackup(accountId: string, backupId: string, patch: BackupPatch, fromStatuses: BackupStatus[]): Promise<boolean>;
  /**
   * Claims the announcement of a backup's end (audit entry, email) with one conditional
   * write: it succeeds only while the backup is in `status`, not yet notified, and not
   * claimed since `staleBefore`. Of any number of steps ending the same backup at once
   * exactly one wins and announces; a claim whose holder died before notifying can be
   * taken again once stale. Answers whether this call won.
   */
  claimNotification(accountId: string, backupId: string, claim: { status: BackupStatus; at: string; staleBefore: string }): Promise<boolean>;
  /**
   * Sets a SUCCEEDED backup's anomaly check, only while the check it has is in `from`
   * (`NONE`: it has none yet); answers whether it did. One conditional write: a check
   * that ended stays ended, and of two evaluations of one backup, one raises the alert.
   */
  setAnomalyCheck(accountId: string, backupId: string, check: AnomalyCheck, from: Array<AnomalyCheck['status'] | 'NONE'>): Promise<boolean>;
  /** Records one object type's export progress while the backup runs (parallel exports write side by side). */
  setObjectProgress(accountId: string, backupId: string, object: BackupObject, order: number): Promise<void>;

  /**
   * Claims the account's quota for `backupId` with one conditional write: it succeeds
   * only when no claim exists or the existing one allows a new backup by `now`.
   * Concurrent callers therefore get exactly one success.
   *
   * With `replacing`, the claim also succeeds while that (stale) backup holds it: the
   * take-over of a claim whose backup never started. Still one write, still one winner.
   */
  claimQuota(accountId: string, claim: { backupId: string; now: string; nextAllowedAt: string; replacing?: string }): Promise<QuotaClaim>;
  /** The account's quota claim as stored (a consistent read), or undefined when none exists. */
  getQuota(accountId: string): Promise<QuotaHolder | undefined>;
  /** Gives the quota back, but only if `backupId` still holds it (never a newer backup's claim). */
  refundQuota(accountId: string, backupId: string): Promise<void>;

  getSchedule(accountId: string): Promise<BackupSchedule>;
  putSchedule(schedule: BackupSchedule): Promise<void>;
  /** Every account whose schedule is on (the scheduler's work list). */
  listEnabledSchedules(): Promise<BackupSchedule[]>;
}
