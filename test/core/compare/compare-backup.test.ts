import { text } from 'node:stream/consumers';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { compareBackup } from '#core/compare/compare-backup.ts';
import { downloadCompareExport } from '#core/compare/compare-export-queries.ts';
import { exportComparison } from '#core/compare/export-comparison.ts';
import { runComparison } from '#core/compare/run-comparison.ts';
import type { ComparisonView } from '#core/compare-model.ts';
import type { CrmRecord } from '#core/model.ts';
import { backUpInMemory } from '../../support/in-memory-backup.ts';
import { memoryDeps, type TestDeps } from '../../support/in-memory-ports.ts';
import { ADMIN, DEALS, backedUp, backedUpDeals, edit } from '../../support/in-memory-restore.ts';

const always = { keepGoing: () => true };

/**
 * Ten deals backed up (d05 without an amount), then: d02's amount and d03's name and
 * stage changed, d04 deleted, d05 given an amount, d11 created; backed up again.
 */
async function twoBackups(deps: TestDeps): Promise<{ first: string; second: string }> {
  const first = await backedUp(deps, backedUpDeals());
  await changeDeals(deps);
  deps.clock.set('2026-11-27T10:00:00.000Z');
  const second = await backUpInMemory(deps);
  return { first, second };
}

async function changeDeals(deps: TestDeps): Promise<void> {
  await edit(deps, 'd02', { amount: '250' });
  await edit(deps, 'd03', { dealname: 'Renamed', dealstage: 'won' });
  await deps.records.deleteRecord('acme', 'deals', 'd04');
  await edit(deps, 'd05', { amount: '999' });
  await deps.records.putRecords('acme', 'deals', [{ id: 'd11', properties: { dealname: 'New deal', dealstage: 'open' } }]);
}

/** What every comparison of the changes above counts. */
function expectTheChanges(comparison: ComparisonView): void {
  expect(comparison).toMatchObject({ status: 'READY', objectType: 'deals', added: 1, removed: 1, changed: 3, unchanged: 6 });
  expect(Object.fromEntries(comparison.perProperty.map((entry) => [entry.name, entry.changed]))).toEqual({
    dealname: 1,
    amount: 2,
    dealstage: 1,
    description: 0,
    hs_score: 0,
  });
  expect(comparison.sample).toEqual([
    { recordId: 'd02', kind: 'CHANGED', changes: [{ property: 'amount', from: '200', to: '250' }] },
    {
      recordId: 'd03',
      kind: 'CHANGED',
      changes: [
        { property: 'dealname', from: 'Deal 3', to: 'Renamed' },
        { property: 'dealstage', from: 'open', to: 'won' },
      ],
    },
    { recordId: 'd05', kind: 'CHANGED', changes: [{ property: 'amount', from: '', to: '999' }] },
    {
      recordId: 'd04',
      kind: 'REMOVED',
      changes: [
        { property: 'dealname', from: 'Deal 4', to: '' },
        { property: 'amount', from: '400', to: '' },
        { property: 'dealstage', from: 'open', to: '' },
        { property: 'description', from: 'About deal 4', to: '' },
      ],
    },
    {
      recordId: 'd11',
      kind: 'ADDED',
      changes: [
        { property: 'dealname', from: '', to: 'New deal' },
        { property: 'dealstage', from: '', to: 'open' },
      ],
    },
  ]);
}

/** Runs the comparison step until done, as the `comparison` state machine loops it. */
async function runToTheEnd(deps: TestDeps, comparisonId: string, keepGoing: () => boolean): Promise<number> {
  let invocations = 0;
  for (let done = false; !done; invocations++) {
    ({ done } = await runComparison({ accountId: 'acme', comparisonId }, deps, { keepGoing }));
    if (invocations > 1000) throw new Error('The comparison does not move on');
  }
  return invocations;
}

describe('compareBackup', () => {
  it('counts exactly the edits, deletions and additions between two backups', async () => {
    const deps = memoryDeps();
    const { first, second } = await twoBackups(deps);
    const outcome = await compareBackup(ADMIN, first, { with: second, objectType: 'deals' }, deps, always);
    expect(outcome.ready).toBe(true);
    expectTheChanges(outcome.comparison);
    expect(outcome.comparison).toMatchObject({ backupId: first, with: second });
    expect(deps.audited.at(-1)).toMatchObject({ action: 'BACKUP_COMPARED', actor: 'admin@acme.example', resourceId: outcome.comparison.id });
    // The working files are gone once it is READY.
    expect([...deps.blobs.objects.keys()].filter((key) => key.startsWith('comparisons/'))).toEqual([]);
  });

  it('counts the same with today\'s data', async () => {
    const deps = memoryDeps();
    const first = await backedUp(deps, backedUpDeals());
    await changeDeals(deps);
    const outcome = await compareBackup(ADMIN, first, { with: 'live', objectType: 'deals' }, deps, always);
    expectTheChanges(outcome.comparison);
    expect(outcome.comparison.with).toBe('live');
  });

  it('counts the same from many tiny runs, merged in several rounds, over many resumed invocations', async () => {
    const deps = memoryDeps();
    const { first, second } = await twoBackups(deps);
    deps.config.compareTuning = { runBytes: 60, mergeFanIn: 2, batchRecords: 2 };
    // The API stops at once: 202 COMPARING, and the state machine takes over.
    const started = await compareBackup(ADMIN, first, { with: second, objectType: 'deals' }, deps, { keepGoing: () => false });
    expect(started.ready).toBe(false);
    expect(started.comparison).toMatchObject({ status: 'COMPARING', progress: { total: 40 } });
    expect(deps.started.map((execution) => execution.name)).toContain(started.comparison.id);
    // Every invocation stops after a few batches or records.
    let budget = 0;
    const invocations = await runToTheEnd(deps, started.comparison.id, () => budget++ % 3 !== 2);
    expect(invocations).toBeGreaterThan(3);
    const again = await compareBackup(ADMIN, first, { with: second, objectType: 'deals' }, deps, always);
    expect(again.comparison.id).toBe(started.comparison.id);
    expectTheChanges(again.comparison);
  });

  it('shows the latest comparison of two backups again, and compares live data again after five minutes or on refresh', async () => {
    const deps = memoryDeps();
    const { first, second } = await twoBackups(deps);
    const once = await compareBackup(ADMIN, first, { with: second, objectType: 'deals' }, deps, always);
    deps.clock.set('2026-11-29T10:00:00.000Z');
    expect((await compareBackup(ADMIN, first, { with: second, objectType: 'deals' }, deps, always)).comparison.id).toBe(once.comparison.id);

    const live = await compareBackup(ADMIN, first, { with: 'live', objectType: 'deals' }, deps, always);
    await edit(deps, 'd01', { dealname: 'Edited now' });
    const soon = await compareBackup(ADMIN, first, { with: 'live', objectType: 'deals' }, deps, always);
    expect(soon.comparison).toMatchObject({ id: live.comparison.id, changed: 3 });
    const refreshed = await compareBackup(ADMIN, first, { with: 'live', objectType: 'deals', refresh: true }, deps, always);
    expect(refreshed.comparison).toMatchObject({ changed: 4 });
    deps.clock.set('2026-11-29T10:06:00.000Z');
    await edit(deps, 'd06', { dealname: 'Edited later' });
    expect((await compareBackup(ADMIN, first, { with: 'live', objectType: 'deals' }, deps, always)).comparison).toMatchObject({ changed: 5 });
  });

  it('compares a type only one backup holds as all added (or all removed)', async () => {
    const deps = memoryDeps();
    const first = await backedUp(deps, []);
    await deps.records.putRecords('acme', 'deals', backedUpDeals().slice(0, 3));
    deps.clock.set('2026-11-27T10:00:00.000Z');
    const second = await backUpInMemory(deps);
    expect((await compareBackup(ADMIN, first, { with: second, objectType: 'deals' }, deps, always)).comparison).toMatchObject({ added: 3, removed: 0, changed: 0, unchanged: 0 });
    expect((await compareBackup(ADMIN, second, { with: first, objectType: 'deals' }, deps, always)).comparison).toMatchObject({ added: 0, removed: 3 });
  });

  it('refuses what cannot be compared', async () => {
    const deps = memoryDeps();
    const { first, second } = await twoBackups(deps);
    await expect(compareBackup({ ...ADMIN, superAdmin: false }, first, { with: 'live', objectType: 'deals' }, deps, always)).rejects.toMatchObject({ name: 'ForbiddenError' });
    await expect(compareBackup(ADMIN, first, { with: first, objectType: 'deals' }, deps, always)).rejects.toMatchObject({ name: 'ValidationError', details: { field: 'with' } });
    await expect(compareBackup(ADMIN, first, { with: 'bk_nope', objectType: 'deals' }, deps, always)).rejects.toMatchObject({ name: 'NotFoundError' });
    await expect(compareBackup(ADMIN, first, { with: second, objectType: 'tickets' }, deps, always)).rejects.toMatchObject({ name: 'ValidationError', details: { field: 'objectType' } });
    await expect(compareBackup({ ...ADMIN, accountId: 'globex' }, first, { with: 'live', objectType: 'deals' }, deps, always)).rejects.toMatchObject({ name: 'NotFoundError' });
    deps.clock.set('2026-12-20T10:00:00.000Z');
    await expect(compareBackup(ADMIN, first, { with: 'live', objectType: 'deals' }, deps, always)).rejects.toMatchObject({ name: 'BackupExpiredError' });
  });

  it('ends FAILED with a sentence when a backup turns out damaged, leaving no files', async () => {
    const deps = memoryDeps();
    const { first, second } = await twoBackups(deps);
    const zipKey = (await deps.backups.getBackup('acme', second))!.zipKey!;
    const stored = deps.backups.backups.get(`acme/${second}`)!;
    stored.objects = stored.objects!.map((object) => (object.objectType === 'deals' ? { ...object, sha256: '0'.repeat(64) } : object));
    expect(deps.blobs.objects.has(zipKey)).toBe(true);
    const outcome = await compareBackup(ADMIN, first, { with: second, objectType: 'deals' }, deps, always);
    expect(outcome.comparison.status).toBe('FAILED');
    expect(outcome.comparison.error).toMatch(/SHA-256 of deals\.csv differs.*The comparison stopped; nothing was changed\./);
    expect([...deps.blobs.objects.keys()].filter((key) => key.startsWith('comparisons/'))).toEqual([]);
  });

  it('lets one of two workers resuming from the same checkpoint win, with the same figures', async () => {
    const deps = memoryDeps();
    const { first, second } = await twoBackups(deps);
    deps.config.compareTuning = { runBytes: 60, mergeFanIn: 3, batchRecords: 1 };
    const started = await compareBackup(ADMIN, first, { with: second, objectType: 'deals' }, deps, { keepGoing: () => false });
    const job = { accountId: 'acme', comparisonId: started.comparison.id };
    const [a, b] = await Promise.all([runComparison(job, deps, always), runComparison(job, deps, always)]);
    // The loser of a checkpoint stops there (its machine would loop); the winner finishes.
    expect([a.done, b.done]).toContain(true);
    await runToTheEnd(deps, job.comparisonId, () => true);
    const again = await compareBackup(ADMIN, first, { with: second, objectType: 'deals' }, deps, always);
    expectTheChanges(again.comparison);
  });

  it('agrees with a plain in-memory comparison on random data, whatever the run size', async () => {
    for (const seed of [1, 2, 3]) {
      const deps = memoryDeps();
      const random = prng(seed);
      const records = Array.from({ length: 120 }, (_, i) => randomDeal(random, `r${Math.floor(random() * 1e6)}-${i}`));
      const first = await backedUp(deps, records);
      for (const record of records) {
        const roll = random();
        if (roll < 0.15) await deps.records.deleteRecord('acme', 'deals', record.id);
        else if (roll < 0.4) await edit(deps, record.id, { amount: random() < 0.5 ? '' : String(Math.floor(random() * 9)), dealstage: random() < 0.5 ? 'open' : 'won' });
      }
      await deps.records.putRecords('acme', 'deals', Array.from({ length: 17 }, (_, i) => randomDeal(random, `n${i}`)));
      deps.clock.set('2026-11-27T10:00:00.000Z');
      const second = await backUpInMemory(deps);
      deps.config.compareTuning = { runBytes: 100 + Math.floor(random() * 2000), mergeFanIn: 2 + Math.floor(random() * 4), batchRecords: 1 + Math.floor(random() * 20) };
      const outcome = await compareBackup(ADMIN, first, { with: second, objectType: 'deals' }, deps, always);
      const live = new Map((deps.records.records.get('deals') ?? []).map((record) => [record.id, record]));
      expect(outcome.comparison.error, `seed ${seed}`).toBeUndefined();
      expect(outcome.comparison, `seed ${seed}`).toMatchObject(oracle(records, live));
    }
  });
});

describe('exportComparison', () => {
  it('writes every difference to a CSV to download, audited', async () => {
    const deps = memoryDeps();
    const { first, second } = await twoBackups(deps);
    const outcome = await exportComparison(ADMIN, first, { with: second, objectType: 'deals' }, deps, always);
    expect(outcome.ready).toBe(true);
    expect(outcome.comparison).toMatchObject({ status: 'READY', added: 1, removed: 1, changed: 3, export: { rows: 10 } });
    const rows = await exportedRows(deps, outcome.comparison.id);
    expect(rows).toEqual([
      ['record_id', 'kind', 'property', 'from', 'to'],
      ['d02', 'CHANGED', 'amount', '200', '250'],
      ['d03', 'CHANGED', 'dealname', 'Deal 3', 'Renamed'],
      ['d03', 'CHANGED', 'dealstage', 'open', 'won'],
      ['d04', 'REMOVED', 'dealname', 'Deal 4', ''],
      ['d04', 'REMOVED', 'amount', '400', ''],
      ['d04', 'REMOVED', 'dealstage', 'open', ''],
      ['d04', 'REMOVED', 'description', 'About deal 4', ''],
      ['d05', 'CHANGED', 'amount', '', '999'],
      ['d11', 'ADDED', 'dealname', '', 'New deal'],
      ['d11', 'ADDED', 'dealstage', '', 'open'],
    ]);
    expect(deps.audited.map((entry) => entry.action)).toEqual(expect.arrayContaining(['COMPARISON_EXPORTED', 'COMPARISON_EXPORT_DOWNLOADED']));
  });

  it('joins the parts written by several merging invocations into one CSV with one header', async () => {
    const deps = memoryDeps();
    // Enough records for the merge to look at the clock (every 1,024 records) several times.
    const deals = Array.from({ length: 3000 }, (_, i) => ({ id: `d${String(i).padStart(5, '0')}`, properties: { dealname: `Deal ${i}`, amount: String(i) } }));
    const first = await backedUp(deps, deals);
    for (let i = 0; i < 3000; i += 7) await edit(deps, deals[i]!.id, { amount: 'edited' });
    deps.clock.set('2026-11-27T10:00:00.000Z');
    const second = await backUpInMemory(deps);
    const whole = await exportComparison(ADMIN, first, { with: second, objectType: 'deals' }, deps, always);
    expect(whole.comparison).toMatchObject({ changed: 429, unchanged: 2571, export: { rows: 429 } });

    const started = await exportComparison(ADMIN, first, { with: second, objectType: 'deals' }, deps, { keepGoing: () => false });
    expect(started.ready).toBe(false);
    let budget = 0;
    await runToTheEnd(deps, started.comparison.id, () => budget++ % 2 === 0);
    const parts = [...deps.blobs.objects.keys()].filter((key) => key.startsWith(`comparisons/acme/${started.comparison.id}/parts/`));
    expect(parts.length).toBeGreaterThan(1);
    expect(await exportedRows(deps, started.comparison.id)).toEqual(await exportedRows(deps, whole.comparison.id));
  });

  it('refuses a download before the export is ready, and another account\'s export', async () => {
    const deps = memoryDeps();
    const { first, second } = await twoBackups(deps);
    const started = await exportComparison(ADMIN, first, { with: second, objectType: 'deals' }, deps, { keepGoing: () => false });
    await expect(downloadCompareExport(ADMIN, started.comparison.id, deps)).rejects.toMatchObject({ name: 'ComparisonNotReadyError' });
    await expect(downloadCompareExport({ ...ADMIN, accountId: 'globex' }, started.comparison.id, deps)).rejects.toMatchObject({ name: 'NotFoundError' });
  });
});

/** The export's CSV, through the presigned link MemoryBlobs hands out (`memory://<key>?…`). */
async function exportedRows(deps: TestDeps, exportId: string): Promise<string[][]> {
  const { url } = await downloadCompareExport(ADMIN, exportId, deps);
  return parse(await text(await deps.blobs.read(url.slice('memory://'.length, url.indexOf('?')))));
}

function prng(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

function randomDeal(random: () => number, id: string): CrmRecord {
  const pick = (values: string[]) => values[Math.floor(random() * values.length)]!;
  return {
    id,
    properties: {
      dealname: pick(['Alpha', 'Beta, "quoted"', 'Ünïcødé', 'line\nbreak', '']),
      amount: pick(['', '1', '2', '3']),
      dealstage: pick(['open', 'won']),
      description: pick(['', 'x'.repeat(300)]),
    },
  };
}

/** The expected figures, computed the obvious way with everything in memory. */
function oracle(before: CrmRecord[], after: Map<string, CrmRecord>) {
  const names = DEALS.properties.map((property) => property.name);
  const value = (record: CrmRecord, name: string) => record.properties[name] ?? '';
  const perProperty = new Map(names.map((name) => [name, 0]));
  let changed = 0;
  let unchanged = 0;
  let removed = 0;
  const seen = new Set<string>();
  for (const record of before) {
    seen.add(record.id);
    const today = after.get(record.id);
    if (!today) {
      removed += 1;
      continue;
    }
    const differing = names.filter((name) => value(record, name) !== value(today, name));
    for (const name of differing) perProperty.set(name, perProperty.get(name)! + 1);
    if (differing.length) changed += 1;
    else unchanged += 1;
  }
  const added = [...after.keys()].filter((id) => !seen.has(id)).length;
  return { added, removed, changed, unchanged, perProperty: names.map((name) => ({ name, changed: perProperty.get(name)! })) };
}
