import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppDeps } from '#runtime/deps.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';
import { bucketKeys } from '../support/stand-ins.ts';

/** Faults the test turns on and off; the real adapters do everything else. */
const faults = { failExportOf: undefined as string | undefined, skipStart: false, failPartRead: false };
const uploaded: string[] = [];

function injectFaults(deps: AppDeps): AppDeps {
  const records = deps.records;
  return {
    ...deps,
    records: Object.assign(Object.create(records) as typeof records, {
      segmentCount: records.segmentCount,
      readSegmentPage: async (...args: Parameters<typeof records.readSegmentPage>) => {
        if (args[1] === faults.failExportOf) throw new Error('simulated disk failure');
        return records.readSegmentPage(...args);
      },
    }),
    blobs: Object.assign(Object.create(deps.blobs) as typeof deps.blobs, {
      read: async (...args: Parameters<typeof deps.blobs.read>) => {
        // Fails the zip step half-way: the second type's parts cannot be read.
        if (faults.failPartRead && args[0].includes('/parts/companies/')) throw new Error('simulated S3 failure');
        return deps.blobs.read(...args);
      },
      upload: (...args: Parameters<typeof deps.blobs.upload>) => {
        uploaded.push(args[0]);
        return deps.blobs.upload(...args);
      },
    }),
    workflows: {
      start: async (...args) => (faults.skipStart ? undefined : deps.workflows.start(...args)),
      describe: (...args) => deps.workflows.describe(...args),
    },
  };
}

describe('a failing backup', () => {
  let runtime: TestRuntime;
  beforeAll(async () => {
    runtime = await startTestRuntime({ wrapDeps: injectFaults });
  });
  afterAll(async () => {
    await runtime?.destroy();
  });

  async function objectsUnder(prefix: string): Promise<string[]> {
    return bucketKeys(runtime, prefix);
  }

  it('is FAILED with a reason, refunds the quota, cleans up and emails once when one export fails', async () => {
    faults.failExportOf = 'deals';
    const started = await runtime.api('POST', '/v1/backups');
    expect(started.status).toBe(202);
    await runtime.idle();
    faults.failExportOf = undefined;

    const { body: backup } = await runtime.api('GET', `/v1/backups/${started.body.id}`);
    expect(backup.status).toBe('FAILED');
    expect(backup.error).toBe('Exporting deals failed: an internal error occurred.');
    expect(backup.error).not.toContain('simulated');
    expect(uploaded.filter((key) => key.startsWith(`backups/acme/${backup.id}/parts/`)).length).toBeGreaterThan(0);
    expect(await objectsUnder(`backups/acme/${backup.id}/`)).toEqual([]);

    const emails = (await runtime.outbox()).filter((email) => email.text.includes(backup.id));
    expect(emails).toHaveLength(1);
    expect(emails[0]).toMatchObject({ to: ['admin@acme.example'], subject: expect.stringContaining('failed') });
    expect(emails[0]!.text).toContain('Exporting deals failed');
    const { items } = await runtime.deps.audit.list('acme', { limit: 50 });
    expect(items.filter((entry) => entry.action === 'BACKUP_FAILED' && entry.resourceId === backup.id)).toHaveLength(1);
    expect((await runtime.api('GET', `/v1/backups/${backup.id}/download`)).status).toBe(409);

    // The quota was given back: the next request is accepted and succeeds.
    const retry = await runtime.api('POST', '/v1/backups');
    expect(retry.status).toBe(202);
    await runtime.idle();
    expect((await runtime.api('GET', `/v1/backups/${retry.body.id}`)).body.status).toBe('SUCCEEDED');
  });

  it("does not refund a newer backup's quota claim when an old failure is handled again", async () => {
    const { body: list } = await runtime.api('GET', '/v1/backups');
    const failed = list.items.find((backup: { status: string }) => backup.status === 'FAILED');
    await runtime.invoke('fail-backup', { accountId: 'acme', backupId: failed.id, failure: { Error: 'States.ALL', Cause: '' } });
    expect((await runtime.api('POST', '/v1/backups')).status).toBe(429);
  });

  it('fails cleanly, without hanging, when the zip step cannot read a part', async () => {
    faults.failPartRead = true;
    const started = await runtime.api('POST', '/v1/backups', { as: 'admin@globex.example' });
    expect(started.status).toBe(202);
    await runtime.idle();
    faults.failPartRead = false;
    const { body: backup } = await runtime.api('GET', `/v1/backups/${started.body.id}`, { as: 'admin@globex.example' });
    expect(backup).toMatchObject({ status: 'FAILED', error: 'Zipping the exported files failed: an internal error occurred.' });
    expect(await objectsUnder(`backups/globex/${backup.id}/`)).toEqual([]);
  });

  it('handles an execution that ended without reaching the Catch (status-change rule)', async () => {
    faults.skipStart = true;
    const started = await runtime.api('POST', '/v1/backups', { as: 'admin@globex.example' });
    faults.skipStart = false;
    expect(started.status).toBe(202);
    const event = {
      source: 'aws.states',
      'detail-type': 'Step Functions Execution Status Change',
      detail: {
        name: started.body.id,
        status: 'TIMED_OUT',
        input: JSON.stringify({ accountId: 'globex', backupId: started.body.id }),
        output: null,
        error: 'States.Timeout',
        cause: null,
      },
    };
    await runtime.invoke('fail-backup', event);
    await runtime.invoke('fail-backup', event);
    const { body: backup } = await runtime.api('GET', `/v1/backups/${started.body.id}`, { as: 'admin@globex.example' });
    expect(backup).toMatchObject({ status: 'FAILED', error: 'The backup took longer than the time allowed and was stopped.' });
    expect((await runtime.outbox()).filter((email) => email.text.includes(backup.id))).toHaveLength(1);
    expect((await runtime.api('POST', '/v1/backups', { as: 'admin@globex.example' })).status).toBe(202);
    await runtime.idle();
  });
});
