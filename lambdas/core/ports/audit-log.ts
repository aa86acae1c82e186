import type { Page } from '../model.ts';

/** What happened, as the account's audit log records it. */
export type AuditAction =
  | 'BACKUP_REQUESTED'
  | 'BACKUP_COMPLETED'
  | 'BACKUP_FAILED'
  | 'BACKUP_DOWNLOADED'
  | 'BACKUP_SCHEDULE_CHANGED'
  | 'RESTORE_PLANNED'
  | 'RESTORE_STARTED'
  | 'RESTORE_COMPLETED'
  | 'RESTORE_FAILED'
  | 'REAUTH_FAILED'
  | 'TOTP_ENROLMENT_REQUESTED'
  | 'TOTP_ENROLMENT_CONFIRMED'
  | 'SOURCE_CONNECTED'
  | 'SOURCE_DISCONNECTED'
  | 'BACKUP_COMPARED'
  | 'COMPARISON_EXPORTED'
  | 'COMPARISON_EXPORT_DOWNLOADED'
  | 'ALERT_SETTINGS_CHANGED'
  | 'ANOMALY_DETECTED'
  | 'REVERT_PLANNED';

export interface AuditEntry {
  id: string;
  accountId: string;
  action: AuditAction;
  /** Who did it: an email, or `system` for scheduled and automatic work. */
  actor: string;
  /** The backup, plan or restore it is about. */
  resourceId?: string;
  occurredAt: string;
  /** A sentence for people, e.g. "Restored 2 properties of 1,204 deals from backup bk_...". */
  summary: string;
  details?: Record<string, unknown>;
}

/** The account's audit log: append-only, listed newest first. */
export interface AuditLog {
  append(entry: AuditEntry): Promise<void>;
  list(accountId: string, options: { limit: number; cursor?: string }): Promise<Page<AuditEntry>>;
}
