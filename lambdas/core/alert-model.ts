/**
 * The shapes of anomaly alerts: an account's thresholds, what a check after a backup
 * found, and the check's outcome as the backup keeps it (its badge in the history).
 */

/** A share of records and a floor: both must be passed (a 5% drop of 40 records is not an alert). */
export interface Threshold {
  /** Percent of the records, 0–100: exceeded means strictly more. */
  percent: number;
  /** At least this many records. */
  atLeast: number;
}

/** An account's alert thresholds (GET/PUT /v1/alert-settings). */
export interface AlertSettings {
  /** Off: no check runs after backups. */
  enabled: boolean;
  /** Records of a type in the previous backup that are gone from the new one. */
  removedRecords: Threshold;
  /** Records on which one property changed, of those in both backups. */
  changedProperty: Threshold;
  /** A type that had records and has none now. */
  emptiedType: boolean;
}

/** Settings as stored: who changed them last, and when (absent: the defaults were never changed). */
export interface StoredAlertSettings extends AlertSettings {
  accountId: string;
  updatedAt?: string;
  updatedBy?: string;
}

/** The defaults of issue 16: removals over 5% and at least 100; one property over 20% and at least 500; a type emptied. */
export const DEFAULT_ALERT_SETTINGS: AlertSettings = {
  enabled: true,
  removedRecords: { percent: 5, atLeast: 100 },
  changedProperty: { percent: 20, atLeast: 500 },
  emptiedType: true,
};

/** One thing a check found, with the numbers, and the comparison that shows it. */
export type AnomalyFinding =
  | { kind: 'RECORDS_REMOVED'; objectType: string; removed: number; before: number; comparisonId: string }
  | { kind: 'PROPERTY_CHANGED'; objectType: string; property: string; changed: number; compared: number; comparisonId: string }
  | { kind: 'TYPE_EMPTIED'; objectType: string; before: number; comparisonId: string };

/**
 * The check of a backup against the account's previous one. CHECKING while it runs;
 * CLEAR (nothing found), ALERTED (findings; admins told), SKIPPED (alerts off, or no
 * earlier backup to compare with), FAILED (the check, never the backup).
 */
export interface AnomalyCheck {
  status: 'CHECKING' | 'CLEAR' | 'ALERTED' | 'SKIPPED' | 'FAILED';
  previousBackupId?: string;
  findings?: AnomalyFinding[];
  /** When it ended. */
  checkedAt?: string;
  /** SKIPPED or FAILED: why, in words. */
  reason?: string;
  /** ALERTED: when the email, audit entry and event went out (absent while they are being sent). */
  alertedAt?: string;
}

/** The event put on the bus (`crm-backup.anomaly`): what was found, and where to look. */
export interface AnomalyEvent {
  accountId: string;
  backupId: string;
  previousBackupId: string;
  findings: AnomalyFinding[];
  /** The app's page of each finding's comparison. */
  links: string[];
  detectedAt: string;
}
