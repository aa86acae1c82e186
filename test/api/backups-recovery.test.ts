import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOT_STARTED_REASON, START_GRACE_MS } from '#core/backups/stale-backups.ts';
import type { AppDeps } from '#runtime/deps.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';
import { movableClock } from '../support/movable-clock.ts';
import { stuckBackup } from '../support/stuck-backup.ts';

const HOUR = 3600 * 1000;

/** Holds every backup execution in its first step while `held` is set: a backup that genuinely runs. */
const gate = { held: undefined as Promise<void> | undefined, release: () => {} };

function holdFirstStep(deps: AppDeps): AppDeps {
  const records = deps.records;
  return {
    ...deps,
    records: Object.assign(Object.create(records) as typeof records, {
      segmentCount: records.segmentCount,
      listObjectTypes: async (...args: Parameters<typeof records.listObjectTypes>) => {
        if (gate.held) await gate.held;
        return records.listObjectTypes(...args);
      },
    }),
  };
}

describe('recovery from a crashed backup start', () => {
  let runtime: TestRuntime;
  const clock = movableClock();

  beforeAll(async () => {
    runtime = await startTestRuntime({ clock, wrapDeps: holdFirstStep });
  });
  afterAll(async () => {
    gate.release();
    await runtime?.destroy();
  });

  it('takes over a claim whose request died before storing its backup: 429 within the grace period, then one 202 among 20', async () => {
    // The request Lambda claimed the quota and was killed before anything else.
    const now = clock.now();
    await runtime.deps.backups.claimQuota('acme', { backupId: 'bk_ghost', now: now.toISOString(), nextAllowedAt: new Date(now.getTime() + 24 * HOUR).toISOString() });
    clock.advance(START_GRACE_MS - 60_000);
    const early = await runtime.api('POST', '/v1/backups');
    expect(early.status).toBe(429);
    // Retry-After names the claim's real end (nobody can tell a crash from a slow start
    // yet); the body says the claim is still starting and when it lapses if it never starts.
    expect(Number(early.headers.get('retry-after'))).toBeCloseTo((24 * HOUR - (START_GRACE_MS - 60_000)) / 1000, -1);
    expect(early.body.error.claimInProgress.backupId).toBe('bk_ghost');
    expect(Date.parse(early.body.error.claimInProgress.expiresAt)).toBe(now.getTime() + START_GRACE_MS);

    clock.advance(60_000);
    const responses = await Promise.all(Array.from({ length: 20 }, () => runtime.api('POST', '/v1/backups')));
    const accepted = responses.filter((response) => response.status === 202);
    expect(accepted).toHaveLength(1);
    expect(responses.filter((response) => response.status === 429)).toHaveLength(19);
    await runtime.idle();
    const { body } = await runtime.api('GET', '/v1/backups');
    expect(body.items.map((backup: { id: string; status: string }) => [backup.id, backup.status])).toEqual([[accepted[0]!.body.id, 'SUCCEEDED']]);
    // The new backup holds the quota now, for a full period.
    expect((await runtime.api('POST', '/v1/backups')).status).toBe(429);
  });

  it('fails a QUEUED backup whose request was killed before StartExecution, then starts exactly one backup among 20 requests and 2 scheduler runs', async () => {
    clock.advance(25 * HOUR);
    expect((await runtime.api('PUT', '/v1/backup-schedule', { body: { enabled: true } })).status).toBe(200);
    // A request killed mid-flight: claim and QUEUED item written, StartExecution never returns.
    const stuckId = await stuckBackup(runtime);

    expect((await runtime.api('POST', '/v1/backups')).status).toBe(429);
    const waiting = (await runtime.invoke('run-scheduled-backups', { source: 'aws.events' })) as { started: unknown[]; recovered: unknown[] };
    expect(waiting).toMatchObject({ started: [], recovered: [] });

    clock.advance(START_GRACE_MS);
    const [responses, ...runs] = await Promise.all([
      Promise.all(Array.from({ length: 20 }, () => runtime.api('POST', '/v1/backups'))),
      runtime.invoke('run-scheduled-backups', { source: 'aws.events' }) as Promise<{ started: Array<{ backupId: string }> }>,
      runtime.invoke('run-scheduled-backups', { source: 'aws.events' }) as Promise<{ started: Array<{ backupId: string }> }>,
    ]);
    const accepted = responses.filter((response) => response.status === 202).map((response) => response.body.id as string);
    const scheduled = runs.flatMap((run) => run.started.map((entry) => entry.backupId));
    expect([...accepted, ...scheduled]).toHaveLength(1);
    expect(responses.filter((response) => response.status === 429)).toHaveLength(20 - accepted.length);
    await runtime.idle();

    const { body: failed } = await runtime.api('GET', `/v1/backups/${stuckId}`);
    expect(failed).toMatchObject({ status: 'FAILED', error: NOT_STARTED_REASON });
    expect((await runtime.api('GET', `/v1/backups/${stuckId}/download`)).status).toBe(409);
    const emails = (await runtime.outbox()).filter((email) => email.text.includes(stuckId));
    // The take-overs and the sweeps all fail it; the one whose claim of the announcement lands emails.
    expect(emails).toHaveLength(1);
    expect(emails[0]!.text).toContain('could not be started');
    const { body: started } = await runtime.api('GET', `/v1/backups/${[...accepted, ...scheduled][0]}`);
    expect(started.status).toBe('SUCCEEDED');
    await runtime.api('PUT', '/v1/backup-schedule', { body: { enabled: false } });
  });

  it('never takes over a backup whose execution is still running, however long it takes', async () => {
    clock.advance(25 * HOUR);
    gate.held = new Promise((resolve) => (gate.release = resolve));
    const running = await runtime.api('POST', '/v1/backups');
    expect(running.status).toBe(202);
    clock.advance(2 * HOUR);
    const refused = await Promise.all(Array.from({ length: 5 }, () => runtime.api('POST', '/v1/backups')));
    expect(refused.map((response) => response.status)).toEqual([429, 429, 429, 429, 429]);
    await runtime.api('PUT', '/v1/backup-schedule', { body: { enabled: true } });
    const run = (await runtime.invoke('run-scheduled-backups', { source: 'aws.events' })) as { started: unknown[]; recovered: unknown[] };
    expect(run).toMatchObject({ started: [], recovered: [] });
    await runtime.api('PUT', '/v1/backup-schedule', { body: { enabled: false } });

    gate.held = undefined;
    gate.release();
    await runtime.idle();
    const { body } = await runtime.api('GET', `/v1/backups/${running.body.id}`);
    expect(body.status).toBe('SUCCEEDED');
    expect((await runtime.api('GET', `/v1/backups/${running.body.id}/download`)).status).toBe(302);
  });
});
