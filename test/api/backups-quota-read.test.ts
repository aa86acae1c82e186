import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';
import { movableClock } from '../support/movable-clock.ts';

const HOUR = 3600 * 1000;
const DAY = 24 * HOUR;

describe('GET /v1/backup-quota', () => {
  let runtime: TestRuntime;
  const clock = movableClock();

  beforeAll(async () => {
    runtime = await startTestRuntime({ clock });
  });
  afterAll(async () => {
    await runtime?.destroy();
  });

  it('allows a backup before any was taken', async () => {
    const acme = await runtime.api('GET', '/v1/backup-quota');
    expect(acme.status).toBe(200);
    expect(acme.body).toEqual({ tier: 'enterprise', period: '24 hours', allowed: true });
    const globex = await runtime.api('GET', '/v1/backup-quota', { as: 'admin@globex.example' });
    expect(globex.body).toEqual({ tier: 'professional', period: '7 days', allowed: true });
  });

  it('refuses a non-admin with 403', async () => {
    const response = await runtime.api('GET', '/v1/backup-quota', { as: 'user@acme.example' });
    expect(response.status).toBe(403);
    expect(response.body.error.code).toBeTruthy();
  });

  it('answers not allowed right after an Enterprise backup, with the 429 sentence and time, and only for that account', async () => {
    const started = await runtime.api('POST', '/v1/backups');
    expect(started.status).toBe(202);
    await runtime.idle();
    const { status, body } = await runtime.api('GET', '/v1/backup-quota');
    expect(status).toBe(200);
    expect(body).toMatchObject({ tier: 'enterprise', period: '24 hours', allowed: false });
    expect(Date.parse(body.nextAllowedAt)).toBe(Date.parse(started.body.createdAt) + DAY);
    const refused = await runtime.api('POST', '/v1/backups');
    expect(refused.status).toBe(429);
    expect(body.message).toBe(refused.body.error.message);
    expect(body.nextAllowedAt).toBe(refused.body.error.nextAllowedAt);
    // Another tenant's quota is untouched.
    expect((await runtime.api('GET', '/v1/backup-quota', { as: 'admin@globex.example' })).body).toEqual({ tier: 'professional', period: '7 days', allowed: true });
  });

  it('answers not allowed for 7 days after a Professional backup', async () => {
    const started = await runtime.api('POST', '/v1/backups', { as: 'admin@globex.example' });
    expect(started.status).toBe(202);
    await runtime.idle();
    const { body } = await runtime.api('GET', '/v1/backup-quota', { as: 'admin@globex.example' });
    expect(body).toMatchObject({ tier: 'professional', period: '7 days', allowed: false });
    expect(Date.parse(body.nextAllowedAt)).toBe(Date.parse(started.body.createdAt) + 7 * DAY);
    expect(body.message).toBe(`Professional accounts can create one backup every 7 days. The next backup is allowed at ${body.nextAllowedAt}.`);
  });

  it('allows again once the clock passes nextAllowedAt, as POST /v1/backups does', async () => {
    clock.advance(DAY + 1000);
    expect((await runtime.api('GET', '/v1/backup-quota')).body).toEqual({ tier: 'enterprise', period: '24 hours', allowed: true });
    expect((await runtime.api('GET', '/v1/backup-quota', { as: 'admin@globex.example' })).body.allowed).toBe(false);
    clock.advance(6 * DAY);
    expect((await runtime.api('GET', '/v1/backup-quota', { as: 'admin@globex.example' })).body.allowed).toBe(true);
    expect((await runtime.api('POST', '/v1/backups', { as: 'admin@globex.example' })).status).toBe(202);
    await runtime.idle();
  });

  it('counts a claim held by a backup that never started, past its grace period, as allowed', async () => {
    // A claimer that died after its claim: the claim exists, the backup was never stored.
    const now = clock.now();
    await runtime.deps.backups.claimQuota('acme', { backupId: 'bk_ghost', now: now.toISOString(), nextAllowedAt: new Date(now.getTime() + DAY).toISOString() });
    const early = (await runtime.api('GET', '/v1/backup-quota')).body;
    expect(early.allowed).toBe(false);
    // Within the grace period: the claim's real end, and when it lapses if never started, as the 429 says.
    expect(Date.parse(early.nextAllowedAt)).toBe(now.getTime() + DAY);
    expect(early.claimInProgress).toEqual({ backupId: 'bk_ghost', expiresAt: new Date(now.getTime() + 10 * 60_000).toISOString() });
    clock.advance(11 * 60_000);
    expect((await runtime.api('GET', '/v1/backup-quota')).body.allowed).toBe(true);
    expect((await runtime.api('POST', '/v1/backups')).status).toBe(202);
    await runtime.idle();
    expect((await runtime.api('GET', '/v1/backup-quota')).body.allowed).toBe(false);
  });
});
