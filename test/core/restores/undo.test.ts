import { describe, expect, it } from 'vitest';
import { takeBackChanges } from '#core/ports/data-source.ts';
import { planUndo } from '#core/restores/plan-undo.ts';
import { ledgerPrefix, readLedgerSegment, recordChanges } from '#core/restores/restore-ledger.ts';
import { sumProgress } from '#core/restores/segment-progress.ts';
import type { TestDeps } from '../../support/in-memory-ports.ts';
import { ADMIN, applySegment, edit, liveDeals, readyPlan, restoreSetUp, runRestore, startedRestore } from '../../support/in-memory-restore.ts';

/** The account changed since its backup (d02, d03, d05 differ; d04 deleted), restored: answers the restore. */
async function restored(tuning: TestDeps['config']['restoreTuning'] = {}) {
  const { deps, backupId } = await restoreSetUp(tuning);
  const beforeRestore = await liveDeals(deps);
  const restore = await startedRestore(deps, (await readyPlan(deps, backupId)).id);
  await runRestore(deps, restore.id);
  return { deps, restore: (await deps.restores.getRestore('acme', restore.id))!, beforeRestore };
}

async function planned(deps: TestDeps, restoreId: string) {
  const outcome = await planUndo(ADMIN, restoreId, deps, { keepGoing: () => true });
  expect(outcome.ready).toBe(true);
  return (await deps.restores.getPlan('acme', outcome.plan.id))!;
}

describe('taking a change back', () => {
  it('writes a property only where it still holds what is taken back; one already back is neither; any other value is a conflict', () => {
    const target = { id: 'd1', values: { a: 'old-a', b: 'old-b', c: '' }, expect: { a: 'new-a', b: 'new-b', c: 'new-c' }, ifUnchanged: true as const };
    expect(takeBackChanges(target, { a: 'new-a', b: 'old-b', c: 'edited' })).toEqual({
      changes: [{ property: 'a', from: 'new-a', to: 'old-a' }],
      conflicts: [{ recordId: 'd1', property: 'c', wrote: 'new-c', now: 'edited' }],
    });
  });
});

describe('the ledger of a restore', () => {
  it('lists each record the restore changed once, with each property before and after, and nothing for rounds that changed nothing', async () => {
    const { deps, restore, beforeRestore } = await restored({ segmentRecords: 4 });
    const entries = [];
    for (let segment = 0; segment < restore.segmentCount; segment += 1) entries.push(...(await readLedgerSegment(deps.blobs, restore, segment)));
    expect(entries.map((entry) => entry.id).sort()).toEqual(['d02', 'd03', 'd05']);
    const d03 = entries.find((entry) => entry.id === 'd03')!;
    expect(d03.changes).toEqual(expect.arrayContaining([{ property: 'dealname', from: beforeRestore.get('d03')!.dealname, to: 'Deal 3' }]));
    // 3 segments of 4 records; d02 and d03 in the first, d05 in the second: the third changed nothing and has no file.
    const keys = [...deps.blobs.objects.keys()].filter((key) => key.startsWith(ledgerPrefix(restore)));
    expect(keys.some((key) => key.includes('/segment-00002/'))).toBe(false);
  });

  it('never duplicates an entry when a round is retried: the same records rewrite the same file, others are read once', async () => {
    const { deps, restore } = await restored();
    const change = { id: 'd02', outcome: 'updated' as const, changes: [{ property: 'amount', from: '250', to: '200' }] };
    const other = { id: 'd09', outcome: 'updated' as const, changes: [{ property: 'amount', from: '1', to: '900' }] };
    const before = deps.blobs.objects.size;
    // A round retried that settled other records (d02 was also in the restore's own file): a second file.
    await recordChanges(deps.blobs, restore, 0, 0, [change, other]);
    expect(deps.blobs.objects.size).toBe(before + 1);
    // The same round retried again, settling the same records: the same file, rewritten.
    await recordChanges(deps.blobs, restore, 0, 0, [change, other]);
    expect(deps.blobs.objects.size).toBe(before + 1);
    const entries = await readLedgerSegment(deps.blobs, restore, 0);
    expect(entries.filter((entry) => entry.id === 'd02')).toHaveLength(1);
    expect(entries.filter((entry) => entry.id === 'd09')).toHaveLength(1);
  });

  it('keeps every change of a round whose progress was lost: a retry after a killed step leaves one entry per record', async () => {
    const { deps, backupId } = await restoreSetUp();
    const restore = await startedRestore(deps, (await readyPlan(deps, backupId)).id);
    const save = deps.restores.saveSegmentProgress.bind(deps.restores);
    deps.restores.saveSegmentProgress = async () => {
      deps.restores.saveSegmentProgress = save;
      throw new Error('The Lambda was killed');
    };
    await expect(applySegment(deps, restore.id, 0)).rejects.toThrow('killed');
    await runRestore(deps, restore.id);
    const entries = await readLedgerSegment(deps.blobs, (await deps.restores.getRestore('acme', restore.id))!, 0);
    expect(entries.map((entry) => entry.id).sort()).toEqual(['d02', 'd03', 'd05']);
  });
});

describe('undoing a restore (core)', () => {
  it('sets back per property, leaves a property edited since alone, and counts the record as conflicting', async () => {
    const { deps, restore, beforeRestore } = await restored();
    await edit(deps, 'd03', { dealstage: 'edited since' });
    const plan = await planned(deps, restore.id);
    expect(plan).toMatchObject({ kind: 'UNDO', undoOf: restore.id, recordsInBackup: 3, recordsToChange: 2, recordsConflicting: 1, recordsMissing: 0 });
    expect(plan.conflictSample).toEqual([{ recordId: 'd03', property: 'dealstage', wrote: 'open', now: 'edited since' }]);
    const undo = await startedRestore(deps, plan.id);
    await runRestore(deps, undo.id);
    const live = await liveDeals(deps);
    expect(live.get('d02')).toEqual(beforeRestore.get('d02'));
    expect(live.get('d05')).toEqual(beforeRestore.get('d05'));
    // d03's name still held the restore's value: set back. Its stage was edited since: kept.
    expect(live.get('d03')).toEqual({ ...beforeRestore.get('d03')!, dealstage: 'edited since' });
    expect(sumProgress(await deps.restores.listSegmentProgress('acme', undo.id))).toEqual({ updated: 2, unchanged: 0, missing: 0, failed: 0, conflicting: 1 });
    expect(deps.published.filter((event) => event.restoreId === undo.id).every((event) => event.undoOf === restore.id)).toBe(true);
  });

  it('refuses a running restore and one that changed nothing with NOTHING_TO_UNDO, and an unknown one with 404', async () => {
    const { deps, backupId } = await restoreSetUp();
    const running = await startedRestore(deps, (await readyPlan(deps, backupId)).id);
    await expect(planUndo(ADMIN, running.id, deps, { keepGoing: () => true })).rejects.toMatchObject({ name: 'NothingToUndoError', message: expect.stringContaining('still running') });
    await runRestore(deps, running.id);
    const again = await startedRestore(deps, (await readyPlan(deps, backupId)).id);
    await runRestore(deps, again.id);
    await expect(planUndo(ADMIN, again.id, deps, { keepGoing: () => true })).rejects.toMatchObject({ name: 'NothingToUndoError', message: 'This restore changed no record, so there is nothing to undo.' });
    await expect(planUndo(ADMIN, 'rs_nope', deps, { keepGoing: () => true })).rejects.toMatchObject({ name: 'NotFoundError' });
  });

  it('resumes a plan stopped between ledger segments without counting a record twice', async () => {
    const { deps, restore } = await restored({ segmentRecords: 4 });
    const outcome = await planUndo(ADMIN, restore.id, deps, { keepGoing: (completed) => completed < 1 });
    expect(outcome.ready).toBe(false);
    expect(deps.started.map((execution) => execution.name)).toContain(outcome.plan.id);
    const { buildRestorePlan } = await import('#core/restores/build-restore-plan.ts');
    await buildRestorePlan({ accountId: 'acme', planId: outcome.plan.id }, deps, { keepGoing: () => true });
    expect(await deps.restores.getPlan('acme', outcome.plan.id)).toMatchObject({ status: 'READY', recordsInBackup: 3, recordsToChange: 3 });
  });
});
