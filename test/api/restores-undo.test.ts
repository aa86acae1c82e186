import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CrmRecord } from '#core/model.ts';
import type { RestoreTuning } from '#core/restores/restore-policy.ts';
import type { AppDeps } from '#runtime/deps.ts';
import { allRecords } from '../support/data-plane.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';
import { movableClock } from '../support/movable-clock.ts';
import { bucketKeys } from '../support/stand-ins.ts';

const SSO_ADMIN = 'sso-admin@acme.example';
const USER = 'user@acme.example';
const CHOSEN = ['dealname', 'amount'];
const acknowledge = { changesData: true, cannotBeUndone: true };

/** Small segments and batches: 40 deals make 3 segments, each applied (and its ledger written) in several rounds. */
const tuning: RestoreTuning = { segmentRecords: 15, batchRecords: 6 };
function smallSegments(deps: AppDeps): AppDeps {
  return { ...deps, config: { ...deps.config, restoreTuning: tuning } };
}

const clock = movableClock();

/** The chosen properties of every deal, blanks as "": what the tests compare. */
function chosenValues(records: Map<string, CrmRecord>): Map<string, Record<string, string>> {
  return new Map([...records].map(([id, record]) => [id, Object.fromEntries(CHOSEN.map((name) => [name, record.properties[name] ?? '']))]));
}

describe('undoing a restore (issue 16 §1)', () => {
  let runtime: TestRuntime;
  let backupId: string;
  let ids: string[];
  /** The deals the restore changes: edited after the backup. */
  let edited: string[];
  /** Just before the restore, and just after it. */
  let beforeRestore: Map<string, Record<string, string>>;
  let afterRestore: Map<string, Record<string, string>>;
  let restore: { id: string; planId: string; counts: Record<string, number> };
  /** Edited after the restore (a conflict for the undo), and deleted after it (missing). */
  let editedSince = '';
  let deletedSince = '';

  const patch = (id: string, properties: Record<string, string>) => runtime.api('PATCH', `/v1/objects/deals/records/${id}`, { as: USER, body: { properties } });

  async function run(planId: string) {
    const started = await runtime.api('POST', '/v1/restores', { as: SSO_ADMIN, body: { planId, acknowledge } });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    await runtime.idle();
    return (await runtime.api('GET', `/v1/restores/${started.body.id}`, { as: SSO_ADMIN })).body;
  }

  beforeAll(async () => {
    runtime = await startTestRuntime({ clock, wrapDeps: smallSegments });
    const requested = await runtime.api('POST', '/v1/backups', { as: SSO_ADMIN });
    backupId = requested.body.id;
    await runtime.idle();
    ids = [...(await allRecords(runtime, 'acme', 'deals')).keys()].sort();

    // After the backup, 8 deals spread over the segments get a new name and amount: the restore sets them back.
    edited = ids.filter((_, i) => i % 5 === 0);
    for (const id of edited) expect((await patch(id, { dealname: `Renamed ${id}`, amount: '777' })).status).toBe(200);
    beforeRestore = chosenValues(await allRecords(runtime, 'acme', 'deals'));

    const plan = await runtime.api('POST', `/v1/backups/${backupId}/restore-plans`, { as: SSO_ADMIN, body: { objectType: 'deals', properties: CHOSEN } });
    expect(plan.status, JSON.stringify(plan.body)).toBe(201);
    expect(plan.body).toMatchObject({ kind: 'RESTORE', recordsToChange: edited.length });
    restore = await run(plan.body.id);
    expect(restore).toMatchObject({ kind: 'RESTORE', status: 'SUCCEEDED', counts: { updated: edited.length, conflicting: 0 } });
    afterRestore = chosenValues(await allRecords(runtime, 'acme', 'deals'));

    // After the restore: one deal's amount is edited again, another deal is deleted.
    editedSince = edited[1]!;
    deletedSince = edited[2]!;
    expect((await patch(editedSince, { amount: '31337' })).status).toBe(200);
    expect((await runtime.api('DELETE', `/v1/objects/deals/records/${deletedSince}`, { as: USER })).status).toBe(204);
  });

  afterAll(async () => {
    await runtime?.destroy();
  });

  it('keeps a ledger of what the restore changed beside its plan, one file per round that changed something', async () => {
    const keys = await bucketKeys(runtime, `plans/acme/${restore.planId}/ledger/${restore.id}/`);
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.every((key) => /segment-\d{5}\/\d{7}-[0-9a-f]{16}\.ndjson$/.test(key))).toBe(true);
  });

  let undoPlan: Record<string, any>;
  let undo: Record<string, any>;

  it('plans the undo: each property set back where the record still holds what the restore wrote; edits since are conflicts, deletions missing', async () => {
    const { status, body } = await runtime.api('POST', `/v1/restores/${restore.id}/undo-plan`, { as: SSO_ADMIN });
    expect(status, JSON.stringify(body)).toBe(201);
    undoPlan = body;
    expect(body).toMatchObject({
      kind: 'UNDO',
      undoOf: restore.id,
      status: 'READY',
      backupId,
      objectType: 'deals',
      properties: CHOSEN,
      recordsInBackup: edited.length,
      recordsToChange: edited.length - 2,
      recordsUnchanged: 0,
      recordsMissing: 1,
      recordsConflicting: 1,
    });
    expect(body.conflictSample).toEqual([{ recordId: editedSince, property: 'amount', wrote: afterRestore.get(editedSince)!.amount, now: '31337' }]);
    expect(body.perProperty).toEqual([
      { name: 'dealname', toChange: edited.length - 1, toClear: 0, conflicting: 0 },
      { name: 'amount', toChange: edited.length - 2, toClear: 0, conflicting: 1 },
    ]);
    const sampled = body.sample.find((entry: { recordId: string }) => entry.recordId === edited[0]);
    expect(sampled.changes).toContainEqual({ property: 'dealname', from: afterRestore.get(edited[0]!)!.dealname, to: `Renamed ${edited[0]}` });
    expect((await runtime.api('GET', `/v1/restore-plans/${body.id}`, { as: SSO_ADMIN })).body).toEqual(body);
  });

  it('runs the undo like a restore and gives back exactly the values before the restore, keeping the edit made since', async () => {
    undo = await run(undoPlan.id);
    expect(undo).toMatchObject({
      kind: 'UNDO',
      undoOf: restore.id,
      status: 'SUCCEEDED',
      counts: { updated: edited.length - 2, unchanged: 0, missing: 1, failed: 0, conflicting: 1 },
      conflicts: [{ recordId: editedSince, property: 'amount', wrote: afterRestore.get(editedSince)!.amount, now: '31337' }],
    });
    const today = chosenValues(await allRecords(runtime, 'acme', 'deals'));
    for (const id of ids) {
      if (id === deletedSince) {
        expect(today.has(id)).toBe(false);
        continue;
      }
      // The conflicting deal's name was still the restore's: it is set back; its amount, edited since, is kept.
      const expected = id === editedSince ? { ...beforeRestore.get(id)!, amount: '31337' } : beforeRestore.get(id)!;
      expect(today.get(id), id).toEqual(expected);
    }
  });

  it('is listed as "Data restore undo - Deal", audited, and its change events say which restore they undo', async () => {
    const imports = (await runtime.api('GET', '/v1/imports', { as: USER })).body.items;
    expect(imports).toContainEqual(expect.objectContaining({ name: 'Data restore undo - Deal', restoreId: undo.id, kind: 'UNDO', status: 'SUCCEEDED' }));
    const events = (await runtime.api('GET', `/v1/change-events?recordId=${edited[0]}`)).body.items;
    expect(events.find((event: { restoreId?: string }) => event.restoreId === undo.id)).toMatchObject({ source: 'RESTORE', undoOf: restore.id });
    const audit = (await runtime.api('GET', '/v1/audit-log?limit=100', { as: SSO_ADMIN })).body.items;
    const completed = audit.find((entry: { action: string; resourceId: string }) => entry.action === 'RESTORE_COMPLETED' && entry.resourceId === undo.id);
    expect(completed.summary).toContain(`The undo of restore ${restore.id}`);
    expect(completed.details).toMatchObject({ kind: 'UNDO', undoOf: restore.id });
    const mail = (await runtime.outbox()).find((email) => email.subject === 'Your restore undo of deals is complete');
    expect(mail?.text).toContain('1 edited since, left alone');
  });

  it('undoes the undo: the restore\'s values come back, the edit made since still kept', async () => {
    const planned = await runtime.api('POST', `/v1/restores/${undo.id}/undo-plan`, { as: SSO_ADMIN });
    expect(planned.status, JSON.stringify(planned.body)).toBe(201);
    expect(planned.body).toMatchObject({ kind: 'UNDO', undoOf: undo.id, recordsToChange: edited.length - 1, recordsConflicting: 0 });
    const again = await run(planned.body.id);
    expect(again).toMatchObject({ kind: 'UNDO', undoOf: undo.id, status: 'SUCCEEDED', counts: { updated: edited.length - 1, conflicting: 0, missing: 0 } });
    const today = chosenValues(await allRecords(runtime, 'acme', 'deals'));
    for (const id of ids) {
      if (id === deletedSince) continue;
      const expected = id === editedSince ? { ...afterRestore.get(id)!, amount: '31337' } : afterRestore.get(id)!;
      expect(today.get(id), id).toEqual(expected);
    }
  });

  it('at run time leaves alone a record edited between the plan and the run', async () => {
    const planned = await runtime.api('POST', `/v1/restores/${restore.id}/undo-plan`, { as: SSO_ADMIN });
    expect(planned.status).toBe(201);
    const target = edited[3]!;
    expect((await patch(target, { dealname: 'Edited between plan and run' })).status).toBe(200);
    const ran = await run(planned.body.id);
    expect(ran.counts.conflicting).toBeGreaterThanOrEqual(1);
    expect(ran.conflicts).toContainEqual({ recordId: target, property: 'dealname', wrote: afterRestore.get(target)!.dealname, now: 'Edited between plan and run' });
    const today = (await allRecords(runtime, 'acme', 'deals')).get(target)!;
    expect(today.properties.dealname).toBe('Edited between plan and run');
    // Its amount still held what the restore wrote, so it was set back.
    expect(today.properties.amount).toBe(beforeRestore.get(target)!.amount);
  });

  it('plans a big undo in the background (202 PLANNING, one ledger segment an invocation) to the same figures', async () => {
    const inCall = await runtime.api('POST', `/v1/restores/${restore.id}/undo-plan`, { as: SSO_ADMIN });
    Object.assign(tuning, { planBudgetMs: 0, planSegmentsPerInvocation: 1 });
    try {
      const posted = await runtime.api('POST', `/v1/restores/${restore.id}/undo-plan`, { as: SSO_ADMIN });
      expect(posted.status, JSON.stringify(posted.body)).toBe(202);
      expect(posted.body).toMatchObject({ kind: 'UNDO', status: 'PLANNING', progress: { total: edited.length } });
      await runtime.idle();
      const ready = (await runtime.api('GET', `/v1/restore-plans/${posted.body.id}`, { as: SSO_ADMIN })).body;
      const figures = (plan: Record<string, unknown>) => [plan.recordsInBackup, plan.recordsToChange, plan.recordsUnchanged, plan.recordsMissing, plan.recordsConflicting, plan.perProperty];
      expect(ready.status).toBe('READY');
      expect(figures(ready)).toEqual(figures(inCall.body));
    } finally {
      delete tuning.planBudgetMs;
      delete tuning.planSegmentsPerInvocation;
    }
  });

  it('refuses what cannot be undone, in words', async () => {
    expect((await runtime.api('POST', '/v1/restores/rs_nope/undo-plan', { as: SSO_ADMIN })).status).toBe(404);
    expect((await runtime.api('POST', `/v1/restores/${restore.id}/undo-plan`, { as: USER })).status).toBe(403);
    // A restore that changed nothing keeps no ledger, and has nothing to undo.
    const plan = await runtime.api('POST', `/v1/backups/${backupId}/restore-plans`, { as: SSO_ADMIN, body: { objectType: 'deals', properties: ['dealstage'] } });
    const nothing = await run(plan.body.id);
    expect(nothing.counts.updated).toBe(0);
    const refused = await runtime.api('POST', `/v1/restores/${nothing.id}/undo-plan`, { as: SSO_ADMIN });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'NOTHING_TO_UNDO', message: 'This restore changed no record, so there is nothing to undo.' });
    expect(await bucketKeys(runtime, `plans/acme/${nothing.planId}/ledger/`)).toEqual([]);
  });

  it('answers 410 once the backup the restore came from is past its retention', async () => {
    clock.advance(15 * 24 * 3_600_000);
    const { status, body } = await runtime.api('POST', `/v1/restores/${restore.id}/undo-plan`, { as: SSO_ADMIN });
    expect(status).toBe(410);
    expect(body.error.code).toBe('BACKUP_EXPIRED');
    expect(body.error.message).toMatch(/can no longer be used to undo it/);
  });
});
