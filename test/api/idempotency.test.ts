import { randomUUID } from 'node:crypto';
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';
import { movableClock } from '../support/movable-clock.ts';

const ADMIN = 'admin@acme.example';
const acknowledge = { changesData: true, cannotBeUndone: true };
const clock = movableClock();

/** Idempotency-Key on the POST routes that start work (API.md, "Safe retries"). */
describe('Idempotency-Key', () => {
  let runtime: TestRuntime;
  let totpSecret: string;
  let backupId: string;

  const post = (path: string, key: string | undefined, body?: unknown, as = ADMIN) =>
    runtime.api('POST', path, { as, body, headers: key === undefined ? {} : { 'idempotency-key': key } });
  const audited = async (action: string) =>
    ((await runtime.api('GET', '/v1/audit-log?limit=500', { as: ADMIN })).body.items as Array<{ action: string; resourceId: string }>).filter((entry) => entry.action === action);
  /** A code of the next 30-second step: a step already used is refused. */
  const freshCode = async () => {
    clock.advance(30_000);
    return generate({ secret: totpSecret, epoch: Math.floor(clock.now().getTime() / 1000) });
  };

  beforeAll(async () => {
    runtime = await startTestRuntime({ clock });
    totpSecret = /admin@acme\.example\s+secret (\w+)/.exec(await runtime.banner())![1]!;
  });
  afterAll(async () => {
    await runtime?.destroy();
  });

  it('answers a retried backup request with the first response, and starts one backup', async () => {
    const key = randomUUID();
    const first = await post('/v1/backups', key);
    expect(first.status, JSON.stringify(first.body)).toBe(202);
    const again = await post('/v1/backups', key);
    expect(again.status).toBe(202);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('idempotency-replayed')).toBe('true');
    expect(first.headers.get('idempotency-replayed')).toBeNull();
    backupId = first.body.id;
    await runtime.idle();
    expect((await runtime.api('GET', '/v1/backups', { as: ADMIN })).body.items.map((backup: { id: string }) => backup.id)).toEqual([backupId]);
    expect((await audited('BACKUP_REQUESTED')).filter((entry) => entry.resourceId === backupId)).toHaveLength(1);
    // Without the key (or with a new one) it is a new request: the quota refuses it.
    expect((await post('/v1/backups', randomUUID())).status).toBe(429);
  });

  it('answers a retried plan with the same plan, writes one plan and one audit entry; another body with that key is 422', async () => {
    const key = randomUUID();
    const body = { objectType: 'deals', properties: ['dealname'] };
    const first = await post(`/v1/backups/${backupId}/restore-plans`, key, body);
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    const again = await post(`/v1/backups/${backupId}/restore-plans`, key, body);
    expect(again.status).toBe(201);
    expect(again.body.id).toBe(first.body.id);
    expect((await audited('RESTORE_PLANNED')).filter((entry) => entry.resourceId === first.body.id)).toHaveLength(1);
    expect((await audited('RESTORE_PLANNED'))).toHaveLength(1);

    const other = await post(`/v1/backups/${backupId}/restore-plans`, key, { objectType: 'deals', properties: ['amount'] });
    expect(other.status).toBe(422);
    expect(other.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect((await audited('RESTORE_PLANNED'))).toHaveLength(1);
  });

  it('answers a retried restore with the first 202: no second TOTP check, restore or audit entry', async () => {
    const plan = await post(`/v1/backups/${backupId}/restore-plans`, randomUUID(), { objectType: 'contacts', properties: ['firstname'] });
    expect(plan.status).toBe(201);
    const key = randomUUID();
    const body = { planId: plan.body.id, acknowledge, totp: await freshCode() };
    const first = await post('/v1/restores', key, body);
    expect(first.status, JSON.stringify(first.body)).toBe(202);
    await runtime.idle();
    // The response was lost; the client sends the same request again, same code and all.
    const again = await post('/v1/restores', key, body);
    expect(again.status, JSON.stringify(again.body)).toBe(202);
    expect(again.body).toEqual(first.body);
    const restores = (await runtime.api('GET', '/v1/restores', { as: ADMIN })).body.items;
    expect(restores.filter((restore: { planId: string }) => restore.planId === plan.body.id)).toHaveLength(1);
    expect((await audited('RESTORE_STARTED')).filter((entry) => entry.resourceId === first.body.id)).toHaveLength(1);
    expect(await audited('REAUTH_FAILED')).toEqual([]);
    // Without the key the same retry is a new request: the code was used, and is refused.
    const unkeyed = await post('/v1/restores', undefined, body);
    expect(unkeyed.status).toBe(401);
  });

  it('keeps no refusal: a wrong code, then the right one with the same key, restores', async () => {
    const plan = await post(`/v1/backups/${backupId}/restore-plans`, randomUUID(), { objectType: 'companies', properties: ['name'] });
    const key = randomUUID();
    const wrong = await post('/v1/restores', key, { planId: plan.body.id, acknowledge, totp: '000000' });
    expect(wrong.status).toBe(401);
    const right = await post('/v1/restores', key, { planId: plan.body.id, acknowledge, totp: await freshCode() });
    expect(right.status, JSON.stringify(right.body)).toBe(202);
    await runtime.idle();
  });

  it('scopes a key to its caller: the same key from another admin is their own request', async () => {
    const key = randomUUID();
    const acme = await post('/v1/backups/bk_doesnotexist/restore-plans', key, { objectType: 'deals', properties: ['dealname'] });
    expect(acme.status).toBe(404);
    const globex = await post('/v1/backups', key, undefined, 'admin@globex.example');
    expect(globex.status).toBe(202);
    expect(globex.headers.get('idempotency-replayed')).toBeNull();
    await runtime.idle();
  });

  it('answers one of two simultaneous requests with the same key, and the other 409 or the same answer', async () => {
    const key = randomUUID();
    const plan = { objectType: 'tickets', properties: ['subject'] };
    const answers = await Promise.all([post(`/v1/backups/${backupId}/restore-plans`, key, plan), post(`/v1/backups/${backupId}/restore-plans`, key, plan)]);
    const statuses = answers.map((answer) => answer.status).sort();
    expect([[201, 201], [201, 409]]).toContainEqual(statuses);
    const conflict = answers.find((answer) => answer.status === 409);
    if (conflict) {
      expect(conflict.body.error.code).toBe('IDEMPOTENCY_KEY_IN_USE');
      expect(conflict.headers.get('retry-after')).toBeTruthy();
    }
    const ids = new Set(answers.filter((answer) => answer.status === 201).map((answer) => answer.body.id));
    expect(ids.size).toBe(1);
  });

  it('refuses a key that is not 1 to 255 printable characters', async () => {
    for (const key of ['', 'has space', 'x'.repeat(256)]) {
      const answer = await post('/v1/backups', key);
      expect(answer.status, JSON.stringify(key)).toBe(400);
      expect(answer.body.error.field).toBe('Idempotency-Key');
    }
  });
});
