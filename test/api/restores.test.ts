import { Readable } from 'node:stream';
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CrmRecord } from '#core/model.ts';
import type { AppDeps } from '#runtime/deps.ts';
import { allRecords, dataPlaneHash } from '../support/data-plane.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';
import { movableClock } from '../support/movable-clock.ts';
import { bucketKeys } from '../support/stand-ins.ts';

const ADMIN = 'admin@acme.example';
const SSO_ADMIN = 'sso-admin@acme.example';
const CHOSEN = ['dealname', 'amount', 'dealstage', 'description'];

/** Faults the tests switch on: a gate that holds every restore write, or a failure after N writes. */
const faults: { gate?: Promise<void>; failAfterUpdates?: number; updates: number } = { updates: 0 };

function withFaults(deps: AppDeps): AppDeps {
  const records = deps.records;
  const wrapped = Object.create(records) as typeof records;
  wrapped.updateRecord = async (...args: Parameters<typeof records.updateRecord>) => {
    if (args[4]?.stamp?.restoreId) {
      if (faults.gate) await faults.gate;
      if (faults.failAfterUpdates !== undefined && faults.updates >= faults.failAfterUpdates) throw new Error('injected failure');
      faults.updates += 1;
    }
    return records.updateRecord(...args);
  };
  // Small segments and batches: 40 deals make 3 segments, each applied in several invocations.
  return { ...deps, records: wrapped, config: { ...deps.config, restoreTuning: { segmentRecords: 15, batchRecords: 6 } } };
}

/** Test time: real time plus an offset the tests move (a new TOTP step, expiry). */
const clock = movableClock();

describe('restores API', () => {
  let runtime: TestRuntime;
  let backupId: string;
  let backedUp: Map<string, CrmRecord>;
  let totpSecret: string;
  let ids: string[];
  const edits = { renamed: '', restaged: '', described: '', blanked: '', deleted: [] as string[], newer: 'deal-created-after-backup' };
  /** The chosen property that is blank in the backup for `edits.described` (so the restore clears it). */
  let clearedProperty = '';

  const totpNow = async () => generate({ secret: totpSecret, epoch: Math.floor(clock.now().getTime() / 1000) });
  /** The next 30-second step: a code of a step already used is refused. */
  const nextTotpStep = () => clock.advance(30_000);
  const acknowledge = { changesData: true, cannotBeUndone: true };

  async function plan(as = ADMIN, body: unknown = { objectType: 'deals', properties: CHOSEN }) {
    return runtime.api('POST', `/v1/backups/${backupId}/restore-plans`, { as, body });
  }

  async function restoreAndWait(planId: string, as = SSO_ADMIN, totp?: string) {
    const started = await runtime.api('POST', '/v1/restores', { as, body: { planId, acknowledge, ...(totp ? { totp } : {}) } });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    await runtime.idle();
    return (await runtime.api('GET', `/v1/restores/${started.body.id}`, { as })).body;
  }

  beforeAll(async () => {
    runtime = await startTestRuntime({ clock, wrapDeps: withFaults });
    totpSecret = /admin@acme\.example\s+secret (\w+)/.exec(await runtime.banner())![1]!;

    const requested = await runtime.api('POST', '/v1/backups', { as: ADMIN });
    expect(requested.status).toBe(202);
    backupId = requested.body.id;
    await runtime.idle();
    expect((await runtime.api('GET', `/v1/backups/${backupId}`)).body.status).toBe('SUCCEEDED');
    backedUp = await allRecords(runtime, 'acme', 'deals');
    ids = [...backedUp.keys()].sort();

    // After the backup: edits, a clear, a blanking, deletions, a new record, and an edit of a property not restored.
    const withValue = (property: string, used: string[]) => ids.find((id) => backedUp.get(id)!.properties[property] !== '' && !used.includes(id))!;
    const has = (id: string, ...properties: string[]) => properties.every((property) => backedUp.get(id)!.properties[property] !== '');
    edits.renamed = ids.find((id) => has(id, 'dealname', 'amount'))!;
    edits.restaged = ids.find((id) => id !== edits.renamed && has(id, 'dealstage'))!;
    edits.described = ids.filter((id) => id !== edits.renamed && id !== edits.restaged).find((id) => CHOSEN.some((property) => backedUp.get(id)!.properties[property] === ''))!;
    expect(edits.described, 'a demo deal with a blank among the chosen properties').toBeDefined();
    clearedProperty = CHOSEN.find((property) => backedUp.get(edits.described)!.properties[property] === '')!;
    edits.blanked = withValue('amount', [edits.renamed, edits.restaged, edits.described]);
    edits.deleted = ids.filter((id) => !Object.values(edits).includes(id)).slice(-2);
    const patch = (id: string, properties: Record<string, string>) =>
      runtime.api('PATCH', `/v1/objects/deals/records/${id}`, { as: 'user@acme.example', body: { properties } });
    expect((await patch(edits.renamed, { dealname: 'Renamed after the backup', amount: '123456', pipeline: 'edited-pipeline' })).status).toBe(200);
    expect((await patch(edits.restaged, { dealstage: 'closedlost-after-backup' })).status).toBe(200);
    expect((await patch(edits.described, { [clearedProperty]: 'Written after the backup' })).status).toBe(200);
    expect((await patch(edits.blanked, { amount: '' })).status).toBe(200);
    for (const id of edits.deleted) expect((await runtime.api('DELETE', `/v1/objects/deals/records/${id}`, { as: 'user@acme.example' })).status).toBe(204);
    await runtime.deps.records.putRecords('acme', 'deals', [{ id: edits.newer, properties: { dealname: 'Newer deal', amount: '1' } }]);
  });

  afterAll(async () => {
    await runtime?.destroy();
  });

  describe('planning', () => {
    it('counts changes, clears, missing and unchanged records exactly, changing nothing', async () => {
      const before = await dataPlaneHash(runtime);
      const { status, body } = await plan();
      expect(status, JSON.stringify(body)).toBe(201);
      expect(body).toMatchObject({
        backupId,
        objectType: 'deals',
        properties: CHOSEN,
        recordsInBackup: 40,
        recordsToChange: 4,
        recordsMissing: 2,
        recordsUnchanged: 34,
      });
      const expected = Object.fromEntries(CHOSEN.map((name) => [name, { name, toChange: 0, toClear: 0 }]));
      expected.dealname!.toChange += 1;
      expected.amount!.toChange += 2;
      expected.dealstage!.toChange += 1;
      expected[clearedProperty]!.toClear += 1;
      expect(body.perProperty).toEqual(CHOSEN.map((name) => expected[name]));
      const renamed = body.sample.find((entry: { recordId: string }) => entry.recordId === edits.renamed);
      expect(renamed.changes).toContainEqual({ property: 'dealname', from: 'Renamed after the backup', to: backedUp.get(edits.renamed)!.properties.dealname });
      expect(body.sample.find((entry: { recordId: string }) => entry.recordId === edits.described).changes).toEqual([
        { property: clearedProperty, from: 'Written after the backup', to: '' },
      ]);
      expect((await runtime.api('GET', `/v1/restore-plans/${body.id}`)).body).toEqual(body);
      expect(await dataPlaneHash(runtime)).toBe(before);
    });

    it.each([
      [{ objectType: 'conversations', properties: ['subject'] }, 'objectType', /cannot be restored/],
      [{ objectType: 'spaceships', properties: ['name'] }, 'objectType', /not an object type/],
      [{ objectType: 'deals', properties: ['warp_factor'] }, 'properties', /not a property/],
      [{ objectType: 'deals', properties: ['hs_createdate'] }, 'properties', /read-only/],
      [{ objectType: 'deals', properties: ['days_to_close'] }, 'properties', /calculated/],
      [{ objectType: 'deals', properties: [] }, 'properties', /at least one/],
      [{ objectType: 'deals', properties: ['dealname', 'constructor'] }, 'properties.1', /"constructor" is a reserved name/],
      [{ objectType: 'deals', properties: ['__proto__'] }, 'properties.0', /"__proto__" is a reserved name/],
      [{ objectType: 'prototype', properties: ['dealname'] }, 'objectType', /"prototype" is a reserved name/],
    ])('refuses %j with 400', async (body, field, message) => {
      const response = await plan(ADMIN, body);
      expect(response.status).toBe(400);
      expect(response.body.error).toMatchObject({ code: 'VALIDATION_ERROR', field });
      expect(response.body.error.message).toMatch(message);
    });

    it('answers 403 to users who are not super admins and 404 to other accounts', async () => {
      expect((await plan('user@acme.example')).status).toBe(403);
      expect((await plan('admin@globex.example')).status).toBe(404);
      const mine = await plan();
      expect((await runtime.api('GET', `/v1/restore-plans/${mine.body.id}`, { as: 'admin@globex.example' })).status).toBe(404);
    });

    it('answers 409 BACKUP_NOT_READY for a backup that is not SUCCEEDED', async () => {
      const running = { id: 'bk_000000000running', accountId: 'acme', status: 'RUNNING' as const, trigger: 'api' as const, requestedBy: ADMIN, createdAt: clock.now().toISOString() };
      await runtime.deps.backups.createBackup(running);
      const response = await runtime.api('POST', `/v1/backups/${running.id}/restore-plans`, { body: { objectType: 'deals', properties: CHOSEN } });
      expect(response.status).toBe(409);
      expect(response.body.error.code).toBe('BACKUP_NOT_READY');
    });
  });

  describe('starting', () => {
    it('refuses without both acknowledgements (400), without or with a wrong TOTP code (401), changing nothing', async () => {
      const { body: planned } = await plan();
      const before = await dataPlaneHash(runtime);
      const post = (body: unknown, as = ADMIN) => runtime.api('POST', '/v1/restores', { as, body });

      const noAck = await post({ planId: planned.id, totp: await totpNow() });
      expect(noAck.status).toBe(400);
      expect(noAck.body.error.field).toBe('acknowledge.changesData');
      const oneAck = await post({ planId: planned.id, acknowledge: { changesData: true }, totp: await totpNow() });
      expect(oneAck.status).toBe(400);
      expect(oneAck.body.error.field).toBe('acknowledge.cannotBeUndone');

      const noCode = await post({ planId: planned.id, acknowledge });
      expect(noCode.status).toBe(401);
      expect(noCode.body.error.code).toBe('REAUTH_REQUIRED');
      const wrongCode = await post({ planId: planned.id, acknowledge, totp: (await totpNow()) === '000000' ? '111111' : '000000' });
      expect(wrongCode.status).toBe(401);
      expect(wrongCode.body.error.code).toBe('REAUTH_FAILED');

      expect(await dataPlaneHash(runtime)).toBe(before);
      expect((await runtime.api('GET', '/v1/restores')).body.items).toEqual([]);
      expect(await runtime.deps.lock.get('acme')).toBeUndefined();
      const audit = (await runtime.api('GET', '/v1/audit-log')).body.items;
      expect(audit.map((entry: { action: string }) => entry.action)).toContain('REAUTH_FAILED');
    });
  });

  describe('a restore with TOTP', () => {
    let restore: any;
    let planId: string;

    beforeAll(async () => {
      nextTotpStep();
      planId = (await plan()).body.id;
      const code = await totpNow();
      const started = await runtime.api('POST', '/v1/restores', { body: { planId, acknowledge, totp: code } });
      expect(started.status, JSON.stringify(started.body)).toBe(202);
      expect(started.body).toMatchObject({ status: 'RUNNING', planId, backupId, objectType: 'deals', requestedBy: ADMIN, progress: { total: 40 } });
      // The same code again (a replay) is refused before anything else is looked at.
      const replay = await runtime.api('POST', '/v1/restores', { body: { planId, acknowledge, totp: code } });
      expect(replay.status).toBe(401);
      expect(replay.body.error.code).toBe('REAUTH_FAILED');
      await runtime.idle();
      restore = (await runtime.api('GET', `/v1/restores/${started.body.id}`)).body;
    });

    it('succeeds with exact counts and progress', () => {
      expect(restore).toMatchObject({
        status: 'SUCCEEDED',
        counts: { updated: 4, unchanged: 34, missing: 2, failed: 0 },
        progress: { done: 40, total: 40 },
      });
      expect(restore.completedAt).toBeDefined();
    });

    it('restores every chosen property, leaves other properties and newer records alone, and re-creates nothing', async () => {
      const today = await allRecords(runtime, 'acme', 'deals');
      for (const [id, backed] of backedUp) {
        if (edits.deleted.includes(id)) {
          expect(today.has(id), `${id} stays deleted`).toBe(false);
          continue;
        }
        for (const property of CHOSEN) expect(today.get(id)!.properties[property], `${id}.${property}`).toBe(backed.properties[property]);
        const others = Object.keys(backed.properties).filter((property) => !CHOSEN.includes(property) && !(id === edits.renamed && property === 'pipeline'));
        for (const property of others) expect(today.get(id)!.properties[property], `${id}.${property}`).toBe(backed.properties[property]);
      }
      expect(today.get(edits.renamed)!.properties.pipeline).toBe('edited-pipeline');
      expect(today.get(edits.newer)!.properties).toMatchObject({ dealname: 'Newer deal', amount: '1' });
      expect((await runtime.api('GET', `/v1/objects/deals/records/${edits.deleted[0]}`)).status).toBe(404);
    });

    it('lists the restore as the import "Data restore - Deal" with its counts', async () => {
      const { status, body } = await runtime.api('GET', '/v1/imports', { as: 'user@acme.example' });
      expect(status).toBe(200);
      expect(body.items).toContainEqual(
        expect.objectContaining({ name: 'Data restore - Deal', restoreId: restore.id, status: 'SUCCEEDED', counts: restore.counts }),
      );
    });

    it('audits the plan, the start and the completion', async () => {
      const { body } = await runtime.api('GET', '/v1/audit-log?limit=100');
      const about = (action: string) => body.items.filter((entry: { action: string }) => entry.action === action);
      expect(about('RESTORE_PLANNED').some((entry: { resourceId: string }) => entry.resourceId === planId)).toBe(true);
      expect(about('RESTORE_STARTED').some((entry: { resourceId: string; actor: string }) => entry.resourceId === restore.id && entry.actor === ADMIN)).toBe(true);
      expect(about('RESTORE_COMPLETED').filter((entry: { resourceId: string }) => entry.resourceId === restore.id)).toHaveLength(1);
      expect((await runtime.api('GET', '/v1/audit-log', { as: 'user@acme.example' })).status).toBe(403);
    });

    it('leaves a RESTORE change event on each changed record, and none on unchanged ones', async () => {
      const events = async (recordId: string) =>
        (await runtime.api('GET', `/v1/change-events?recordId=${recordId}`)).body.items.filter((event: { source: string }) => event.source === 'RESTORE');
      const [renamed] = await events(edits.renamed);
      expect(renamed).toMatchObject({ restoreId: restore.id, kind: 'UPDATED', objectType: 'deals', actor: ADMIN });
      expect(renamed.changes).toContainEqual({ property: 'dealname', from: 'Renamed after the backup', to: backedUp.get(edits.renamed)!.properties.dealname });
      expect(renamed.changes.map((change: { property: string }) => change.property).sort()).toEqual(['amount', 'dealname']);
      expect(await events(edits.described)).toHaveLength(1);
      const untouched = ids.find((id) => !Object.values(edits).flat().includes(id))!;
      expect(await events(untouched)).toEqual([]);
    });

    it('publishes each RESTORE change event on the record change bus, where workflows can re-enrol the record', async () => {
      const published = (await runtime.busEvents())
        .map((entry) => ({ bus: entry.EventBusName, source: entry.Source, detail: JSON.parse(entry.Detail) as { restoreId?: string; recordId: string } }))
        .filter((entry) => entry.detail.restoreId === restore.id);
      expect(published.map((entry) => entry.detail.recordId).sort()).toEqual([edits.renamed, edits.restaged, edits.described, edits.blanked].sort());
      expect(new Set(published.map((entry) => `${entry.bus} ${entry.source}`))).toEqual(new Set([`${runtime.config.eventBusName} crm-backup.records`]));
    });

    it('emails the requester', async () => {
      const mail = (await runtime.outbox()).find((email) => email.subject === 'Your restore of deals is complete');
      expect(mail?.to).toEqual([ADMIN]);
      expect(mail?.text).toContain('4 updated, 34 unchanged, 2 no longer exist, 0 failed');
    });

    it('frees the lock, and a restore of the same plan again changes nothing', async () => {
      expect(await runtime.deps.lock.get('acme')).toBeUndefined();
      const again = await restoreAndWait(planId);
      expect(again).toMatchObject({ status: 'SUCCEEDED', counts: { updated: 0, unchanged: 38, missing: 2, failed: 0 } });
    });

    it('answers 404 for another account and 403 for a user who is not a super admin', async () => {
      expect((await runtime.api('GET', `/v1/restores/${restore.id}`, { as: 'admin@globex.example' })).status).toBe(404);
      expect((await runtime.api('GET', `/v1/restores/${restore.id}`, { as: 'user@acme.example' })).status).toBe(403);
      expect((await runtime.api('GET', '/v1/restores', { as: 'admin@globex.example' })).body.items).toEqual([]);
    });
  });

  describe('an SSO admin', () => {
    it('restores without a TOTP code', async () => {
      await runtime.api('PATCH', `/v1/objects/deals/records/${ids[5]}`, { as: SSO_ADMIN, body: { properties: { dealname: 'SSO edit' } } });
      const { body: planned } = await plan(SSO_ADMIN);
      expect(planned.recordsToChange).toBe(1);
      const done = await restoreAndWait(planned.id, SSO_ADMIN);
      expect(done).toMatchObject({ status: 'SUCCEEDED', counts: { updated: 1 } });
      expect((await runtime.deps.records.getRecord('acme', 'deals', ids[5]!))!.properties.dealname).toBe(backedUp.get(ids[5]!)!.properties.dealname);
    });
  });

  describe('one restore at a time', () => {
    it('answers 409 RESTORE_IN_PROGRESS while a restore runs, with progress visible', async () => {
      await runtime.api('PATCH', `/v1/objects/deals/records/${ids[6]}`, { as: SSO_ADMIN, body: { properties: { dealname: 'Edit again' } } });
      const { body: planned } = await plan(SSO_ADMIN);
      let open!: () => void;
      faults.gate = new Promise<void>((resolve) => (open = resolve));
      try {
        const first = await runtime.api('POST', '/v1/restores', { as: SSO_ADMIN, body: { planId: planned.id, acknowledge } });
        expect(first.status).toBe(202);
        const second = await runtime.api('POST', '/v1/restores', { as: SSO_ADMIN, body: { planId: planned.id, acknowledge } });
        expect(second.status).toBe(409);
        expect(second.body.error).toMatchObject({ code: 'RESTORE_IN_PROGRESS', restoreId: first.body.id });
        const running = (await runtime.api('GET', `/v1/restores/${first.body.id}`)).body;
        expect(running.status).toBe('RUNNING');
        expect(running.progress.total).toBe(40);
        expect(running.progress.done).toBeLessThan(40);
        open();
        await runtime.idle();
        expect((await runtime.api('GET', `/v1/restores/${first.body.id}`)).body).toMatchObject({ status: 'SUCCEEDED', counts: { updated: 1 }, progress: { done: 40 } });
      } finally {
        faults.gate = undefined;
        open?.();
      }
    });
  });

  describe('a failure mid-way', () => {
    it('leaves FAILED with the counts of what was applied and the lock free; the same plan then completes', async () => {
      const changed = ids.filter((id) => !edits.deleted.includes(id)).slice(10, 20);
      for (const id of changed) {
        await runtime.api('PATCH', `/v1/objects/deals/records/${id}`, { as: SSO_ADMIN, body: { properties: { dealstage: `changed-${id}` } } });
      }
      const { body: planned } = await plan(SSO_ADMIN);
      expect(planned.recordsToChange).toBe(10);

      faults.updates = 0;
      faults.failAfterUpdates = 4;
      let failed;
      try {
        failed = await restoreAndWait(planned.id, SSO_ADMIN);
      } finally {
        faults.failAfterUpdates = undefined;
      }
      expect(failed).toMatchObject({ status: 'FAILED', error: 'An internal error stopped the restore.' });
      expect(failed.counts.updated).toBe(4);
      expect(failed.counts.failed).toBe(0);
      const today = await allRecords(runtime, 'acme', 'deals');
      expect(changed.filter((id) => today.get(id)!.properties.dealstage === backedUp.get(id)!.properties.dealstage)).toHaveLength(4);
      expect(await runtime.deps.lock.get('acme')).toBeUndefined();
      const audit = (await runtime.api('GET', '/v1/audit-log?limit=100')).body.items;
      expect(audit.some((entry: { action: string; resourceId: string }) => entry.action === 'RESTORE_FAILED' && entry.resourceId === failed.id)).toBe(true);
      expect((await runtime.outbox()).some((email) => email.subject === 'Your restore of deals failed')).toBe(true);

      const rerun = await restoreAndWait(planned.id, SSO_ADMIN);
      expect(rerun).toMatchObject({ status: 'SUCCEEDED', counts: { updated: 6, missing: 2, failed: 0 } });
      const after = await allRecords(runtime, 'acme', 'deals');
      for (const id of changed) expect(after.get(id)!.properties.dealstage).toBe(backedUp.get(id)!.properties.dealstage);
    });
  });

  describe('a damaged backup', () => {
    it('is refused with 409 BACKUP_DAMAGED, leaving no plan data behind', async () => {
      const backup = (await runtime.deps.backups.getBackup('acme', backupId))!;
      const original = await streamToBuffer(await runtime.deps.blobs.read(backup.zipKey!));
      const planObjects = async () =>
        (await bucketKeys(runtime, 'plans/acme/')).length;
      const before = await planObjects();
      // Flip one byte inside deals.csv's compressed data: the CRC or the SHA-256 must catch it.
      const dealsAt = original.indexOf('deals.csv');
      const damaged = Buffer.from(original);
      damaged[dealsAt + 200] = damaged[dealsAt + 200]! ^ 0xff;
      await runtime.deps.blobs.upload(backup.zipKey!, Readable.from([damaged]));
      try {
        const response = await plan();
        expect(response.status).toBe(409);
        expect(response.body.error.code).toBe('BACKUP_DAMAGED');
        expect(response.body.error.message).toMatch(/backup archive/);
        expect(await planObjects()).toBe(before);
      } finally {
        await runtime.deps.blobs.upload(backup.zipKey!, Readable.from([original]));
      }
      expect((await plan()).status).toBe(201);
    });
  });

  describe('expiry', () => {
    it('answers 410 BACKUP_EXPIRED once the backup expired, and 410 for plans past their expiry', async () => {
      const { body: planned } = await plan();
      clock.advance(15 * 24 * 3600 * 1000);
      const expired = await plan();
      expect(expired.status).toBe(410);
      expect(expired.body.error.code).toBe('BACKUP_EXPIRED');
      const stale = await runtime.api('GET', `/v1/restore-plans/${planned.id}`);
      expect(stale.status).toBe(410);
      expect(stale.body.error.code).toBe('PLAN_EXPIRED');
    });
  });
});

async function streamToBuffer(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
