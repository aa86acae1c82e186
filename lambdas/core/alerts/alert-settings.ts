import type { Caller } from '../caller.ts';
import { requireSuperAdmin } from '../caller.ts';
import type { AlertSettings, StoredAlertSettings } from '../alert-model.ts';
import type { AlertDeps } from './alert-deps.ts';
import { settingsInForce } from './alert-policy.ts';

/** What GET and PUT /v1/alert-settings answer: the settings in force, and who changed them last. */
export type AlertSettingsView = AlertSettings & Pick<StoredAlertSettings, 'updatedAt' | 'updatedBy'>;

/** GET /v1/alert-settings: the account's thresholds (the defaults until a super admin changes them). */
export async function readAlertSettings(caller: Caller, deps: Pick<AlertDeps, 'alertSettings'>): Promise<AlertSettingsView> {
  requireSuperAdmin(caller);
  const stored = await deps.alertSettings.getAlertSettings(caller.accountId);
  return { ...settingsInForce(stored), ...(stored?.updatedAt ? { updatedAt: stored.updatedAt, updatedBy: stored.updatedBy } : {}) };
}

/**
 * PUT /v1/alert-settings: replaces the account's thresholds, or turns alerts off.
 *
 * Primary course: 1. super admins only. 2. store them, with who and when. 3. audit the
 * change with the old and new values (turning alerts off is worth knowing about).
 */
export async function changeAlertSettings(caller: Caller, settings: AlertSettings, deps: Pick<AlertDeps, 'alertSettings' | 'audit' | 'clock' | 'ids'>): Promise<AlertSettingsView> {
  requireSuperAdmin(caller);
  const before = settingsInForce(await deps.alertSettings.getAlertSettings(caller.accountId));
  const now = deps.clock.now().toISOString();
  const by = caller.email || caller.userId;
  const stored: StoredAlertSettings = { ...settings, accountId: caller.accountId, updatedAt: now, updatedBy: by };
  await deps.alertSettings.putAlertSettings(stored);
  await deps.audit.append({
    id: deps.ids.next('au'),
    accountId: caller.accountId,
    action: 'ALERT_SETTINGS_CHANGED',
    actor: by,
    occurredAt: now,
    summary: settings.enabled
      ? `Changed the anomaly alerts: removals over ${settings.removedRecords.percent}% and at least ${settings.removedRecords.atLeast}, one property changed on over ${settings.changedProperty.percent}% and at least ${settings.changedProperty.atLeast}${settings.emptiedType ? ', a type emptied' : ''}.`
      : 'Turned anomaly alerts off.',
    details: { before, after: settings },
  });
  return { ...settings, updatedAt: now, updatedBy: by };
}
