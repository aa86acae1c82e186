import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnomalyEvent } from '#core/alert-model.ts';
import type { AppDeps } from '#runtime/deps.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';
import { movableClock } from '../support/movable-clock.ts';

const ADMIN = 'admin@acme.example';
const QUOTA_PERIOD_MS = 8 * 24 * 3_600_000;

/**
 * What went on the event bus (the local runtime has none: this records what the check
 * publishes), and a fault: comparisons cannot be created while `failComparisons` is set.
 */
const seen: { anomalies: AnomalyEvent[]; failComparisons: boolean } = { anomalies: [], failComparisons: false };

function observed(deps: AppDeps): AppDeps {
  const events = Object.create(deps.events) as typeof deps.events;
  events.publishAnomaly = async (event) => {
    seen.anomalies.push(event);
    await deps.events.publishAnomaly(event);
  };
  const comparisons = Object.create(deps.comparisons) as typeof deps.comparisons;
  comparisons.createComparison = async (...args) => {
    if (seen.failComparisons) throw new Error('Injected: the comparison could not be saved');
    return deps.comparisons.createComparison(...args);
  };
  return { ...deps, events, comparisons };
}

describe('anomaly alerts after each backup', () => {
  let runtime: TestRuntime;
  const clock = movableClock();
  const backups: string[] = [];

  const backup = async () => {
    clock.advance(QUOTA_PERIOD_MS);
    const requested = await runtime.api('POST', '/v1/backups', { as: ADMIN });
    expect(requested.status).toBe(202);
    await runtime.idle();
    const done = await runtime.api('GET', `/v1/backups/${requested.body.id}`, { as: ADMIN });
    expect(done.body.status).toBe('SUCCEEDED');
    backups.push(requested.body.id);
    return done.body;
  };
  const alertEmails = async () => (await runtime.outbox()).filter((email) => email.subject.startsWith('Unusual changes'));
  const anomalyAudits = async () =>
    ((await runtime.api('GET', '/v1/audit-log?limit=100', { as: ADMIN })).body.items as Array<{ action: string; resourceId: string }>).filter(
      (entry) => entry.action === 'ANOMALY_DETECTED',
    );

  beforeAll(async () => {
    runtime = await startTestRuntime({ clock, wrapDeps: observed });
  }, 60_000);

  afterAll(async () => {
    await runtime?.destroy();
  });

  it('skips the account\'s first backup: there is nothing to compare it with', async () => {
    const first = await backup();
    expect(first.anomalyCheck).toMatchObject({ status: 'SKIPPED', reason: expect.stringContaining('no earlier backup') });
  });

  it('lets super admins read and set the thresholds, and nobody else', async () => {
    const defaults = await runtime.api('GET', '/v1/alert-settings', { as: ADMIN });
    expect(defaults.status).toBe(200);
    expect(defaults.body).toEqual({ enabled: true, removedRecords: { percent: 5, atLeast: 100 }, changedProperty: { percent: 20, atLeast: 500 }, emptiedType: true });

    // 40 deals a type here: a floor of 10 records makes a mass deletion of 15 count.
    const settings = { enabled: true, removedRecords: { percent: 5, atLeast: 10 }, changedProperty: { percent: 20, atLeast: 500 }, emptiedType: true };
    const changed = await runtime.api('PUT', '/v1/alert-settings', { as: ADMIN, body: settings });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ ...settings, updatedBy: ADMIN });
    expect((await runtime.api('GET', '/v1/alert-settings', { as: ADMIN })).body).toMatchObject(settings);

    expect((await runtime.api('GET', '/v1/alert-settings', { as: 'user@acme.example' })).status).toBe(403);
    expect((await runtime.api('PUT', '/v1/alert-settings', { as: 'user@acme.example', body: settings })).status).toBe(403);
    const invalid = await runtime.api('PUT', '/v1/alert-settings', { as: ADMIN, body: { ...settings, removedRecords: { percent: 150, atLeast: 10 } } });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.message).toContain('removedRecords');
    // Another account keeps its own (the defaults).
    expect((await runtime.api('GET', '/v1/alert-settings', { as: 'admin@globex.example' })).body.removedRecords).toEqual({ percent: 5, atLeast: 100 });
  });

  it('a backup with no unusual change is CLEAR, and raises nothing', async () => {
    const clear = await backup();
    expect(clear.anomalyCheck).toMatchObject({ status: 'CLEAR', previousBackupId: backups[0] });
    expect(await alertEmails()).toEqual([]);
  });

  it('a mass deletion followed by a backup raises exactly one alert: email, audit entry, event and badge', async () => {
    const deals = (await runtime.api('GET', '/v1/objects/deals/records?limit=40', { as: ADMIN })).body.items as Array<{ id: string }>;
    for (const deal of deals.slice(0, 15)) expect((await runtime.api('DELETE', `/v1/objects/deals/records/${deal.id}`, { as: ADMIN })).status).toBe(204);

    const alerted = await backup();
    expect(alerted.anomalyCheck).toMatchObject({ status: 'ALERTED', previousBackupId: backups[1], alertedAt: expect.any(String) });
    expect(alerted.anomalyCheck.findings).toEqual([{ kind: 'RECORDS_REMOVED', objectType: 'deals', removed: 15, before: 40, comparisonId: expect.stringMatching(/^cmp_/) }]);
    // The badge is in the history too.
    const history = (await runtime.api('GET', '/v1/backups', { as: ADMIN })).body.items as Array<{ id: string; anomalyCheck?: { status: string } }>;
    expect(history.find((item) => item.id === alerted.id)?.anomalyCheck?.status).toBe('ALERTED');

    const emails = await alertEmails();
    expect(emails).toHaveLength(1);
    expect(emails[0]!.to).toEqual(['admin@acme.example', 'sso-admin@acme.example']);
    expect(emails[0]!.text).toContain('15');
    expect(emails[0]!.text).toContain(`/backups/${backups[1]}/compare?`);

    const audits = await anomalyAudits();
    expect(audits).toHaveLength(1);
    expect(audits[0]!.resourceId).toBe(alerted.id);

    expect(seen.anomalies).toHaveLength(1);
    expect(seen.anomalies[0]).toMatchObject({ accountId: 'acme', backupId: alerted.id, previousBackupId: backups[1], findings: alerted.anomalyCheck.findings });

    // The alert's link opens the comparison it counted.
    const shown = await runtime.api('GET', `/v1/backups/${backups[1]}/compare?with=${alerted.id}&objectType=deals`, { as: ADMIN });
    expect(shown.body).toMatchObject({ id: alerted.anomalyCheck.findings[0].comparisonId, removed: 15, added: 0 });
  });

  it('a failed check leaves the backup SUCCEEDED and downloadable, and marks only the check', async () => {
    seen.failComparisons = true;
    try {
      const checked = await backup();
      expect(checked.status).toBe('SUCCEEDED');
      expect(checked.anomalyCheck).toMatchObject({ status: 'FAILED', reason: expect.stringContaining('The backup itself is complete') });
      expect((await runtime.api('GET', `/v1/backups/${checked.id}/download?redirect=false`, { as: ADMIN })).status).toBe(200);
    } finally {
      seen.failComparisons = false;
    }
    expect(await alertEmails()).toHaveLength(1);
  });

  it('turned off, no check runs', async () => {
    const off = { enabled: false, removedRecords: { percent: 5, atLeast: 10 }, changedProperty: { percent: 20, atLeast: 500 }, emptiedType: true };
    expect((await runtime.api('PUT', '/v1/alert-settings', { as: ADMIN, body: off })).status).toBe(200);
    const deals = (await runtime.api('GET', '/v1/objects/deals/records?limit=40', { as: ADMIN })).body.items as Array<{ id: string }>;
    for (const deal of deals.slice(0, 20)) await runtime.api('DELETE', `/v1/objects/deals/records/${deal.id}`, { as: ADMIN });
    const skipped = await backup();
    expect(skipped.anomalyCheck).toMatchObject({ status: 'SKIPPED', reason: 'Anomaly alerts are off for this account.' });
    expect(await alertEmails()).toHaveLength(1);
    expect(seen.anomalies).toHaveLength(1);
  });
});
