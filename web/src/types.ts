/** Shapes the API answers (docs/API.md), read by the page and the CLI; types only, erased in both. */

export type { Backup, BackupObject } from '../../lambdas/core/model.ts';
export type { BackupQuotaView as BackupQuota } from '../../lambdas/core/backups/backup-quota.ts';
export type { Conflict, RestorePlanView as RestorePlan, RestoreView as Restore } from '../../lambdas/core/restore-model.ts';
export type { RevertPlanView as RevertPlan } from '../../lambdas/core/reverts/revert-policy.ts';
export type { PendingTotpEnrolment } from '../../lambdas/core/totp/totp-enrolment.ts';
export type { TotpEnrolmentStatus } from '../../lambdas/core/totp/totp-enrolment-status.ts';
export type { ComparisonView as Comparison, ComparisonFigures } from '../../lambdas/core/compare-model.ts';
export type { AlertSettings, AnomalyCheck, AnomalyFinding } from '../../lambdas/core/alert-model.ts';

export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

export interface ObjectTypeInfo {
  name: string;
  label: string;
  pluralLabel: string;
  custom: boolean;
  /** Absent where the data source has no count (HubSpot). */
  records?: number;
  restorable: boolean;
  properties: Array<{ name: string; label: string; type: string; readOnly: boolean; calculated: boolean; sensitive: boolean }>;
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

/** The account's data source (GET /v1/source): the built-in CRM, or a connected HubSpot portal (never its token). */
export type DataSource =
  | { type: 'builtin' }
  | { type: 'hubspot'; portalId: number; timeZone: string; connectedAt: string; connectedBy: string; scopes: string[]; missingScopes: string[] };
