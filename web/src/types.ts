/** Shapes the API answers (docs/API.md), read by the page and the CLI; types only, erased in both. */

export type { Backup, BackupObject } from '../../lambdas/core/model.ts';
export type { BackupQuotaView as BackupQuota } from '../../lambdas/core/backups/backup-quota.ts';

export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

export interface ObjectTypeInfo {
  name: string;
  label: string;
  pluralLabel: string;
  custom: boolean;
  records: number;
  restorable: boolean;
  properties: Array<{ name: string; label: string; type: string; readOnly: boolean; calculated: boolean; sensitive: boolean }>;
}

export interface RestorePlan {
  id: string;
  /** PLANNING while a big object type is still compared (then `progress`), READY, or FAILED (then `error`). */
  status?: 'PLANNING' | 'READY' | 'FAILED';
  progress?: { done: number; total: number };
  error?: string;
  backupId: string;
  objectType: string;
  properties: string[];
  recordsInBackup: number;
  recordsToChange: number;
  recordsUnchanged: number;
  recordsMissing: number;
  perProperty: Array<{ name: string; toChange: number; toClear: number }>;
  sample: Array<{ recordId: string; changes: Array<{ property: string; from: string; to: string }> }>;
  /** Ids of backed-up records that no longer exist (if the API lists them). */
  missingSample?: string[];
  createdAt: string;
  expiresAt: string;
}

export interface Restore {
  id: string;
  planId: string;
  backupId: string;
  objectType: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED';
  requestedBy: string;
  startedAt: string;
  completedAt?: string;
  progress: { done: number; total: number };
  counts: { updated: number; unchanged: number; missing: number; failed: number };
  error?: string;
  importId?: string;
}

export interface AuditEntry {
  id: string;
  action: string;
  actor: string;
  resourceId?: string;
  occurredAt: string;
  summary: string;
}

export interface ImportEntry {
  id: string;
  name: string;
  objectType?: string;
  restoreId?: string;
  completedAt?: string;
  createdAt?: string;
  counts?: Record<string, number>;
  [key: string]: unknown;
}
