import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOT_STARTED_REASON, START_GRACE_MS } from '#core/backups/stale-backups.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';
import { movableClock } from '../support/movable-clock.ts';
import { stuckBackup } from '../support/stuck-backup.ts';

const clock = movableClock();

describe('failing a stuck backup from several places at once', () => {
  let runtime: TestRuntime;

  beforeAll(async () => {
    runtime = await startTestRuntime({ clock });
  });
  afterAll(async () => {
    await runtime?.destroy();
  });

  it('sends one failure email and one audit entry when the scheduler sweep, a take-over and two failure steps race', async () => {
    expect((await runtime.api('PUT', '/v1/backup-schedule', { body: { enabled: true } })).status).toBe(200);
    const stuckId = await stuckBackup(runtime);
    clock.advance(START_GRACE_MS + 1000);

    const failureStep = { accountId: 'acme', backupId: stuckId, failure: { Error: 'StepFailedError', Cause: JSON.stringify({ errorType: 'StepFailedError', errorMessage: NOT_STARTED_REASON }) } };
    const [takeOver] = await Promise.all([
      runtime.api('POST', '/v1/backups'),
      runtime.invoke('run-scheduled-backups', { source: 'aws.events' }),
      runtime.invoke('fail-backup', failureStep),
      runtime.invoke('fail-backup', failureStep),
    ]);
    expect([202, 429]).toContain(takeOver.status);
    await runtime.idle();

    expect((await runtime.api('GET', `/v1/backups/${stuckId}`)).body).toMatchObject({ status: 'FAILED', error: NOT_STARTED_REASON });
    const emails = (await runtime.outbox()).filter((email) => email.text.includes(stuckId));
    expect(emails).toHaveLength(1);
    const audit = (await runtime.api('GET', '/v1/audit-log?limit=500')).body.items as Array<{ action: string; resourceId: string }>;
    expect(audit.filter((entry) => entry.action === 'BACKUP_FAILED' && entry.resourceId === stuckId)).toHaveLength(1);
    // The quota went back once, and exactly one new backup took it.
    const started = (await runtime.api('GET', '/v1/backups')).body.items.filter((backup: { id: string }) => backup.id !== stuckId);
    expect(started.map((backup: { status: string }) => backup.status)).toEqual(['SUCCEEDED']);
    await runtime.api('PUT', '/v1/backup-schedule', { body: { enabled: false } });
  });
});
