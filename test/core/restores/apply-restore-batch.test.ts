import { setTimeout } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { UpdateOutcome } from '#core/ports/record-store.ts';
import { applyRestoreBatch } from '#core/restores/apply-restore-batch.ts';
import { MAX_CONFLICT_RETRIES } from '#core/sources/built-in-source.ts';
import { LOCK_LEASE_MS, planSegmentKey } from '#core/restores/restore-policy.ts';
import { sumProgress } from '#core/restores/segment-progress.ts';
import type { TestDeps } from '../../support/in-memory-ports.ts';
import { applySegment, backedUpDeals, edit, liveDeals, readyPlan, restoreSetUp, runRestore, startedRestore } from '../../support/in-memory-restore.ts';

/** The deals as backed up, for the chosen properties, by id. */
const BACKED_UP = new Map(backedUpDeals().map((deal) => [deal.id, deal.properties]));

async function started(tuning: TestDeps['config']['restoreTuning'] = {}) {
  const { deps, backupId } = await restoreSetUp(tuning);
  const plan = await readyPlan(deps, backupId);
  const restore = await startedRestore(deps, plan.id);
  return { deps, plan, restoreId: restore.id };
}

async function countsOf(deps: TestDeps, restoreId: string) {
  return sumProgress(await deps.restores.listSegmentProgress('acme', restoreId));
}

/** The record ids of a plan's first segment file, in file order. */
function planOrder(deps: TestDeps, planId: string): string[] {
  const file = deps.blobs.objects.get(planSegmentKey('acme', planId, 0))!.toString('utf8');
  return file.split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { id: string }).id);
}

/** Which round (of `roundRecords`) each record of a segment file falls in. */
function roundsOf(fileOrder: string[], roundRecords: number): (id: string) => number {
  return (id) => Math.floor(fileOrder.indexOf(id) / roundRecords);
}

/** Makes updateRecord call `before(recordId, attempt)` ahead of each conditional write (a person editing at that moment). */
function beforeEachWrite(deps: TestDeps, before: (recordId: string, attempt: number) => Promise<void>): void {
  const update = deps.records.updateRecord.bind(deps.records);
  const attempts = new Map<string, number>();
  deps.records.updateRecord = async (accountId, objectType, recordId, change, options): Promise<UpdateOutcome> => {
    if (options?.stamp?.restoreId) {
      const attempt = (attempts.get(recordId) ?? 0) + 1;
      attempts.set(recordId, attempt);
      await before(recordId, attempt);
    }
    return update(accountId, objectType, recordId, change, options);
  };
}

/** The next call of `port[method]` fails as a Lambda killed at that moment would; later calls work. */
function killedAtNext<T extends object>(port: T, method: keyof T & string): void {
  const real = port[method];
  Object.assign(port, {
    [method]: async () => {
      Object.assign(port, { [method]: real });
      throw new Error('The Lambda was killed');
    },
  });
}

describe('applyRestoreBatch', () => {
  it('sets the chosen properties back, counts each record once, and leaves the rest alone', async () => {
    const { deps, restoreId } = await started({ segmentRecords: 4 });
    await runRestore(deps, restoreId);
    const live = await liveDeals(deps);
    expect(live.has('d04')).toBe(false);
    for (const [id, values] of live) {
      expect(values, id).toMatchObject({ dealname: BACKED_UP.get(id)!.dealname, amount: BACKED_UP.get(id)!.amount ?? '', dealstage: 'open', description: `About deal ${Number(id.slice(1))}` });
    }
    expect(await deps.restores.getRestore('acme', restoreId)).toMatchObject({ status: 'SUCCEEDED', counts: { updated: 3, unchanged: 6, missing: 1, failed: 0, conflicting: 0 } });
    expect(deps.published.map((event) => event.recordId).sort()).toEqual(['d02', 'd03', 'd05']);
    expect(deps.records.changeEvents).toEqual(deps.published);
    expect(deps.published.find((event) => event.recordId === 'd03')).toMatchObject({
      source: 'RESTORE',
      restoreId,
      changes: [
        { property: 'dealname', from: 'Renamed', to: 'Deal 3' },
        { property: 'dealstage', from: 'won', to: 'open' },
      ],
    });
    expect(deps.records.stamps.get('deals/d03')?.restoreId).toBe(restoreId);
    expect(deps.records.stamps.has('deals/d01')).toBe(false);
  });

  it('never re-creates a record deleted after the plan: it counts as missing', async () => {
    const { deps, restoreId } = await started();
    await deps.records.deleteRecord('acme', 'deals', 'd02'); // the plan found it different
    await deps.records.deleteRecord('acme', 'deals', 'd07'); // the plan found it unchanged
    await runRestore(deps, restoreId);
    const live = await liveDeals(deps);
    expect(['d02', 'd04', 'd07'].filter((id) => live.has(id))).toEqual([]);
    expect(await countsOf(deps, restoreId)).toEqual({ updated: 2, unchanged: 5, missing: 3, failed: 0, conflicting: 0 });
  });

  it('restores what still differs after an edit made since the plan, and nothing where the edit undid the change', async () => {
    const { deps, restoreId } = await started();
    await edit(deps, 'd03', { dealname: 'Deal 3' }); // its stage still differs
    await edit(deps, 'd02', { amount: '200' }); // back to the backup's value by hand
    await edit(deps, 'd07', { dealstage: 'lost' }); // unchanged when planned, different now
    await runRestore(deps, restoreId);
    const live = await liveDeals(deps);
    expect(live.get('d03')).toMatchObject({ dealname: 'Deal 3', dealstage: 'open' });
    expect(live.get('d07')).toMatchObject({ dealstage: 'open' });
    expect(await countsOf(deps, restoreId)).toEqual({ updated: 3, unchanged: 6, missing: 1, failed: 0, conflicting: 0 });
    expect(deps.published.find((event) => event.recordId === 'd03')!.changes).toEqual([{ property: 'dealstage', from: 'won', to: 'open' }]);
    expect(deps.published.some((event) => event.recordId === 'd02')).toBe(false);
  });

  it('re-reads a record edited between its read and its write, and keeps the other edit', async () => {
    const { deps, restoreId } = await started();
    await edit(deps, 'd07', { amount: '1' });
    beforeEachWrite(deps, async (id, attempt) => {
      if (id === 'd07' && attempt === 1) await edit(deps, 'd07', { amount: '2', description: 'edited meanwhile' });
    });
    await runRestore(deps, restoreId);
    expect((await liveDeals(deps)).get('d07')).toMatchObject({ amount: '700', description: 'edited meanwhile' });
    expect(deps.published.find((event) => event.recordId === 'd07')!.changes).toEqual([{ property: 'amount', from: '2', to: '700' }]);
    expect(await countsOf(deps, restoreId)).toEqual({ updated: 4, unchanged: 5, missing: 1, failed: 0, conflicting: 0 });
  });

  it(`gives up on a record that changes before each of its ${MAX_CONFLICT_RETRIES + 1} writes: it counts as failed and stays as people left it`, async () => {
    const { deps, restoreId } = await started();
    await edit(deps, 'd07', { amount: '1' });
    beforeEachWrite(deps, async (id, attempt) => {
      if (id === 'd07') await edit(deps, 'd07', { amount: String(1 + attempt) });
    });
    await runRestore(deps, restoreId);
    expect((await liveDeals(deps)).get('d07')!.amount).toBe(String(2 + MAX_CONFLICT_RETRIES));
    expect(await countsOf(deps, restoreId)).toEqual({ updated: 3, unchanged: 5, missing: 1, failed: 1, conflicting: 0 });
  });

  it('stops with LockLostError before any write once another restore took the lock, saving no progress', async () => {
    const { deps, restoreId } = await started();
    const before = await liveDeals(deps);
    deps.clock.set(new Date(deps.clock.now().getTime() + LOCK_LEASE_MS + 1).toISOString());
    expect(await deps.lock.acquire('acme', 'rs_other', { now: deps.clock.now().getTime(), durationMs: LOCK_LEASE_MS })).toMatchObject({ acquired: true });
    await expect(applyRestoreBatch({ accountId: 'acme', restoreId, segment: 0 }, deps, { remainingMs: () => 900_000 })).rejects.toMatchObject({ name: 'LockLostError' });
    expect(await liveDeals(deps)).toEqual(before);
    expect(await deps.restores.listSegmentProgress('acme', restoreId)).toEqual([]);
  });

  it('counts its own work when retried after dying between its writes and saving its progress', async () => {
    const { deps, restoreId } = await started();
    killedAtNext(deps.restores, 'saveSegmentProgress');
    await expect(applySegment(deps, restoreId, 0)).rejects.toThrow('killed');
    expect(deps.published).toHaveLength(3);
    const stored = structuredClone(deps.records.changeEvents);
    await runRestore(deps, restoreId);
    // The retry finds d02, d03 and d05 already restored, stamped with this restore: updated, not unchanged.
    expect(await countsOf(deps, restoreId)).toEqual({ updated: 3, unchanged: 6, missing: 1, failed: 0, conflicting: 0 });
    // Their events, rebuilt from the stamps, are the same events: stored once. A bus delivers
    // at least once anyway; what it gets again carries the same ids.
    expect(deps.records.changeEvents).toEqual(stored);
    expect(new Set(deps.published.map((event) => event.id))).toEqual(new Set(stored.map((event) => event.id)));
  });

  it('stores the change events a retried batch lost, once, when it died before storing them', async () => {
    const { deps, restoreId } = await started();
    killedAtNext(deps.records, 'appendChangeEvents');
    await expect(applySegment(deps, restoreId, 0)).rejects.toThrow('killed');
    expect(deps.records.changeEvents).toEqual([]);
    await runRestore(deps, restoreId);
    await applySegment(deps, restoreId, 0); // a duplicate invocation after the end changes nothing
    expect(await countsOf(deps, restoreId)).toEqual({ updated: 3, unchanged: 6, missing: 1, failed: 0, conflicting: 0 });
    // The values before the lost attempt were kept on the records with its writes: the events are exact.
    expect(deps.records.changeEvents.map((event) => event.recordId).sort()).toEqual(['d02', 'd03', 'd05']);
    expect(deps.records.changeEvents.find((event) => event.recordId === 'd05')!.changes).toEqual([{ property: 'amount', from: '999', to: '' }]);
    expect(deps.records.changeEvents.find((event) => event.recordId === 'd03')!.changes).toEqual([
      { property: 'dealname', from: 'Renamed', to: 'Deal 3' },
      { property: 'dealstage', from: 'won', to: 'open' },
    ]);
  });

  it('applies overlapping rounds, saving each round\'s progress in file order and only once its events are stored', async () => {
    const { deps, plan, restoreId } = await started({ roundRecords: 2 });
    const saves: Array<{ from: number; to: number; events: Set<string> }> = [];
    const save = deps.restores.saveSegmentProgress.bind(deps.restores);
    deps.restores.saveSegmentProgress = async (accountId, id, segment, next, fromIndex) => {
      saves.push({ from: fromIndex, to: next.cursor.index, events: new Set(deps.records.changeEvents.map((event) => event.recordId)) });
      return save(accountId, id, segment, next, fromIndex);
    };
    // The next round's source reads while this one writes, and writes only once this one has written.
    const roundOf = roundsOf(planOrder(deps, plan.id), 2);
    const writing = new Set<string>();
    const overtaken: string[] = [];
    let readsDuringWrites = 0;
    const getStamped = deps.records.getStampedRecords.bind(deps.records);
    deps.records.getStampedRecords = async (...args) => {
      if (args[2].some((id) => [...writing].some((other) => roundOf(other) < roundOf(id)))) readsDuringWrites += 1;
      return getStamped(...args);
    };
    beforeEachWrite(deps, async (recordId) => {
      overtaken.push(...[...writing].filter((other) => roundOf(other) < roundOf(recordId)).map((other) => `${recordId} before ${other}`));
      writing.add(recordId);
      await setTimeout(5); // a store's round trip: the next round is under way meanwhile
      writing.delete(recordId);
    });
    await runRestore(deps, restoreId);
    expect(saves.map((one) => [one.from, one.to])).toEqual([[0, 2], [2, 4], [4, 6], [6, 8], [8, 10]]);
    // Every changed record (d02, d03, d05) up to a saved cursor has its event stored by then.
    const fileOrder = planOrder(deps, plan.id);
    for (const one of saves) {
      const changedSoFar = fileOrder.slice(0, one.to).filter((id) => ['d02', 'd03', 'd05'].includes(id));
      for (const id of changedSoFar) expect(one.events.has(id), `${id} by ${one.to}`).toBe(true);
    }
    expect(overtaken).toEqual([]);
    expect(readsDuringWrites).toBeGreaterThan(0);
    expect(await countsOf(deps, restoreId)).toEqual({ updated: 3, unchanged: 6, missing: 1, failed: 0, conflicting: 0 });
  });

  it('counts exactly, with one event each, when it dies saving a round while the next one writes', async () => {
    const { deps, restoreId } = await started({ roundRecords: 2 });
    killedAtNext(deps.restores, 'saveSegmentProgress');
    await expect(applySegment(deps, restoreId, 0)).rejects.toThrow('killed');
    expect(await deps.restores.listSegmentProgress('acme', restoreId)).toEqual([]);
    await runRestore(deps, restoreId);
    expect(await countsOf(deps, restoreId)).toEqual({ updated: 3, unchanged: 6, missing: 1, failed: 0, conflicting: 0 });
    expect(deps.records.changeEvents.map((event) => event.recordId).sort()).toEqual(['d02', 'd03', 'd05']);
  });

  it('saves no progress over changes whose events the bus did not take; the retry publishes them', async () => {
    const { deps, restoreId } = await started();
    killedAtNext(deps.events, 'publish');
    await expect(applySegment(deps, restoreId, 0)).rejects.toThrow('killed');
    expect(await deps.restores.listSegmentProgress('acme', restoreId)).toEqual([]);
    expect(deps.published).toEqual([]);
    await runRestore(deps, restoreId);
    expect(await countsOf(deps, restoreId)).toEqual({ updated: 3, unchanged: 6, missing: 1, failed: 0, conflicting: 0 });
    expect(deps.records.changeEvents.map((event) => event.recordId).sort()).toEqual(['d02', 'd03', 'd05']);
    expect(deps.published.map((event) => event.recordId).sort()).toEqual(['d02', 'd03', 'd05']);
  });

  it('writes nothing of the next round once a round failed, and counts what the failed round settled', async () => {
    const { deps, plan, restoreId } = await started({ roundRecords: 2 });
    const written: string[] = [];
    beforeEachWrite(deps, async (recordId, attempt) => {
      written.push(recordId);
      if (recordId !== 'd05' || attempt > 1) return;
      await setTimeout(20); // the next round reads meanwhile
      throw new Error('The store failed');
    });
    await expect(applySegment(deps, restoreId, 0)).rejects.toThrow('The store failed');
    const roundOf = roundsOf(planOrder(deps, plan.id), 2);
    expect(written.filter((id) => roundOf(id) > roundOf('d05'))).toEqual([]);
    await runRestore(deps, restoreId);
    expect(await countsOf(deps, restoreId)).toEqual({ updated: 3, unchanged: 6, missing: 1, failed: 0, conflicting: 0 });
  });

  it('hands back a cursor after batchRecords records and resumes from it', async () => {
    const { deps, restoreId } = await started({ batchRecords: 3 });
    const outputs = await applySegment(deps, restoreId, 0);
    expect(outputs.map((output) => output.done)).toEqual([false, false, false, true]);
    expect((await deps.restores.getSegmentProgress('acme', restoreId, 0))!.cursor.index).toBe(10);
    expect(await countsOf(deps, restoreId)).toEqual({ updated: 3, unchanged: 6, missing: 1, failed: 0, conflicting: 0 });
  });

  it('counts a batch run twice at once (a duplicated invocation) once', async () => {
    const { deps, restoreId } = await started({ batchRecords: 4 });
    const input = { accountId: 'acme', restoreId, segment: 0 };
    await Promise.all([applyRestoreBatch(input, deps, { remainingMs: () => 900_000 }), applyRestoreBatch(input, deps, { remainingMs: () => 900_000 })]);
    await runRestore(deps, restoreId);
    expect(await countsOf(deps, restoreId)).toEqual({ updated: 3, unchanged: 6, missing: 1, failed: 0, conflicting: 0 });
    // The twin that loses a write finds the record stamped by its own restore and rebuilds the same event: stored once.
    expect(deps.records.changeEvents.map((event) => event.recordId).sort()).toEqual(['d02', 'd03', 'd05']);
  });

  it('writes nothing from a segment file altered since the plan', async () => {
    const { deps, plan, restoreId } = await started();
    const key = planSegmentKey('acme', plan.id, 0);
    const before = await liveDeals(deps);
    deps.blobs.objects.set(key, Buffer.from(deps.blobs.objects.get(key)!.toString('utf8').replace('"Deal 1"', '"Hacked"')));
    await expect(applyRestoreBatch({ accountId: 'acme', restoreId, segment: 0 }, deps, { remainingMs: () => 900_000 })).rejects.toMatchObject({
      name: 'StepFailedError',
      message: expect.stringMatching(/not what was planned/),
    });
    expect(await liveDeals(deps)).toEqual(before);
  });

  it('does nothing for a restore that is no longer running', async () => {
    const { deps, restoreId } = await started();
    await deps.restores.updateRestore('acme', restoreId, { status: 'FAILED' }, ['RUNNING']);
    const before = await liveDeals(deps);
    expect(await applyRestoreBatch({ accountId: 'acme', restoreId, segment: 0 }, deps, { remainingMs: () => 900_000 })).toEqual({ accountId: 'acme', restoreId, segment: 0, done: true });
    expect(await liveDeals(deps)).toEqual(before);
  });
});
