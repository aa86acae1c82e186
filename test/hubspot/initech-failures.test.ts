import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';
import { movableClock } from '../support/movable-clock.ts';

/**
 * initech's backup when HubSpot says no: a revoked token (reconnect HubSpot, on the
 * page and in the email), then the portal's daily limit running out mid-backup
 * (FAILED with when it resets, the quota given back).
 */

const ADMIN = 'sso-admin@initech.example';

const clock = movableClock();
let runtime: TestRuntime;
let portal: { baseUrl: string; accessToken: string; portalId: number };
beforeAll(async () => {
  runtime = await startTestRuntime({ clock });
  portal = (await runtime.api('GET', '/local/hubspot', { as: null })).body;
});
afterAll(() => runtime?.destroy());

async function backUp(): Promise<{ id: string; status: string; error?: string; objects?: Array<{ objectType: string; status?: string }> }> {
  const started = await runtime.api('POST', '/v1/backups', { as: ADMIN });
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  await runtime.idle();
  return (await runtime.api('GET', `/v1/backups/${started.body.id}`, { as: ADMIN })).body;
}

const emailAbout = async (id: string) => (await runtime.outbox()).find((email) => email.to.includes(ADMIN) && email.text.includes(id));

describe('initech when HubSpot refuses', () => {
  it('fails a backup whose token was revoked with "reconnect HubSpot", gives the quota back, and works again once reconnected', async () => {
    runtime.hubspot.revokeToken(portal.accessToken);
    const failed = await backUp();
    expect(failed.status).toBe('FAILED');
    expect(failed.error).toContain('reconnect HubSpot');
    expect((await emailAbout(failed.id))?.text).toContain('reconnect HubSpot');
    expect((await runtime.api('GET', '/v1/backup-quota', { as: ADMIN })).body.allowed).toBe(true);

    const token = runtime.hubspot.issueToken(portal.portalId);
    const reconnected = await runtime.api('PUT', '/v1/source', { as: ADMIN, body: { type: 'hubspot', accessToken: token } });
    expect(reconnected.status, JSON.stringify(reconnected.body)).toBe(200);
    expect(reconnected.body.missingScopes).toEqual([]);
    expect((await backUp()).status).toBe('SUCCEEDED');
  });

  it('fails a backup when the portal\'s daily limit runs out part-way, saying when it resets, and gives the quota back', async () => {
    // Past Professional's one backup a week, into another day of the portal's.
    clock.advance(8 * 24 * 3600_000);
    const usage = await (await fetch(`${portal.baseUrl}/account-info/v3/api-usage/daily/private-apps`, { headers: { authorization: `Bearer ${runtime.hubspot.issueToken(portal.portalId)}` } })).json();
    // Enough for the object types and a few pages, not for the whole portal.
    runtime.hubspot.setRateLimits(portal.portalId, { daily: usage.results[0].currentUsage + 40 });
    const failed = await backUp();
    expect(failed.status).toBe('FAILED');
    expect(failed.error).toMatch(/daily API limit for portal \d+ is used up .*resets at midnight US\/Eastern \(\d{4}-\d\d-\d\dT/);
    expect(failed.objects?.some((object) => object.status === 'EXPORTED')).toBe(true);
    expect((await emailAbout(failed.id))?.text).toContain('daily API limit');
    expect((await runtime.api('GET', '/v1/backup-quota', { as: ADMIN })).body.allowed).toBe(true);
  });
});
