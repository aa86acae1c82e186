import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransientError } from '#core/errors.ts';
import { LOCK_LEASE_MS } from '#core/restores/restore-policy.ts';
import type { AppDeps } from '#runtime/deps.ts';
import { verifyBackupZip } from '../../cli/verify-zip.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';
import { ACKNOWLEDGE, ACME_ADMIN, ACME_SSO_ADMIN, allRecords, dataPlaneHash, movableClock, bucketKeys, readAll } from './support.ts';

const DAY = 24 * 3_600_000;
const clock = movableClock();
const { advance } = clock;

/** One fault at a time, switched on by a test; `injected` counts the faults that fired. */
interface Faults {
  /** readSegmentPage throws (non-retryable) once this many rows have been read. */
  exportDiesAfterRows?: number;
  /**
   * A part upload (or part copy) of the zip's multipart assembly "dies" after this many
   * bytes; `transient` makes it retryable.
   */
  zipUploadDies?: { afterBytes: number; times: number; transient: boolean };
  /** Each named port method throws TransientError (throttling) for its first K calls. */
  throttle?: Record<string, number>;
  /** saveSegmentProgress throws (non-retryable) once this many restore progress saves succeeded. */
  restoreDiesAfterSaves?: number;
}
let faults: Faults = {};
const tally = { injected: 0, rowsRead: 0, saves: 0 };

function throttled(name: string): void {
  const left = faults.throttle?.[name];
  if (left !== undefined && left > 0) {
    faults.throttle![name] = left - 1;
    tally.injected += 1;
    throw new TransientError(`injected: ${name} throttled`);
  }
}

/** Wraps a port so each listed method first passes through `before`, then reaches the real adapter. */
function around<T extends object>(port: T, name: string, methods: Record<string, (...args: any[]) => Promise<unknown>>): T {
  const wrapped = Object.create(port) as T;
  for (const [method, replacement] of Object.entries(methods)) {
    (wrapped as Record<string, unknown>)[method] = async (...args: unknown[]) => {
      throttled(`${name}.${method}`);
      return replacement(...args);
    };
  }
  return wrapped;
}

function injectFaults(deps: AppDeps): AppDeps {
  const { records, blobs, restores, backups, zipAssembly } = deps;
  /** The zip is assembled part by part (UploadPart/UploadPartCopy): the connection dies in one of them. */
  const zipPartDies = (key: string) => {
    const dies = faults.zipUploadDies;
    if (!dies || dies.times <= 0 || !key.endsWith('.zip')) return;
    dies.times -= 1;
    tally.injected += 1;
    // S3 keeps no part whose request died: however far it got (`afterBytes`), nothing of it is stored.
    throw dies.transient ? new TransientError('injected: connection reset during the zip upload') : new Error('injected: the zip upload died');
  };
  return {
    ...deps,
    config: { ...deps.config, restoreTuning: { segmentRecords: 15, batchRecords: 6 } },
    records: around(records, 'records', {
      readSegmentPage: async (...args: Parameters<typeof records.readSegmentPage>) => {
        const page = await records.readSegmentPage(...args);
        if (faults.exportDiesAfterRows !== undefined) {
          tally.rowsRead += page.records.length;
          if (tally.rowsRead > faults.exportDiesAfterRows) {
            tally.injected += 1;
            throw new Error('injected: the table read died');
          }
        }
        return page;
      },
      updateRecord: (...args: Parameters<typeof records.updateRecord>) => records.updateRecord(...args),
      getStampedRecords: (...args: Parameters<typeof records.getStampedRecords>) => records.getStampedRecords(...args),
      appendChangeEvents: (...args: Parameters<typeof records.appendChangeEvents>) => records.appendChangeEvents(...args),
    }),
    blobs: around(blobs, 'blobs', {
      upload: (...args: Parameters<typeof blobs.upload>) => blobs.upload(...args),
      read: (...args: Parameters<typeof blobs.read>) => blobs.read(...args),
    }),
    zipAssembly: around(zipAssembly, 'zipAssembly', {
      uploadPart: async (...args: Parameters<typeof zipAssembly.uploadPart>) => {
        zipPartDies(args[0]);
        return zipAssembly.uploadPart(...args);
      },
      copyPart: async (...args: Parameters<typeof zipAssembly.copyPart>) => {
        zipPartDies(args[0]);
        return zipAssembly.copyPart(...args);
      },
    }),
    backups: around(backups, 'backups', {
      setObjectProgress: (...args: Parameters<typeof backups.setObjectProgress>) => backups.setObjectProgress(...args),
      updateBackup: (...args: Parameters<typeof backups.updateBackup>) => backups.updateBackup(...args),
    }),
    restores: around(restores, 'restores', {
      saveSegmentProgress: async (...args: Parameters<typeof restores.saveSegmentProgress>) => {
        if (faults.restoreDiesAfterSaves !== undefined && tally.saves >= faults.restoreDiesAfterSaves) {
          tally.injected += 1;
          throw new Error('injected: the progress write died');
        }
        const saved = await restores.saveSegmentProgress(...args);
        tally.saves += 1;
        return saved;
      },
    }),
  };
}

describe('injected faults', () => {
  let runtime: TestRuntime;
  let dir: string;
  const seen: string[] = [];

  beforeAll(async () => {
    runtime = await startTestRuntime({ clock, wrapDeps: injectFaults });
    dir = await mkdtemp(join(tmpdir(), 'crm-backup-faults-'));
  });
  afterAll(async () => {
    faults = {};
    await runtime?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Runs one backup of acme with `fault` switched on; answers the backup when its workflow ended. */
  async function backupWith(fault: Faults) {
    advance(DAY + 60_000); // a fresh Enterprise quota window
    tally.rowsRead = 0;
    faults = fault;
    try {
      const requested = await runtime.api('POST', '/v1/backups', { as: ACME_ADMIN });
      expect(requested.status, JSON.stringify(requested.body)).toBe(202);
      await runtime.idle();
      return (await runtime.api('GET', `/v1/backups/${requested.body.id}`, { as: ACME_ADMIN })).body;
    } finally {
      faults = {};
    }
  }

  /** A failed backup: a clear reason, nothing downloadable or left in the bucket, and the quota back. */
  async function expectCleanFailure(backup: { id: string; status: string; error?: string }, reason: RegExp) {
    expect(backup.status).toBe('FAILED');
    expect(backup.error).toMatch(reason);
    expect(backup.error).not.toMatch(/injected|\n\s+at /);
    const download = await runtime.api('GET', `/v1/backups/${backup.id}/download?redirect=false`, { as: ACME_ADMIN });
    expect(download.status).toBe(409);
    expect(download.body.error.code).toBe('BACKUP_NOT_READY');
    expect(await bucketKeys(runtime, `backups/acme/${backup.id}/`)).toEqual([]);
    const audit = (await runtime.api('GET', '/v1/audit-log?limit=100', { as: ACME_ADMIN })).body.items;
    expect(audit.some((entry: { action: string; resourceId?: string }) => entry.action === 'BACKUP_FAILED' && entry.resourceId === backup.id)).toBe(true);
    // Quota refunded: the next backup starts at once, without moving the clock, and is exact.
    const rerun = await runtime.api('POST', '/v1/backups', { as: ACME_ADMIN });
    expect(rerun.status, JSON.stringify(rerun.body)).toBe(202);
    await runtime.idle();
    await expectExactBackup(rerun.body.id);
  }

  /** A SUCCEEDED backup whose zip verifies and holds exactly the data plane's record counts. */
  async function expectExactBackup(backupId: string) {
    const backup = (await runtime.deps.backups.getBackup('acme', backupId))!;
    expect(backup.status, backup.error).toBe('SUCCEEDED');
    const file = join(dir, `${backupId}.zip`);
    await writeFile(file, await readAll(await runtime.deps.blobs.read(backup.zipKey!)));
    const report = await verifyBackupZip(file);
    expect(report.problems).toEqual([]);
    for (const type of await runtime.deps.records.listObjectTypes('acme')) {
      const inZip = report.files.find((candidate) => candidate.objectType === type.name);
      expect(inZip?.records ?? 0, type.name).toBe(type.records);
    }
    // Only the zip is left: no part files.
    expect(await bucketKeys(runtime, `backups/acme/${backupId}/`)).toEqual([backup.zipKey]);
  }

  it('fails a backup whose export dies after 150 rows: FAILED with a reason, quota refunded, no zip; the rerun is exact', async () => {
    const before = tally.injected;
    const backup = await backupWith({ exportDiesAfterRows: 150 });
    expect(tally.injected).toBeGreaterThan(before);
    seen.push('export dies after N rows');
    await expectCleanFailure(backup, /^Exporting \w+ failed/);
  });

  it('fails a backup whose zip upload dies mid-stream: no partial zip downloadable, quota refunded; the rerun is exact', async () => {
    const backup = await backupWith({ zipUploadDies: { afterBytes: 4096, times: 99, transient: false } });
    seen.push('zip upload dies');
    await expectCleanFailure(backup, /Zipping the exported files failed/);
  });

  it('retries a zip upload that died with a connection reset, and succeeds with an exact zip', async () => {
    const backup = await backupWith({ zipUploadDies: { afterBytes: 4096, times: 2, transient: true } });
    seen.push('zip upload reset, retried');
    await expectExactBackup(backup.id);
  });

  it('retries throttled reads, writes and uploads of a backup and ends SUCCEEDED with an exact zip', async () => {
    const before = tally.injected;
    const backup = await backupWith({
      throttle: { 'records.readSegmentPage': 3, 'blobs.upload': 3, 'blobs.read': 2, 'backups.setObjectProgress': 2, 'backups.updateBackup': 2 },
    });
    expect(tally.injected - before).toBe(12);
    seen.push('backup throttled');
    await expectExactBackup(backup.id);
  });

  describe('restores', () => {
    let backupId: string;
    let backedUp: Map<string, { properties: Record<string, string> }>;

    /** Changes `count` tasks after the backup, plans restoring hs_task_status, and answers the plan id. */
    async function changeAndPlan(from: number, count: number): Promise<{ planId: string; changed: string[] }> {
      const ids = [...backedUp.keys()].sort();
      const changed = ids.slice(from, from + count);
      for (const id of changed) {
        const response = await runtime.api('PATCH', `/v1/objects/tasks/records/${id}`, { as: ACME_SSO_ADMIN, body: { properties: { hs_task_status: `edited ${from} ${id}` } } });
        expect(response.status).toBe(200);
      }
      const planned = await runtime.api('POST', `/v1/backups/${backupId}/restore-plans`, { as: ACME_SSO_ADMIN, body: { objectType: 'tasks', properties: ['hs_task_status'] } });
      expect(planned.status, JSON.stringify(planned.body)).toBe(201);
      expect(planned.body.recordsToChange).toBe(count);
      return { planId: planned.body.id, changed };
    }

    async function restore(planId: string) {
      const started = await runtime.api('POST', '/v1/restores', { as: ACME_SSO_ADMIN, body: { planId, acknowledge: ACKNOWLEDGE } });
      expect(started.status, JSON.stringify(started.body)).toBe(202);
      await runtime.idle();
      return (await runtime.api('GET', `/v1/restores/${started.body.id}`, { as: ACME_SSO_ADMIN })).body;
    }

    /** Every task holds its backed-up status, and no record has two change events from one restore. */
    async function expectRestoredOnce(changed: string[]) {
      const today = await allRecords(runtime, 'acme', 'tasks');
      for (const [id, record] of backedUp) expect(today.get(id)!.properties.hs_task_status, id).toBe(record.properties.hs_task_status);
      for (const id of changed) {
        const events = (await runtime.deps.records.listChangeEvents('acme', { recordId: id, limit: 100 })).items.filter((event) => event.source === 'RESTORE');
        const perRestore = new Map<string, number>();
        for (const event of events) perRestore.set(event.restoreId!, (perRestore.get(event.restoreId!) ?? 0) + 1);
        expect([...perRestore.values()].every((count) => count === 1), `${id}: ${JSON.stringify([...perRestore])}`).toBe(true);
        expect(perRestore.size, `${id} has a RESTORE change event`).toBeGreaterThanOrEqual(1);
      }
      expect(await runtime.deps.lock.get('acme')).toBeUndefined();
    }

    beforeAll(async () => {
      advance(DAY + 60_000);
      const requested = await runtime.api('POST', '/v1/backups', { as: ACME_ADMIN });
      backupId = requested.body.id;
      await runtime.idle();
      backedUp = await allRecords(runtime, 'acme', 'tasks');
    });

    it('retries a throttled restore (reads, writes, change events, progress) and ends SUCCEEDED with exact counts and one event per record', async () => {
      const { planId, changed } = await changeAndPlan(0, 12);
      const before = tally.injected;
      faults = { throttle: { 'records.updateRecord': 3, 'records.getStampedRecords': 2, 'records.appendChangeEvents': 2, 'restores.saveSegmentProgress': 2, 'blobs.read': 2 } };
      let result;
      try {
        result = await restore(planId);
      } finally {
        faults = {};
      }
      expect(tally.injected - before).toBe(11);
      seen.push('restore throttled');
      expect(result).toMatchObject({ status: 'SUCCEEDED', counts: { updated: 12, unchanged: 28, missing: 0, failed: 0 }, progress: { done: 40, total: 40 } });
      await expectRestoredOnce(changed);
    });

    it('fails a restore whose batch dies half-way with a clear reason and the lock free; the rerun completes without applying anything twice', async () => {
      const { planId, changed } = await changeAndPlan(12, 20);
      const hashBefore = await dataPlaneHash(runtime, ['globex']);
      tally.saves = 0;
      const injectedBefore = tally.injected;
      faults = { restoreDiesAfterSaves: 3 };
      let failed;
      try {
        failed = await restore(planId);
      } finally {
        faults = {};
      }
      seen.push('restore batch dies half-way');
      expect(tally.injected).toBeGreaterThan(injectedBefore);
      expect(failed.status).toBe('FAILED');
      expect(failed.error).toMatch(/stopped the restore/);
      expect(failed.error).toMatch(/\S/);
      expect(failed.error).not.toMatch(/injected|\n\s+at /);
      const applied = failed.counts.updated as number;
      expect(applied).toBeLessThan(20);
      // What the failed restore reports as applied is exactly what changed.
      const today = await allRecords(runtime, 'acme', 'tasks');
      const restoredNow = changed.filter((id) => today.get(id)!.properties.hs_task_status === backedUp.get(id)!.properties.hs_task_status);
      expect(restoredNow.length).toBeGreaterThanOrEqual(applied);
      expect(await runtime.deps.lock.get('acme')).toBeUndefined();

      const rerun = await restore(planId);
      expect(rerun.status).toBe('SUCCEEDED');
      expect(rerun.counts.updated + restoredNow.length).toBe(20);
      expect(rerun.counts).toMatchObject({ missing: 0, failed: 0 });
      expect(rerun.counts.updated + rerun.counts.unchanged).toBe(40);
      await expectRestoredOnce(changed);
      expect(await dataPlaneHash(runtime, ['globex'])).toBe(hashBefore);
    });

    it('waits out a lock held by a killed process: 409 until its lease ends, then the restore runs and frees the lock', async () => {
      const { planId, changed } = await changeAndPlan(32, 5);
      const killedAt = clock.now().getTime();
      expect(await runtime.deps.lock.acquire('acme', 'rs_killed', { now: killedAt, durationMs: LOCK_LEASE_MS })).toMatchObject({ acquired: true });
      seen.push('lock holder killed');
      const hash = await dataPlaneHash(runtime);
      const refused = await runtime.api('POST', '/v1/restores', { as: ACME_SSO_ADMIN, body: { planId, acknowledge: ACKNOWLEDGE } });
      expect(refused.status).toBe(409);
      expect(refused.body.error).toMatchObject({ code: 'RESTORE_IN_PROGRESS', restoreId: 'rs_killed' });
      advance(LOCK_LEASE_MS - 5_000);
      expect((await runtime.api('POST', '/v1/restores', { as: ACME_SSO_ADMIN, body: { planId, acknowledge: ACKNOWLEDGE } })).status).toBe(409);
      expect(await dataPlaneHash(runtime)).toBe(hash);
      advance(10_000); // the lease has ended
      const result = await restore(planId);
      expect(result).toMatchObject({ status: 'SUCCEEDED', counts: { updated: 5, unchanged: 35, failed: 0 } });
      await expectRestoredOnce(changed);
      // The killed holder, had it woken up, could not release the new holder's lock either.
      expect(await runtime.deps.lock.release('acme', 'rs_killed')).toBe(false);
    });
  });

  afterAll(() => {
    console.log(JSON.stringify({ suite: 'faults', faultsInjected: tally.injected, scenarios: seen }));
  });
});
