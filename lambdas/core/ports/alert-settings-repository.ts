import type { StoredAlertSettings } from '../alert-model.ts';

/** Each account's alert thresholds (DynamoDB app table, `ACCOUNT#<id>` / `ALERT_SETTINGS`). */
export interface AlertSettingsRepository {
  /** The account's settings, or undefined when they were never changed (the defaults apply). */
  getAlertSettings(accountId: string): Promise<StoredAlertSettings | undefined>;
  putAlertSettings(settings: StoredAlertSettings): Promise<void>;
}
