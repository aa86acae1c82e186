import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { PlannedRecord, StoredPlan } from '#core/restore-model.ts';
import { buildRestorePlan } from '#core/restores/build-restore-plan.ts';
import { SAMPLE_BUDGET_BYTES, SAMPLE_SIZE, SAMPLE_VALUE_CHARS } from '#core/restores/plan-tally.ts';
import { planRestore } from '#core/restores/plan-restore.ts';
import type { PlanJob } from '#core/restores/restore-planning.ts';
import { planPrefix, planSegmentKey } from '#core/restores/restore-policy.ts';
import type { TestDeps } from '../../support/in-memory-ports.ts';
import { memoryDeps } from '../../support/in-memory-ports.ts';
import { ADMIN, backedUp, backedUpDeals, CHOSEN, DEALS, edit, liveDeals, property, readyPlan, restoreSetUp } from '../../support/in-memory-restore.ts';

function segmentLines(deps: TestDeps, plan: StoredPlan, segment: number): PlannedRecord[] {
  const text = deps.blobs.objects.get(planSegmentKey('acme', plan.id, segment))!.toString('utf8');
  return text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as PlannedRecord);
}

function planKeys(deps: TestDeps, planId: string): string[] {
  return [...deps.blobs.objects.keys()].filter((key) => key.startsWith(planPrefix('acme', planId)));
}

/** What two plans of the same data must share, whatever their ids and however many invocations made them. */
function figures(plan: StoredPlan) {
  const { recordsInBackup, recordsToChange, recordsUnchanged, recordsMissing, perProperty, sample, segments } = plan;
  return { recordsInBackup, recordsToChange, recordsUnchanged, recordsMissing, perProperty, sample, segments };
}

/** A planning budget that ends after `rows` backed-up rows were asked about (the API's clock running out). */
function budgetOfRows(rows: number) {
  let asked = 0;
  return { keepGoing: () => ++asked <= rows };
}

describe('planRestore', () => {
  it('counts changes, clears, missing and unchanged records per property, and changes nothing', async () => {
    const { deps, backupId } = await restoreSetUp();
    const before = await liveDeals(deps);
    const outcome = await planRestore(ADMIN, backupId, { objectType: 'deals', properties: CHOSEN }, deps, { keepGoing: () => true });
    expect(outcome.ready).toBe(true);
    expect(outcome.plan).toMatchObject({
      status: 'READY',
      recordsInBackup: 10,
      recordsToChange: 3,
      recordsUnchanged: 6,
      recordsMissing: 1,
      perProperty: [
        { name: 'dealname', toChange: 1, toClear: 0 },
        { name: 'amount', toChange: 1, toClear: 1 },
        { name: 'dealstage', toChange: 1, toClear: 0 },
      ],
    });
    // In the backup's order (storage order), which is not the ids' order.
    expect(outcome.plan.sample.map((entry) => entry.recordId).sort()).toEqual(['d02', 'd03', 'd05']);
    expect(outcome.plan.sample.find((entry) => entry.recordId === 'd05')).toEqual({ recordId: 'd05', changes: [{ property: 'amount', from: '999', to: '' }] });
    expect(await liveDeals(deps)).toEqual(before);
    expect(deps.audited.filter((entry) => entry.action === 'RESTORE_PLANNED')).toHaveLength(1);
  });

  it('writes the backed-up values in segments of segmentRecords, each with its SHA-256, marking the records that differ', async () => {
    const { deps, backupId } = await restoreSetUp({ segmentRecords: 4 });
    const plan = await readyPlan(deps, backupId);
    expect(plan.segments.map((segment) => segment.records)).toEqual([4, 4, 2]);
    for (const [index, segment] of plan.segments.entries()) {
      const data = deps.blobs.objects.get(planSegmentKey('acme', plan.id, index))!;
      expect(segment).toEqual({ records: segment.records, bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') });
    }
    const lines = [0, 1, 2].flatMap((segment) => segmentLines(deps, plan, segment));
    expect(lines.map((line) => line.id).sort()).toEqual(backedUpDeals().map((deal) => deal.id));
    expect(lines.filter((line) => line.differs).map((line) => line.id).sort()).toEqual(['d02', 'd03', 'd05']);
    // Only the chosen properties, as backed up, blanks included.
    // What the plan found is the condition apply writes on.
    expect(lines.find((line) => line.id === 'd05')).toEqual({
      id: 'd05',
      values: { dealname: 'Deal 5', amount: '', dealstage: 'open' },
      differs: true,
      expect: { dealname: 'Deal 5', amount: '999', dealstage: 'open' },
    });
  });

  it(`keeps a sample of ${SAMPLE_SIZE} records, each value cut to ${SAMPLE_VALUE_CHARS} characters`, async () => {
    const deps = memoryDeps();
    const deals = Array.from({ length: 15 }, (_, i) => ({ id: `d${String(i + 1).padStart(2, '0')}`, properties: { dealname: 'x'.repeat(500) } }));
    const backupId = await backedUp(deps, deals);
    for (const deal of deals) await edit(deps, deal.id, { dealname: 'short' });
    const plan = await readyPlan(deps, backupId, ['dealname']);
    expect(plan.recordsToChange).toBe(15);
    expect(plan.sample).toHaveLength(SAMPLE_SIZE);
    expect(plan.sample[0]!.changes).toEqual([{ property: 'dealname', from: 'short', to: `${'x'.repeat(SAMPLE_VALUE_CHARS)}…` }]);
  });

  it('stops adding to the sample at its byte budget, however many properties are chosen', async () => {
    const deps = memoryDeps();
    const names = Array.from({ length: 60 }, (_, i) => `p${String(i).padStart(2, '0')}`);
    const backedUpValues = Object.fromEntries(names.map((name) => [name, 'b'.repeat(1000)]));
    const deals = Array.from({ length: 6 }, (_, i) => ({ id: `d${i}`, properties: backedUpValues }));
    const backupId = await backedUp(deps, deals, { ...DEALS, properties: names.map((name) => property(name)) });
    for (const deal of deals) await edit(deps, deal.id, Object.fromEntries(names.map((name) => [name, 'today'])));

    const plan = await readyPlan(deps, backupId, names);
    expect(plan.recordsToChange).toBe(6);
    // Each entry is ~13 KB (60 changes cut to 200 characters): the budget is passed before the sixth.
    const bytes = plan.sample.map((entry) => Buffer.byteLength(JSON.stringify(entry)));
    expect(plan.sample.length).toBeLessThan(6);
    expect(bytes.slice(0, -1).reduce((a, b) => a + b, 0)).toBeLessThan(SAMPLE_BUDGET_BYTES);
    expect(bytes.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(SAMPLE_BUDGET_BYTES);
  });

  it('hands the plan over at the last segment boundary when its budget ends, and starts the restore-plan workflow', async () => {
    const { deps, backupId } = await restoreSetUp({ segmentRecords: 4 });
    const outcome = await planRestore(ADMIN, backupId, { objectType: 'deals', properties: CHOSEN }, deps, budgetOfRows(6));
    expect(outcome.ready).toBe(false);
    // Rows 5 and 6 were read past the checkpoint and dropped: the next invocation reads them again.
    expect(outcome.plan).toMatchObject({ status: 'PLANNING', recordsInBackup: 4, progress: { done: 4, total: 10 } });
    const stored = (await deps.restores.getPlan('acme', outcome.plan.id))!;
    expect(stored.segments).toHaveLength(1);
    expect(planKeys(deps, stored.id)).toEqual([planSegmentKey('acme', stored.id, 0)]);
    expect(deps.started.at(-1)).toEqual({ name: stored.id, input: { accountId: 'acme', planId: stored.id } });
    expect(deps.audited.filter((entry) => entry.action === 'RESTORE_PLANNED')).toHaveLength(0);
  });

  it('stores no plan and leaves no segment files when the backup turns out damaged (BACKUP_DAMAGED)', async () => {
    const { deps, backupId } = await restoreSetUp({ segmentRecords: 4 });
    const backup = (await deps.backups.getBackup('acme', backupId))!;
    const zip = deps.blobs.objects.get(backup.zipKey!)!;
    // The manifest promises other bytes: the CSV streams to its end and fails its SHA-256 there.
    deps.backups.backups.get(`acme/${backupId}`)!.objects = backup.objects!.map((object) => ({ ...object, sha256: '0'.repeat(64) }));
    await expect(planRestore(ADMIN, backupId, { objectType: 'deals', properties: CHOSEN }, deps, { keepGoing: () => true })).rejects.toMatchObject({
      name: 'BackupDamagedError',
      message: expect.stringMatching(/SHA-256.*Nothing was planned or changed/),
    });
    expect(deps.restores.plans.size).toBe(0);
    expect([...deps.blobs.objects.keys()].filter((key) => key.startsWith('plans/'))).toEqual([]);
    expect(deps.blobs.objects.get(backup.zipKey!)).toBe(zip);
  });
});

describe('buildRestorePlan', () => {
  it('resumes from its checkpoint until READY, with the counts and segment files of a plan made in one go', async () => {
    const { deps, backupId } = await restoreSetUp({ segmentRecords: 4 });
    const oneGo = await readyPlan(deps, backupId);
    const started = await planRestore(ADMIN, backupId, { objectType: 'deals', properties: CHOSEN }, deps, budgetOfRows(6));
    const job: PlanJob = { accountId: 'acme', planId: started.plan.id };
    let invocations = 0;
    for (let done = false; !done; invocations += 1) {
      // One segment per invocation, as planSegmentsPerInvocation: 1 makes the handler do.
      ({ done } = await buildRestorePlan(job, deps, { keepGoing: (segments) => segments < 1 }));
    }
    expect(invocations).toBe(2);
    const resumed = (await deps.restores.getPlan('acme', job.planId))!;
    expect(resumed.status).toBe('READY');
    expect(resumed.progress).toBeUndefined();
    expect(figures(resumed)).toEqual(figures(oneGo));
    for (let segment = 0; segment < 3; segment += 1) expect(segmentLines(deps, resumed, segment)).toEqual(segmentLines(deps, oneGo, segment));
    expect(deps.audited.filter((entry) => entry.action === 'RESTORE_PLANNED' && entry.resourceId === job.planId)).toHaveLength(1);
  });

  it('counts a duplicate step from the same checkpoint once', async () => {
    const { deps, backupId } = await restoreSetUp({ segmentRecords: 4 });
    const oneGo = await readyPlan(deps, backupId);
    const started = await planRestore(ADMIN, backupId, { objectType: 'deals', properties: CHOSEN }, deps, budgetOfRows(0));
    const job: PlanJob = { accountId: 'acme', planId: started.plan.id };
    // A retried invocation runs beside the first, from the same checkpoint.
    await Promise.all([buildRestorePlan(job, deps, { keepGoing: () => true }), buildRestorePlan(job, deps, { keepGoing: () => true })]);
    const plan = (await deps.restores.getPlan('acme', job.planId))!;
    expect(plan.status).toBe('READY');
    expect(figures(plan)).toEqual(figures(oneGo));
    expect(deps.audited.filter((entry) => entry.action === 'RESTORE_PLANNED' && entry.resourceId === job.planId)).toHaveLength(1);
  });

  it('ends the plan FAILED with a sentence, its segment files deleted, when the backup expired meanwhile', async () => {
    const { deps, backupId } = await restoreSetUp({ segmentRecords: 4 });
    const started = await planRestore(ADMIN, backupId, { objectType: 'deals', properties: CHOSEN }, deps, budgetOfRows(6));
    const backup = (await deps.backups.getBackup('acme', backupId))!;
    deps.clock.set(backup.expiresAt!);
    expect(await buildRestorePlan({ accountId: 'acme', planId: started.plan.id }, deps, { keepGoing: () => true })).toEqual({ done: true });
    expect(await deps.restores.getPlan('acme', started.plan.id)).toMatchObject({ status: 'FAILED', segments: [], error: expect.stringMatching(/expired/) });
    expect(planKeys(deps, started.plan.id)).toEqual([]);
  });

  it('leaves a plan that is no longer PLANNING as it is', async () => {
    const { deps, backupId } = await restoreSetUp();
    const plan = await readyPlan(deps, backupId);
    expect(await buildRestorePlan({ accountId: 'acme', planId: plan.id }, deps, { keepGoing: () => true })).toEqual({ done: true });
    expect(await deps.restores.getPlan('acme', plan.id)).toEqual(plan);
  });
});
