import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LockLostError, TransientError } from '#core/errors.ts';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { planSegmentKey } from '#core/restores/restore-policy.ts';
import type { AppDeps } from '#runtime/deps.ts';
import { capturedLogs } from '../support/log-capture.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';
import { stopExecution } from '../support/stand-ins.ts';

const GLOBEX_ADMIN = 'admin@globex.example';
const SSO_ADMIN = 'sso-admin@acme.example';
const acknowledge = { changesData: true, cannotBeUndone: true };

/** How many times the handlers counted `metric` in this file so far (embedded-metric-format lines). */
const counted = (metric: string) => capturedLogs().filter((line) => line._aws && metric in line).length;

/** Writes that succeed and then report a transient failure, as if the Lambda died after writing. */
const faults: { crashAfterWriteAt?: number; writes: number; gate?: Promise<void> } = { writes: 0 };

function withFaults(deps: AppDeps): AppDeps {
  const records = deps.records;
  const wrapped = Object.create(records) as typeof records;
  wrapped.updateRecord = async (...args: Parameters<typeof records.updateRecord>) => {
    if (args[4]?.stamp?.restoreId && faults.gate) await faults.gate;
    const outcome = await records.updateRecord(...args);
    if (args[4]?.stamp?.restoreId) {
      faults.writes += 1;
      if (faults.writes === faults.crashAfterWriteAt) throw new TransientError('injected: the write landed, the answer was lost');
    }
    return outcome;
  };
  return { ...deps, records: wrapped, config: { ...deps.config, restoreTuning: { segmentRecords: 10, batchRecords: 4 } } };
}

let offsetMs = 0;
const clock = { now: () => new Date(Date.now() + offsetMs) };

describe('restore safety', () => {
  let runtime: TestRuntime;
  let acmeBackup: string;
  let globexPlan: string;
  let globexSecret: string;

  beforeAll(async () => {
    runtime = await startTestRuntime({ clock, wrapDeps: withFaults });
    globexSecret = /admin@globex\.example\s+secret (\w+)/.exec(await runtime.banner())![1]!;
    acmeBackup = (await runtime.api('POST', '/v1/backups', { as: SSO_ADMIN })).body.id;
    const globexBackup = (await runtime.api('POST', '/v1/backups', { as: GLOBEX_ADMIN })).body.id;
    await runtime.idle();
    const planned = await runtime.api('POST', `/v1/backups/${globexBackup}/restore-plans`, {
      as: GLOBEX_ADMIN,
      body: { objectType: 'p_projects', properties: ['phase'] },
    });
    expect(planned.status, JSON.stringify(planned.body)).toBe(201);
    globexPlan = planned.body.id;
  });

  afterAll(async () => {
    await runtime?.destroy();
  });

  it('counts a batch retried after its write landed exactly once, with one change event per record', async () => {
    const ids = [...(await runtime.deps.records.listRecords('acme', 'tasks', { limit: 40 })).items.map((record) => record.id)].sort();
    const changed = ids.slice(0, 12);
    for (const id of changed) {
      await runtime.api('PATCH', `/v1/objects/tasks/records/${id}`, { as: SSO_ADMIN, body: { properties: { hs_task_status: `edited ${id}` } } });
    }
    const planned = await runtime.api('POST', `/v1/backups/${acmeBackup}/restore-plans`, {
      as: SSO_ADMIN,
      body: { objectType: 'tasks', properties: ['hs_task_status'] },
    });
    expect(planned.body.recordsToChange).toBe(12);

    faults.writes = 0;
    faults.crashAfterWriteAt = 3;
    const started = await runtime.api('POST', '/v1/restores', { as: SSO_ADMIN, body: { planId: planned.body.id, acknowledge } });
    expect(started.status).toBe(202);
    await runtime.idle();
    faults.crashAfterWriteAt = undefined;

    const restore = (await runtime.api('GET', `/v1/restores/${started.body.id}`, { as: SSO_ADMIN })).body;
    expect(restore).toMatchObject({ status: 'SUCCEEDED', counts: { updated: 12, unchanged: 28, missing: 0, failed: 0, conflicting: 0 }, progress: { done: 40, total: 40 } });
    for (const id of changed) {
      const events = (await runtime.api('GET', `/v1/change-events?recordId=${id}`, { as: SSO_ADMIN })).body.items;
      expect(events.filter((event: { restoreId?: string }) => event.restoreId === restore.id), id).toHaveLength(1);
    }
  });

  it('applies what is true when it runs: records edited back, deleted or edited again after the plan', async () => {
    const records = (await runtime.deps.records.listRecords('acme', 'products', { limit: 40 })).items.sort((a, b) => a.id.localeCompare(b.id));
    const backedUp = new Map(records.map((record) => [record.id, record.properties.name ?? '']));
    const patchName = (id: string, name: string) =>
      runtime.api('PATCH', `/v1/objects/products/records/${id}`, { as: SSO_ADMIN, body: { properties: { name } } });
    const renamed = records.slice(0, 8).map((record) => record.id);
    for (const id of renamed) expect((await patchName(id, `renamed ${id}`)).status).toBe(200);
    const planned = await runtime.api('POST', `/v1/backups/${acmeBackup}/restore-plans`, { as: SSO_ADMIN, body: { objectType: 'products', properties: ['name'] } });
    expect(planned.body).toMatchObject({ recordsToChange: 8, recordsUnchanged: 32 });

    // After the plan was reviewed, before the restore runs:
    const [editedBack, deleted, editedAgain] = renamed as [string, string, string];
    const editedLater = records[8]!.id; // unchanged when planned
    expect((await patchName(editedBack, backedUp.get(editedBack)!)).status).toBe(200);
    expect((await runtime.api('DELETE', `/v1/objects/products/records/${deleted}`, { as: SSO_ADMIN })).status).toBe(204);
    expect((await patchName(editedAgain, 'a third name')).status).toBe(200);
    expect((await patchName(editedLater, 'a later name')).status).toBe(200);

    const started = await runtime.api('POST', '/v1/restores', { as: SSO_ADMIN, body: { planId: planned.body.id, acknowledge } });
    expect(started.status).toBe(202);
    await runtime.idle();
    const restore = (await runtime.api('GET', `/v1/restores/${started.body.id}`, { as: SSO_ADMIN })).body;
    expect(restore).toMatchObject({ status: 'SUCCEEDED', counts: { updated: 7, unchanged: 32, missing: 1, failed: 0, conflicting: 0 } });

    for (const record of records) {
      const today = await runtime.api('GET', `/v1/objects/products/records/${record.id}`, { as: SSO_ADMIN });
      if (record.id === deleted) expect(today.status, 'a deleted record stays deleted').toBe(404);
      else expect(today.body.properties.name ?? '', record.id).toBe(backedUp.get(record.id));
    }
    const restoreEvents = async (id: string) =>
      (await runtime.api('GET', `/v1/change-events?recordId=${id}`, { as: SSO_ADMIN })).body.items.filter((event: { restoreId?: string }) => event.restoreId === restore.id);
    expect(await restoreEvents(editedBack)).toEqual([]);
    expect((await restoreEvents(editedAgain))[0].changes).toEqual([{ property: 'name', from: 'a third name', to: backedUp.get(editedAgain) }]);
    expect((await restoreEvents(editedLater))[0].changes).toEqual([{ property: 'name', from: 'a later name', to: backedUp.get(editedLater) }]);
  });

  it('reads only the properties being restored, and the stamp, of the records it must check (a projection in the store)', async () => {
    const [record] = (await runtime.deps.records.listRecords('acme', 'tickets', { limit: 1 })).items;
    const id = record!.id;
    expect((await runtime.api('PATCH', `/v1/objects/tickets/records/${id}`, { as: SSO_ADMIN, body: { properties: { subject: `stamped ${id}` } } })).status).toBe(200);
    const whole = (await runtime.deps.records.getStampedRecords('acme', 'tickets', [id])).get(id)!;
    expect(Object.keys(whole.record.properties).length).toBeGreaterThan(2);
    expect(whole.stamp).toMatchObject({ source: 'USER', before: { subject: expect.any(String) } });
    const read = (await runtime.deps.records.getStampedRecords('acme', 'tickets', [id, 'no-such-ticket'], { properties: ['subject', 'not_a_property'] }));
    expect([...read.entries()]).toEqual([[id, { record: { id, properties: { subject: `stamped ${id}` } }, stamp: whole.stamp }]]);
    const stampOnly = await runtime.deps.records.getStampedRecords('acme', 'tickets', [id], { properties: [] });
    expect(stampOnly.get(id)).toEqual({ record: { id, properties: {} }, stamp: whole.stamp });
  });

  it('refuses plan files altered in storage after planning: FAILED with a sentence, nothing written from them', async () => {
    const records = (await runtime.deps.records.listRecords('acme', 'companies', { limit: 40 })).items;
    for (const record of records.slice(0, 6)) {
      expect((await runtime.api('PATCH', `/v1/objects/companies/records/${record.id}`, { as: SSO_ADMIN, body: { properties: { name: `renamed ${record.id}` } } })).status).toBe(200);
    }
    const planned = await runtime.api('POST', `/v1/backups/${acmeBackup}/restore-plans`, { as: SSO_ADMIN, body: { objectType: 'companies', properties: ['name'] } });
    expect(planned.body.recordsToChange).toBe(6);
    const plan = (await runtime.deps.restores.getPlan('acme', planned.body.id))!;
    expect(plan.segments.length).toBeGreaterThan(1);
    // Someone with write access to the bucket puts other values into every segment file.
    for (let segment = 0; segment < plan.segments.length; segment += 1) {
      const key = planSegmentKey('acme', plan.id, segment);
      const original = await text(await runtime.deps.blobs.read(key));
      const altered = original.replace(/"name":"[^"]*"/g, '"name":"ATTACKER"');
      expect(altered).not.toBe(original);
      await runtime.deps.blobs.upload(key, Readable.from([altered]));
    }
    const before = JSON.stringify((await runtime.deps.records.listRecords('acme', 'companies', { limit: 40 })).items);

    const started = await runtime.api('POST', '/v1/restores', { as: SSO_ADMIN, body: { planId: plan.id, acknowledge } });
    expect(started.status).toBe(202);
    await runtime.idle();
    const restore = (await runtime.api('GET', `/v1/restores/${started.body.id}`, { as: SSO_ADMIN })).body;
    expect(restore.status).toBe('FAILED');
    expect(restore.error).toMatch(/not what was planned \(it was altered or damaged\)/);
    expect(restore.counts).toEqual({ updated: 0, unchanged: 0, missing: 0, failed: 0, conflicting: 0 });
    expect(JSON.stringify((await runtime.deps.records.listRecords('acme', 'companies', { limit: 40 })).items)).toBe(before);
    expect((await runtime.deps.lock.get('acme'))).toBeUndefined();
  });

  it('marks a stopped restore FAILED and frees the lock (the execution-status rule)', async () => {
    const ids = [...(await runtime.deps.records.listRecords('acme', 'calls', { limit: 40 })).items.map((record) => record.id)].sort();
    await runtime.api('PATCH', `/v1/objects/calls/records/${ids[0]}`, { as: SSO_ADMIN, body: { properties: { hs_call_title: 'edited' } } });
    const planned = await runtime.api('POST', `/v1/backups/${acmeBackup}/restore-plans`, {
      as: SSO_ADMIN,
      body: { objectType: 'calls', properties: ['hs_call_title'] },
    });
    let open!: () => void;
    faults.gate = new Promise<void>((resolve) => (open = resolve));
    const failedBefore = counted('RestoresFailed');
    try {
      const started = await runtime.api('POST', '/v1/restores', { as: SSO_ADMIN, body: { planId: planned.body.id, acknowledge } });
      expect(started.status).toBe(202);
      expect((await runtime.deps.lock.get('acme'))?.holder).toBe(started.body.id);
      await stopExecution(runtime, runtime.config.restoreStateMachineArn, started.body.id);
      open();
      await runtime.idle();
      const stopped = (await runtime.api('GET', `/v1/restores/${started.body.id}`, { as: SSO_ADMIN })).body;
      expect(stopped).toMatchObject({ status: 'FAILED', error: 'The restore was stopped before it finished.' });
      expect(await runtime.deps.lock.get('acme')).toBeUndefined();
      const audit = (await runtime.api('GET', '/v1/audit-log?limit=100', { as: SSO_ADMIN })).body.items;
      expect(audit.filter((entry: { action: string; resourceId: string }) => entry.action === 'RESTORE_FAILED' && entry.resourceId === started.body.id)).toHaveLength(1);
      // The Catch and the execution-status rule may both conclude it: the one that announces it counts it.
      expect(counted('RestoresFailed') - failedBefore).toBe(1);
    } finally {
      faults.gate = undefined;
      open?.();
    }
  });

  it('hands the lock over only after its lease ended, and the old holder then stops (fencing)', async () => {
    const lock = runtime.deps.lock;
    const t0 = Date.now();
    expect(await lock.acquire('lock-test', 'rs_a', { now: t0, durationMs: 300_000 })).toMatchObject({ acquired: true });
    expect(await lock.acquire('lock-test', 'rs_b', { now: t0 + 60_000, durationMs: 300_000 })).toEqual({
      acquired: false,
      holder: 'rs_a',
      leaseExpiresAt: t0 + 300_000,
    });
    await lock.renew('lock-test', 'rs_a', { now: t0 + 120_000, durationMs: 300_000 });
    expect(await lock.acquire('lock-test', 'rs_b', { now: t0 + 400_000, durationMs: 300_000 })).toMatchObject({ acquired: false });
    // rs_a crashed: its lease (renewed until t0 + 420 s) ends, and rs_b takes over.
    expect(await lock.acquire('lock-test', 'rs_b', { now: t0 + 421_000, durationMs: 300_000 })).toMatchObject({ acquired: true });
    await expect(lock.renew('lock-test', 'rs_a', { now: t0 + 422_000, durationMs: 300_000 })).rejects.toBeInstanceOf(LockLostError);
    expect(await lock.release('lock-test', 'rs_a')).toBe(false);
    expect((await lock.get('lock-test'))?.holder).toBe('rs_b');
    expect(await lock.release('lock-test', 'rs_b')).toBe(true);
    expect(await lock.get('lock-test')).toBeUndefined();
  });

  it('locks a user out for 15 minutes after 5 wrong TOTP codes', async () => {
    const post = (totp: string) => runtime.api('POST', '/v1/restores', { as: GLOBEX_ADMIN, body: { planId: globexPlan, acknowledge, totp } });
    const code = () => generate({ secret: globexSecret, epoch: Math.floor(clock.now().getTime() / 1000) });
    const wrong = async () => ((await code()) === '123456' ? '654321' : '123456');
    for (let attempt = 1; attempt <= 5; attempt += 1) {
      const refused = await post(await wrong());
      expect(refused.status).toBe(401);
      expect(refused.body.error.code).toBe('REAUTH_FAILED');
    }
    const locked = await post(await code());
    expect(locked.status).toBe(401);
    expect(locked.body.error.message).toMatch(/Too many wrong codes/);
    expect((await runtime.api('GET', '/v1/restores', { as: GLOBEX_ADMIN })).body.items).toEqual([]);

    offsetMs += 16 * 60_000;
    const accepted = await post(await code());
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
    await runtime.idle();
    expect((await runtime.api('GET', `/v1/restores/${accepted.body.id}`, { as: GLOBEX_ADMIN })).body.status).toBe('SUCCEEDED');
  });

  it('accepts one TOTP code once, even from two concurrent requests', async () => {
    offsetMs += 30_000;
    const code = await generate({ secret: globexSecret, epoch: Math.floor(clock.now().getTime() / 1000) });
    const post = () => runtime.api('POST', '/v1/restores', { as: GLOBEX_ADMIN, body: { planId: globexPlan, acknowledge, totp: code } });
    const answers = await Promise.all([post(), post()]);
    expect(answers.map((answer) => answer.status).sort()).toEqual([202, 401]);
    await runtime.idle();
  });

  it("enrols a super admin's authenticator pending an emailed confirmation, which only the newest link and a code complete", async () => {
    const linkIn = async (secret: string) => {
      const emails = (await runtime.outbox()).filter((email) => email.to.includes(SSO_ADMIN) && /authenticator/i.test(email.subject));
      expect(emails.every((email) => !email.text.includes(secret))).toBe(true);
      return /#token=([\w-]+)/.exec(emails[0]!.text)![1]!;
    };
    const enrolled = await runtime.api('POST', '/v1/me/totp-enrolment', { as: SSO_ADMIN });
    expect(enrolled.status).toBe(201);
    expect(enrolled.body).toMatchObject({ status: 'PENDING_CONFIRMATION', confirmationSentTo: SSO_ADMIN });
    expect(enrolled.body.otpauthUri).toMatch(/^otpauth:\/\/totp\/crm-backup:sso-admin%40acme\.example\?secret=[A-Z2-7]+/);
    expect(enrolled.body.otpauthUri).toContain(enrolled.body.secret);
    const firstLink = await linkIn(enrolled.body.secret);
    // Unconfirmed, it can be replaced (a lost QR code): the first link stops working.
    const again = await runtime.api('POST', '/v1/me/totp-enrolment', { as: SSO_ADMIN });
    expect(again.status).toBe(201);
    expect(again.body.secret).not.toBe(enrolled.body.secret);
    const secondLink = await linkIn(again.body.secret);
    const code = async (secret: string) => generate({ secret, epoch: Math.floor(clock.now().getTime() / 1000) });
    const confirm = async (token: string, secret: string) =>
      runtime.api('POST', '/v1/me/totp-enrolment/confirmation', { as: SSO_ADMIN, body: { token, totp: await code(secret) } });
    expect((await confirm(firstLink, again.body.secret)).body.error.code).toBe('INVALID_CONFIRMATION');
    const confirmed = await confirm(secondLink, again.body.secret);
    expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200);
    expect(confirmed.body.status).toBe('CONFIRMED');
    const third = await runtime.api('POST', '/v1/me/totp-enrolment', { as: SSO_ADMIN });
    expect(third.status).toBe(409);
    expect(third.body.error.code).toBe('TOTP_ALREADY_ENROLLED');
    expect((await runtime.api('POST', '/v1/me/totp-enrolment', { as: 'user@acme.example' })).status).toBe(403);
    // Stored encrypted, never in clear.
    const stored = await runtime.deps.totp.get('user-acme-sso-admin');
    expect(stored?.encryptedSecret).not.toContain(again.body.secret);
  });
});
