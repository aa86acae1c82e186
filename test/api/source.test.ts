import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';
import { clientsOf } from '../support/stand-ins.ts';

/** GET/PUT/DELETE /v1/source: connecting an account to a HubSpot portal, checked live, token kept encrypted. */

const SSO_ADMIN = 'sso-admin@acme.example';

let runtime: TestRuntime;
let portalId: number;
beforeAll(async () => {
  runtime = await startTestRuntime({ recordsPerType: 10 });
  portalId = (await runtime.api('GET', '/local/hubspot', { as: null })).body.portalId;
});
afterAll(() => runtime?.destroy());

const appTableText = async () => JSON.stringify((await clientsOf(runtime).dynamodb.send(new ScanCommand({ TableName: runtime.config.appTableName }))).Items);

describe('/v1/source', () => {
  it('answers the built-in CRM by default, and a connected portal without its token; super admins only', async () => {
    expect((await runtime.api('GET', '/v1/source', { as: SSO_ADMIN })).body).toEqual({ type: 'builtin' });
    const initech = await runtime.api('GET', '/v1/source', { as: 'admin@initech.example' });
    expect(initech.body).toMatchObject({ type: 'hubspot', portalId, timeZone: 'US/Eastern', missingScopes: [] });
    expect(initech.body.scopes).toContain('crm.objects.contacts.read');
    const { accessToken } = (await runtime.api('GET', '/local/hubspot', { as: null })).body;
    expect(JSON.stringify(initech.body)).not.toContain(accessToken);
    expect(await appTableText()).not.toContain(accessToken);
    expect((await runtime.api('GET', '/v1/source', { as: 'user@acme.example' })).status).toBe(403);
    expect((await runtime.api('PUT', '/v1/source', { as: 'user@acme.example', body: { type: 'hubspot', accessToken: 'pat-na1-whatever' } })).status).toBe(403);
  });

  it('asks a password sign-in for a TOTP code, like a restore', async () => {
    const response = await runtime.api('PUT', '/v1/source', { as: 'admin@acme.example', body: { type: 'hubspot', accessToken: 'pat-na1-whatever' } });
    expect(response.status).toBe(401);
    expect(response.body.error).toMatchObject({ code: 'REAUTH_REQUIRED', message: expect.stringContaining('Connecting a data source') });
  });

  it('refuses a token HubSpot refuses, and other kinds of source, changing nothing', async () => {
    const revoked = runtime.hubspot.issueToken(portalId);
    runtime.hubspot.revokeToken(revoked);
    const refused = await runtime.api('PUT', '/v1/source', { as: SSO_ADMIN, body: { type: 'hubspot', accessToken: revoked } });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: 'VALIDATION_ERROR', field: 'accessToken', message: expect.stringContaining('HubSpot does not accept this token') });
    const other = await runtime.api('PUT', '/v1/source', { as: SSO_ADMIN, body: { type: 'salesforce', accessToken: 'x'.repeat(20) } });
    expect(other.status).toBe(400);
    expect((await runtime.api('GET', '/v1/source', { as: SSO_ADMIN })).body).toEqual({ type: 'builtin' });
  });

  it('connects a portal after checking the token live, names the scopes it lacks, audits, and backs up from it; disconnecting goes back', async () => {
    const all = (await runtime.api('GET', '/v1/source', { as: 'admin@initech.example' })).body.scopes as string[];
    const lacking = ['tickets', 'crm.objects.deals.write'];
    const token = runtime.hubspot.issueToken(portalId, { scopes: all.filter((scope) => !lacking.includes(scope)) });
    const connected = await runtime.api('PUT', '/v1/source', { as: SSO_ADMIN, body: { type: 'hubspot', accessToken: token } });
    expect(connected.status, JSON.stringify(connected.body)).toBe(200);
    expect(connected.body).toMatchObject({ type: 'hubspot', portalId, connectedBy: SSO_ADMIN });
    expect(connected.body.missingScopes.sort()).toEqual(lacking.sort());
    expect(JSON.stringify(connected.body)).not.toContain(token);
    expect(await appTableText()).not.toContain(token);

    const objects = (await runtime.api('GET', '/v1/objects', { as: SSO_ADMIN })).body.items.map((type: { name: string }) => type.name);
    expect(objects).not.toContain('p_subscriptions'); // acme's own custom object: the portal has none of that name
    const audit = (await runtime.api('GET', '/v1/audit-log', { as: SSO_ADMIN })).body.items;
    expect(audit[0]).toMatchObject({ action: 'SOURCE_CONNECTED', actor: SSO_ADMIN, summary: expect.stringContaining(`portal ${portalId}`) });

    // Without the tickets scope the backup stops at tickets, naming the scope, and gives the quota back.
    const backup = await runtime.api('POST', '/v1/backups', { as: SSO_ADMIN });
    expect(backup.status).toBe(202);
    await runtime.idle();
    const failed = (await runtime.api('GET', `/v1/backups/${backup.body.id}`, { as: SSO_ADMIN })).body;
    expect(failed.status).toBe('FAILED');
    expect(failed.error).toContain('grant tickets');
    expect((await runtime.api('GET', '/v1/backup-quota', { as: SSO_ADMIN })).body.allowed).toBe(true);
    const email = (await runtime.outbox()).find((candidate) => candidate.to.includes(SSO_ADMIN) && candidate.text.includes(backup.body.id));
    expect(email?.text).toContain('grant tickets');

    // No change of source while a restore holds the account's lock.
    await runtime.deps.lock.acquire('acme', 'rs_holding', { now: Date.now(), durationMs: 60_000 });
    const busy = await runtime.api('DELETE', '/v1/source', { as: SSO_ADMIN });
    expect(busy.status).toBe(409);
    expect(busy.body.error).toMatchObject({ code: 'SOURCE_IN_USE', restoreId: 'rs_holding' });
    await runtime.deps.lock.release('acme', 'rs_holding');

    const disconnected = await runtime.api('DELETE', '/v1/source', { as: SSO_ADMIN });
    expect(disconnected.status).toBe(200);
    expect(disconnected.body).toEqual({ type: 'builtin' });
    expect((await runtime.api('GET', '/v1/objects', { as: SSO_ADMIN })).body.items.map((type: { name: string }) => type.name)).toContain('p_subscriptions');
    expect((await runtime.api('GET', '/v1/audit-log', { as: SSO_ADMIN })).body.items[0]).toMatchObject({ action: 'SOURCE_DISCONNECTED' });
  });
});
