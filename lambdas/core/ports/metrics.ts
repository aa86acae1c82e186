/**
 * Business metrics: what the service did, counted for the whole service and stage,
 * never per account (one CloudWatch series per tenant would cost more than the service
 * and say nothing an on-call engineer acts on). The adapter writes CloudWatch's
 * embedded metric format; the dashboard in the CDK app reads the same names.
 */
export const BUSINESS_METRICS = {
  BackupsSucceeded: { unit: 'Count', description: 'Backups that completed (announced once each)' },
  BackupsFailed: { unit: 'Count', description: 'Backups that failed (announced once each)' },
  RecordsExported: { unit: 'Count', description: 'Records in the backups that completed' },
  BytesExported: { unit: 'Bytes', description: 'Size of the zips of the backups that completed' },
  BackupDuration: { unit: 'Milliseconds', description: 'From request to completed zip, per completed backup' },
  BackupListDuration: { unit: 'Milliseconds', description: 'Time in the list-object-types stage, per invocation' },
  BackupExportDuration: { unit: 'Milliseconds', description: 'Time in the export stage, per invocation (one object type, part of it)' },
  BackupZipDuration: { unit: 'Milliseconds', description: 'Time in the zip stage, per invocation' },
  BackupFinalizeDuration: { unit: 'Milliseconds', description: 'Time in the finalize stage, per invocation' },
  RestoresSucceeded: { unit: 'Count', description: 'Restores that completed (announced once each)' },
  RestoresFailed: { unit: 'Count', description: 'Restores that failed (announced once each)' },
  RecordsRestored: { unit: 'Count', description: 'Records a completed or failed restore changed' },
  ReauthenticationFailures: { unit: 'Count', description: 'TOTP codes refused (wrong, replayed, or locked out)' },
  QuotaRefusals: { unit: 'Count', description: 'Backup requests refused because the quota was spent' },
} as const satisfies Record<string, { unit: 'Count' | 'Bytes' | 'Milliseconds'; description: string }>;

export type BusinessMetric = keyof typeof BUSINESS_METRICS;

/** Where core steps count what happened. */
export interface BusinessMetrics {
  add(metric: BusinessMetric, value: number): void;
}

/** For core unit tests and callers that count nothing. */
export const noBusinessMetrics: BusinessMetrics = { add: () => undefined };
