import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RestoreTuning } from '#core/restores/restore-policy.ts';
import type { AppDeps } from '#runtime/deps.ts';
import { bucketKeys } from '../support/stand-ins.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';
import { movableClock } from '../support/movable-clock.ts';

const ADMIN = 'admin@acme.example';
const SSO_ADMIN = 'sso-admin@acme.example';
/** Whose edits are reverted. */
const CULPRIT = 'user@acme.example';
/** Someone else, whose edits must stay. */
const OTHER = 'admin@acme.example';

const clock = movableClock();

/** Small segments and runs: the deals' edits make several history runs and plan segments. Tests turn more knobs. */
const tuning: RestoreTuning = { segmentRecords: 2, batchRecords: 3, historyRunBytes: 300, historyMergeFanIn: 2 };
const tuned = (deps: AppDeps): AppDeps => ({ ...deps, config: { ...deps.config, restoreTuning: tuning } });

describe('revert plans API', () => {
  let runtime: TestRuntime;
  let ids: string[];
  const original = new Map<string, Record<string, string>>();
  let from = '';
  /** The first plan's figures, which a plan made in the background must repeat. */
  let figures: Record<string, unknown> = {};
  let to = '';
  /** What each record holds at the end of the edits, before the revert. */
  const edited = new Map<string, Record<string, string>>();
  const [twice, cleared, overwritten, deleted, otherOnly, mixed, before, after, untouched] = ['twice', 'cleared', 'overwritten', 'deleted', 'otherOnly', 'mixed', 'before', 'after', 'untouched'];
  const role = new Map<string, string>();

  const patch = async (as: string, name: string, properties: Record<string, string>) => {
    const response = await runtime.api('PATCH', `/v1/objects/deals/records/${role.get(name)}`, { as, body: { properties } });
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    clock.advance(1000);
  };
  const record = async (name: string) => (await runtime.api('GET', `/v1/objects/deals/records/${role.get(name)}`)).body;

  beforeAll(async () => {
    runtime = await startTestRuntime({ clock, wrapDeps: tuned });
    const listed = await runtime.api('GET', '/v1/objects/deals/records?limit=100');
    ids = listed.body.items.map((item: { id: string }) => item.id).sort();
    const names = [twice, cleared, overwritten, deleted, otherOnly, mixed, before, after, untouched];
    names.forEach((name, index) => role.set(name, ids[index]!));
    // Known values to start from, written to the store directly (no change events).
    const start = names.map((name, index) => ({ id: ids[index]!, properties: { dealname: `Deal ${name}`, amount: String(1000 + index), dealstage: 'appointmentscheduled', description: `About ${name}` } }));
    await runtime.deps.records.putRecords('acme', 'deals', start);
    for (const item of start) original.set(item.id, item.properties);

    // Before the window: the culprit edits `before` (outside the window, kept).
    await patch(CULPRIT, before, { dealname: 'Culprit before the window' });
    from = clock.now().toISOString();
    clock.advance(1000);
    // In the window.
    await patch(CULPRIT, twice, { dealname: 'Culprit 1', amount: '111' });
    await patch(CULPRIT, twice, { dealname: 'Culprit 2' });
    await patch(CULPRIT, cleared, { description: '' });
    await patch(CULPRIT, overwritten, { dealstage: 'culprit-stage' });
    await patch(OTHER, overwritten, { dealstage: 'fixed-by-someone-else' }); // a conflict
    await patch(CULPRIT, deleted, { dealname: 'Culprit then deleted' });
    expect((await runtime.api('DELETE', `/v1/objects/deals/records/${role.get(deleted)}`, { as: OTHER })).status).toBe(204);
    await patch(OTHER, otherOnly, { dealname: 'Someone else in the window' });
    await patch(CULPRIT, mixed, { amount: '222' });
    await patch(OTHER, mixed, { dealname: 'Someone else on the same record' });
    to = clock.now().toISOString();
    clock.advance(1000);
    // After the window: kept.
    await patch(CULPRIT, after, { dealname: 'Culprit after the window' });
    for (const name of names.filter((name) => name !== deleted)) {
      const properties = (await record(name)).properties;
      edited.set(name, Object.fromEntries(Object.keys(original.get(role.get(name)!)!).map((property) => [property, properties[property]])));
    }
  });

  afterAll(async () => {
    await runtime?.destroy();
  });

  it('plans exactly the culprit’s edits in the window, with conflicts and deleted records counted', async () => {
    const { status, body } = await runtime.api('POST', '/v1/revert-plans', { as: ADMIN, body: { objectType: 'deals', actor: CULPRIT, from, to } });
    expect(status, JSON.stringify(body)).toBe(201);
    expect(body).toMatchObject({
      kind: 'REVERT',
      status: 'READY',
      objectType: 'deals',
      actor: CULPRIT,
      from,
      to,
      recordsChanged: 5,
      recordsToChange: 3,
      recordsMissing: 1,
      recordsConflicting: 1,
      recordsUnchanged: 0,
    });
    expect(body.conflictSample).toEqual([{ recordId: role.get(overwritten), property: 'dealstage', wrote: 'culprit-stage', now: 'fixed-by-someone-else' }]);
    const perProperty = Object.fromEntries(body.perProperty.map((entry: { name: string }) => [entry.name, entry]));
    expect(perProperty.dealname).toMatchObject({ toChange: 1 });
    expect(perProperty.amount).toMatchObject({ toChange: 2 });
    expect(perProperty.dealstage).toMatchObject({ toChange: 0, conflicting: 1 });
    expect(perProperty.description).toMatchObject({ toChange: 1, toClear: 0 });
    const sample = body.sample.find((entry: { recordId: string }) => entry.recordId === role.get(twice));
    expect(sample.changes).toEqual(
      expect.arrayContaining([
        { property: 'dealname', from: 'Culprit 2', to: original.get(role.get(twice)!)!.dealname },
        { property: 'amount', from: '111', to: original.get(role.get(twice)!)!.amount },
      ]),
    );
    figures = { recordsChanged: body.recordsChanged, recordsToChange: body.recordsToChange, recordsMissing: body.recordsMissing, recordsConflicting: body.recordsConflicting, perProperty: body.perProperty, conflictSample: body.conflictSample };
    const audit = await runtime.api('GET', '/v1/audit-log?limit=5', { as: ADMIN });
    expect(audit.body.items.map((entry: { action: string }) => entry.action)).toContain('REVERT_PLANNED');
  });

  it('goes on in the background (202) when the API call runs out of time, to the same plan', async () => {
    // No time in the API call, and one checkpoint per invocation: the restore-plan machine resumes many times.
    Object.assign(tuning, { planBudgetMs: 0, planSegmentsPerInvocation: 1 });
    try {
      const { status, body } = await runtime.api('POST', '/v1/revert-plans', { as: ADMIN, body: { objectType: 'deals', actor: CULPRIT, from, to } });
      expect(status, JSON.stringify(body)).toBe(202);
      expect(body).toMatchObject({ kind: 'REVERT', status: 'PLANNING' });
      await runtime.idle();
      const ready = (await runtime.api('GET', `/v1/restore-plans/${body.id}`, { as: ADMIN })).body;
      expect(ready).toMatchObject({ status: 'READY', ...figures });
      expect(ready.work).toBeUndefined();
      // The history's runs are gone once planned; the segments stay for the run.
      const keys = await bucketKeys(runtime, `plans/acme/${body.id}/`);
      expect(keys.filter((key) => key.includes('/history/'))).toEqual([]);
      expect(keys.filter((key) => key.includes('/segment-')).length).toBeGreaterThan(1);
    } finally {
      Object.assign(tuning, { planBudgetMs: undefined, planSegmentsPerInvocation: undefined });
    }
  });

  it('runs like a restore and sets back those values and nothing else', async () => {
    const planned = await runtime.api('POST', '/v1/revert-plans', { as: SSO_ADMIN, body: { objectType: 'deals', actor: CULPRIT, from, to } });
    expect(planned.status).toBe(201);
    const started = await runtime.api('POST', '/v1/restores', { as: SSO_ADMIN, body: { planId: planned.body.id, acknowledge: { changesData: true, cannotBeUndone: true } } });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    expect(started.body).toMatchObject({ kind: 'REVERT', revert: { actor: CULPRIT, from, to } });
    expect(started.body.backupId).toBeUndefined();
    await runtime.idle();
    const restore = (await runtime.api('GET', `/v1/restores/${started.body.id}`, { as: SSO_ADMIN })).body;
    expect(restore).toMatchObject({ status: 'SUCCEEDED', kind: 'REVERT', counts: { updated: 3, unchanged: 0, missing: 0, failed: 0, conflicting: 0 } });

    const originalOf = (name: string) => original.get(role.get(name)!)!;
    // The four properties the test starts from (a record read also lists the type's other properties, blank).
    const now = async (name: string) => {
      const properties = (await record(name)).properties as Record<string, string>;
      return Object.fromEntries(Object.keys(originalOf(name)).map((property) => [property, properties[property]]));
    };
    // The culprit's values in the window are gone: back to before their first change.
    expect(await now(twice)).toEqual(originalOf(twice));
    expect(await now(cleared)).toEqual(originalOf(cleared));
    expect((await now(mixed)).amount).toBe(originalOf(mixed).amount);
    // Everything else is as it was left.
    expect((await now(mixed)).dealname).toBe('Someone else on the same record');
    expect(await now(overwritten)).toEqual(edited.get(overwritten));
    expect(await now(otherOnly)).toEqual(edited.get(otherOnly));
    expect(await now(before)).toEqual(edited.get(before));
    expect(await now(after)).toEqual(edited.get(after));
    expect(await now(untouched)).toEqual(originalOf(untouched));
    expect((await runtime.api('GET', `/v1/objects/deals/records/${role.get(deleted)}`)).status).toBe(404);

    // Like any restore: an imports entry, RESTORE change events carrying the revert, an email.
    const imports = await runtime.api('GET', '/v1/imports', { as: SSO_ADMIN });
    expect(imports.body.items[0]).toMatchObject({ name: 'Data revert - Deal', restoreId: restore.id, kind: 'REVERT' });
    const events = await runtime.api('GET', `/v1/change-events?recordId=${role.get(twice)}&limit=1`, { as: SSO_ADMIN });
    expect(events.body.items[0]).toMatchObject({ source: 'RESTORE', restoreId: restore.id, revertOf: planned.body.id, actor: SSO_ADMIN });
    const outbox = await runtime.outbox();
    expect(outbox.at(-1)).toMatchObject({ subject: 'Your revert of deals is complete' });

    // No backup keeps a revert: its undo is a revert of its own changes, and the refusal says which.
    const undo = await runtime.api('POST', `/v1/restores/${restore.id}/undo-plan`, { as: SSO_ADMIN });
    expect(undo.status, JSON.stringify(undo.body)).toBe(409);
    expect(undo.body.error).toMatchObject({ code: 'NOTHING_TO_UNDO' });
    expect(undo.body.error.message).toContain(`source RESTORE, by ${SSO_ADMIN}`);
  });

  it('answers 409 with a sentence on an account whose source keeps no change history (HubSpot)', async () => {
    const { status, body } = await runtime.api('POST', '/v1/revert-plans', { as: 'admin@initech.example', body: { objectType: 'contacts', source: 'INTEGRATION', from, to } });
    expect(status).toBe(409);
    expect(body.error).toMatchObject({ code: 'NO_CHANGE_HISTORY', source: 'hubspot' });
    expect(body.error.message).toMatch(/cannot be reverted.*backup/);
  });

  it.each([
    ['neither actor nor source', { objectType: 'deals', from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z' }, 'actor'],
    ['an unknown source', { objectType: 'deals', source: 'ROBOT', from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z' }, 'source'],
    ['a window ending before it starts', { objectType: 'deals', actor: CULPRIT, from: '2026-01-02T00:00:00Z', to: '2026-01-01T00:00:00Z' }, 'from'],
    ['a window over 31 days', { objectType: 'deals', actor: CULPRIT, from: '2026-01-01T00:00:00Z', to: '2026-03-01T00:00:00Z' }, 'from'],
    ['a window ending in the future', { objectType: 'deals', actor: CULPRIT, from: '2026-01-01T00:00:00Z', to: '2099-01-01T00:00:00Z' }, 'to'],
    ['a time that is not one', { objectType: 'deals', actor: CULPRIT, from: 'yesterday', to: '2026-01-01T00:00:00Z' }, 'from'],
    ['an unknown object type', { objectType: 'unicorns', actor: CULPRIT, from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z' }, 'objectType'],
    ['an unknown field', { objectType: 'deals', actor: CULPRIT, from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z', backupId: 'bk_1' }, undefined],
  ])('refuses %s with a 400 naming the field', async (_case, body, field) => {
    const response = await runtime.api('POST', '/v1/revert-plans', { as: ADMIN, body });
    expect(response.status, JSON.stringify(response.body)).toBe(400);
    expect(response.body.error.code).toBe('VALIDATION_ERROR');
    if (field) expect(response.body.error.field).toBe(field);
    expect(response.body.error.message).not.toMatch(/at .*\.ts/);
  });

  it('is for super admins only', async () => {
    const response = await runtime.api('POST', '/v1/revert-plans', { as: CULPRIT, body: { objectType: 'deals', actor: CULPRIT, from, to } });
    expect(response.status).toBe(403);
  });
});
