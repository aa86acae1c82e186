import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';
import { movableClock } from '../support/movable-clock.ts';

const HOUR = 3600 * 1000;
const DAY = 24 * HOUR;

describe('backup quota, expiry and schedule', () => {
  let runtime: TestRuntime;
  const clock = movableClock();
  let firstId: string;

  beforeAll(async () => {
    runtime = await startTestRuntime({ clock });
  });
  afterAll(async () => {
    await runtime?.destroy();
  });

  it('starts exactly one backup for 50 concurrent requests', async () => {
    const responses = await Promise.all(Array.from({ length: 50 }, () => runtime.api('POST', '/v1/backups')));
    const accepted = responses.filter((response) => response.status === 202);
    expect(accepted).toHaveLength(1);
    expect(responses.filter((response) => response.status === 429)).toHaveLength(49);
    await runtime.idle();
    const { body } = await runtime.api('GET', '/v1/backups');
    expect(body.items).toHaveLength(1);
    expect(body.items[0]).toMatchObject({ id: accepted[0]!.body.id, status: 'SUCCEEDED' });
    firstId = body.items[0].id;
    const { items } = await runtime.deps.audit.list('acme', { limit: 100 });
    expect(items.filter((entry) => entry.action === 'BACKUP_REQUESTED')).toHaveLength(1);
  });

  it('allows the next Enterprise backup once 24 hours have passed', async () => {
    clock.advance(23 * HOUR);
    const refused = await runtime.api('POST', '/v1/backups');
    expect(refused.status).toBe(429);
    // Retry-After counts from the service's clock, not the wall clock: about one hour left.
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(1800);
    expect(retryAfter).toBeLessThanOrEqual(3600);
    clock.advance(HOUR + 1000);
    const second = await runtime.api('POST', '/v1/backups');
    expect(second.status).toBe(202);
    await runtime.idle();
  });

  it('still downloads a backup on day 13, and answers 410 and EXPIRED after 14 days', async () => {
    const { body: backup } = await runtime.api('GET', `/v1/backups/${firstId}`);
    expect((await runtime.api('GET', `/v1/backups/${firstId}/download`)).status).toBe(302);
    clock.advance(Date.parse(backup.expiresAt) - clock.now().getTime() + 1000);
    const download = await runtime.api('GET', `/v1/backups/${firstId}/download`);
    expect(download.status).toBe(410);
    expect(download.body.error.code).toBe('BACKUP_EXPIRED');
    const { body: expired } = await runtime.api('GET', `/v1/backups/${firstId}`);
    expect(expired.status).toBe('EXPIRED');
  });

  it('answers 409 BACKUP_NOT_READY for a backup that has not finished', async () => {
    const started = await runtime.api('POST', '/v1/backups');
    expect(started.status).toBe(202);
    const download = await runtime.api('GET', `/v1/backups/${started.body.id}/download`);
    expect(download.status).toBe(409);
    expect(download.body.error.code).toBe('BACKUP_NOT_READY');
    await runtime.idle();
  });

  it('keeps the schedule setting per account, for super admins only', async () => {
    expect((await runtime.api('GET', '/v1/backup-schedule')).body).toMatchObject({ enabled: false, every: '24 hours' });
    const put = await runtime.api('PUT', '/v1/backup-schedule', { body: { enabled: true } });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ enabled: true, notify: 'admin@acme.example' });
    expect((await runtime.api('GET', '/v1/backup-schedule', { as: 'admin@globex.example' })).body).toMatchObject({ enabled: false, every: '7 days' });
    expect((await runtime.api('PUT', '/v1/backup-schedule', { as: 'user@acme.example', body: { enabled: false } })).status).toBe(403);
    const bad = await runtime.api('PUT', '/v1/backup-schedule', { body: { enabled: 'yes' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('enabled');
  });

  it('starts scheduled backups only for accounts whose schedule is on and whose quota allows', async () => {
    // acme's last backup started moments ago: its quota is spent.
    const waiting = (await runtime.invoke('run-scheduled-backups', { source: 'aws.events' })) as { started: unknown[]; waiting: Array<{ accountId: string }> };
    expect(waiting.started).toEqual([]);
    expect(waiting.waiting.map((entry) => entry.accountId)).toEqual(['acme']);

    clock.advance(DAY + 1000);
    const run = (await runtime.invoke('run-scheduled-backups', { source: 'aws.events' })) as { started: Array<{ accountId: string; backupId: string }> };
    expect(run.started.map((entry) => entry.accountId)).toEqual(['acme']);
    const again = (await runtime.invoke('run-scheduled-backups', { source: 'aws.events' })) as { started: unknown[] };
    expect(again.started).toEqual([]);
    await runtime.idle();

    const { body: scheduled } = await runtime.api('GET', `/v1/backups/${run.started[0]!.backupId}`);
    expect(scheduled).toMatchObject({ status: 'SUCCEEDED', trigger: 'schedule', requestedBy: 'admin@acme.example' });
    const emails = await runtime.outbox();
    expect(emails.some((email) => email.to.includes('admin@acme.example') && email.text.includes(scheduled.id))).toBe(true);
    const { body: globex } = await runtime.api('GET', '/v1/backups', { as: 'admin@globex.example' });
    expect(globex.items).toEqual([]);
  });

  it('pages through the history newest first with the cursor', async () => {
    const { body: all } = await runtime.api('GET', '/v1/backups');
    expect(all.items.length).toBeGreaterThanOrEqual(4);
    const ids: string[] = [];
    let cursor: string | undefined;
    do {
      const { body } = await runtime.api('GET', `/v1/backups?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      ids.push(...body.items.map((backup: { id: string }) => backup.id));
      cursor = body.nextCursor;
    } while (cursor);
    expect(ids).toEqual(all.items.map((backup: { id: string }) => backup.id));
    expect([...ids].sort().reverse()).toEqual(ids);
    expect((await runtime.api('GET', '/v1/backups?cursor=bogus')).status).toBe(400);
  });

  it('stops scheduling an account once its schedule is off, and schedules one turned on', async () => {
    await runtime.api('PUT', '/v1/backup-schedule', { body: { enabled: false } });
    await runtime.api('PUT', '/v1/backup-schedule', { as: 'admin@globex.example', body: { enabled: true } });
    clock.advance(DAY + 1000);
    const run = (await runtime.invoke('run-scheduled-backups', { source: 'aws.events' })) as { started: Array<{ accountId: string }> };
    expect(run.started.map((entry) => entry.accountId)).toEqual(['globex']);
    await runtime.idle();
  });
});
