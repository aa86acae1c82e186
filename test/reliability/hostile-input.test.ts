import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_ROUTES } from '#service/catalog.ts';
import { MAX_TOTP_ATTEMPTS } from '#core/totp/reauthenticate.ts';
import { PLAN_LIFETIME_HOURS } from '#core/restores/restore-policy.ts';
import { startTestRuntime, type ApiResponse, type TestRuntime } from '../support/local-runtime.ts';
import {
  ACKNOWLEDGE,
  ACME_ADMIN,
  ACME_SSO_ADMIN,
  ACME_USER,
  GLOBEX_ADMIN,
  allRecords,
  dataPlaneHash,
  expectNoInternals,
  expectRefusal,
  movableClock,
  totpCode,
  totpSecretOf,
} from './support.ts';

const HOUR = 3_600_000;
const clock = movableClock();
const { advance } = clock;
const ROUTES = Object.keys(API_ROUTES);

/** One bad request and the refusal it must get. */
interface BadInput {
  label: string;
  method: string;
  path: string;
  /** A demo user, or null for none (then `token` may set the Authorization header). */
  as?: string | null;
  token?: string;
  /** A string is sent as is (malformed JSON); anything else as JSON. */
  body?: unknown;
  status: number;
  code?: string | RegExp;
}

const tally = { requests: 0, tables: {} as Record<string, number> };

describe('hostile and broken input', () => {
  let runtime: TestRuntime;
  const ids = { acmeBackup: '', globexBackup: '', acmePlan: '', globexPlan: '', acmeRestore: '', acmeDeal: '', globexDeal: '', acmeExport: '' };

  /** A request that every route would accept as a valid one from acme's SSO admin: tables break one thing in it. */
  function validRequest(routeKey: string): { method: string; path: string; body?: unknown } {
    const [method, template] = routeKey.split(' ') as [string, string];
    const path = template
      .replace('{type}', 'deals')
      .replace('{planId}', ids.acmePlan)
      .replace(
        '{id}',
        template.includes('/records/') ? ids.acmeDeal : template.startsWith('/v1/restores') ? ids.acmeRestore : template.startsWith('/v1/compare-exports') ? ids.acmeExport : ids.acmeBackup,
      );
    // The compare route's object type is a required query parameter.
    const query = routeKey === 'GET /v1/backups/{id}/compare' ? '?objectType=deals' : '';
    const bodies: Record<string, unknown> = {
      'PATCH /v1/objects/{type}/records/{id}': { properties: { dealname: 'changed by a refused request' } },
      'PUT /v1/backup-schedule': { enabled: true },
      'POST /v1/backups/{id}/restore-plans': { objectType: 'deals', properties: ['dealname'] },
      'POST /v1/revert-plans': { objectType: 'deals', actor: 'user@acme.example', from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z' },
      'POST /v1/restores': { planId: ids.acmePlan, acknowledge: ACKNOWLEDGE },
      'POST /v1/me/totp-enrolment/confirmation': { token: 'a-token-from-an-email', totp: '123456' },
      'POST /v1/backups/{id}/compare-exports': { objectType: 'deals' },
      'PUT /v1/alert-settings': { enabled: false, removedRecords: { percent: 1, atLeast: 1 }, changedProperty: { percent: 1, atLeast: 1 }, emptiedType: false },
    };
    return { method, path: `${path}${query}`, ...(routeKey in bodies ? { body: bodies[routeKey] } : {}) };
  }

  async function send(input: BadInput): Promise<ApiResponse> {
    tally.requests += 1;
    return runtime.api(input.method, input.path, {
      as: input.token !== undefined ? null : input.as === undefined ? ACME_SSO_ADMIN : input.as,
      body: input.body,
      headers: input.token !== undefined ? { authorization: input.token } : {},
    });
  }

  /** Runs a table: every request refused as it says, and the data plane of both accounts unchanged. */
  async function runTable(name: string, table: BadInput[]) {
    const hashBefore = await dataPlaneHash(runtime);
    const state = await appState();
    for (const input of table) {
      const response = await send(input);
      expectRefusal(response, input.status, input.code, `${name}: ${input.label} (${input.method} ${input.path.slice(0, 120)})`);
    }
    tally.tables[name] = (tally.tables[name] ?? 0) + table.length;
    expect(await dataPlaneHash(runtime), `${name}: data plane unchanged`).toBe(hashBefore);
    expect(await appState(), `${name}: no backup, restore, plan or schedule change`).toEqual(state);
  }

  /** Backups, restores and schedules of both accounts: a refused request adds or changes none. */
  async function appState() {
    const state: Record<string, unknown> = {};
    for (const accountId of ['acme', 'globex']) {
      state[`${accountId} backups`] = (await runtime.deps.backups.listBackups(accountId, { limit: 500 })).items.map((backup) => [backup.id, backup.status]);
      state[`${accountId} restores`] = (await runtime.deps.restores.listRestores(accountId, { limit: 500 })).items.map((restore) => [restore.id, restore.status]);
      state[`${accountId} schedule`] = (await runtime.deps.backups.getSchedule(accountId)).enabled;
      state[`${accountId} lock`] = await runtime.deps.lock.get(accountId);
    }
    return state;
  }

  beforeAll(async () => {
    runtime = await startTestRuntime({ clock });
    ids.acmeBackup = (await runtime.api('POST', '/v1/backups', { as: ACME_ADMIN })).body.id;
    ids.globexBackup = (await runtime.api('POST', '/v1/backups', { as: GLOBEX_ADMIN })).body.id;
    await runtime.idle();
    ids.acmeDeal = [...(await allRecords(runtime, 'acme', 'deals')).keys()].sort()[0]!;
    ids.globexDeal = [...(await allRecords(runtime, 'globex', 'deals')).keys()].sort()[0]!;
    // A finished restore of acme, then a change since the backup: a restore that slipped
    // through a check would change data, and the hash would show it.
    const first = await runtime.api('POST', `/v1/backups/${ids.acmeBackup}/restore-plans`, { as: ACME_SSO_ADMIN, body: { objectType: 'deals', properties: ['dealname'] } });
    const restore = await runtime.api('POST', '/v1/restores', { as: ACME_SSO_ADMIN, body: { planId: first.body.id, acknowledge: ACKNOWLEDGE } });
    expect(restore.status, JSON.stringify(restore.body)).toBe(202);
    ids.acmeRestore = restore.body.id;
    await runtime.idle();
    await runtime.api('PATCH', `/v1/objects/deals/records/${ids.acmeDeal}`, { as: ACME_SSO_ADMIN, body: { properties: { dealname: 'edited after the backup' } } });
    ids.acmePlan = (await runtime.api('POST', `/v1/backups/${ids.acmeBackup}/restore-plans`, { as: ACME_SSO_ADMIN, body: { objectType: 'deals', properties: ['dealname'] } })).body.id;
    ids.globexPlan = (await runtime.api('POST', `/v1/backups/${ids.globexBackup}/restore-plans`, { as: GLOBEX_ADMIN, body: { objectType: 'deals', properties: ['dealname'] } })).body.id;
    ids.acmeExport = (await runtime.api('POST', `/v1/backups/${ids.acmeBackup}/compare-exports`, { as: ACME_SSO_ADMIN, body: { objectType: 'deals' } })).body.id;
    expect(Object.values(ids).every(Boolean), JSON.stringify(ids)).toBe(true);
  });

  afterAll(async () => {
    console.log(JSON.stringify({ suite: 'hostile input', badRequests: tally.requests, perTable: tally.tables }));
    await runtime?.destroy();
  });

  it('answers 401 on every endpoint to missing, malformed, expired, unsigned, foreign-signed and claim-less tokens', async () => {
    const issuerKey = (runtime.issuer as unknown as { privateKey: CryptoKey }).privateKey;
    const other = await generateKeyPair('ES256');
    const acmeClaims = { email: ACME_SSO_ADMIN, 'custom:accountId': 'acme', 'cognito:groups': ['super-admins'] };
    const signWith = (key: CryptoKey | Uint8Array, alg: string, claims: JWTPayload, subject: string, edits: { iss?: string; aud?: string; exp?: number } = {}) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg })
        .setSubject(subject)
        .setIssuer(edits.iss ?? 'crm-backup-local')
        .setAudience(edits.aud ?? 'crm-backup')
        .setIssuedAt()
        .setExpirationTime(edits.exp ?? '1h')
        .sign(key);
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const valid = await runtime.tokenFor(ACME_SSO_ADMIN);
    const [header, payload] = valid.split('.') as [string, string, string];
    const tokens: Array<[string, string]> = [
      ['no Authorization header', ''],
      ['Basic instead of Bearer', `Basic ${Buffer.from('admin:admin').toString('base64')}`],
      ['a bearer that is not a JWT', 'Bearer not-a-token'],
      ['expired', `Bearer ${await runtime.issuer.sign(acmeClaims, 'user-acme-sso-admin', now - 60)}`],
      ['unsigned (alg: none)', `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...acmeClaims, sub: 'user-acme-sso-admin', iss: 'crm-backup-local', aud: 'crm-backup', exp: now + 3600 })}.`],
      ['signed by another key', `Bearer ${await signWith(other.privateKey, 'ES256', acmeClaims, 'user-acme-sso-admin')}`],
      ['HS256 keyed with the public key (algorithm confusion)', `Bearer ${await signWith(new TextEncoder().encode(JSON.stringify(await exportJWK(other.publicKey))), 'HS256', acmeClaims, 'user-acme-sso-admin')}`],
      ['a valid signature over another payload', `Bearer ${header}.${b64({ ...acmeClaims, 'custom:accountId': 'globex', sub: 'x', iss: 'crm-backup-local', aud: 'crm-backup', exp: now + 3600 })}.${valid.split('.')[2]}`],
      ['another issuer', `Bearer ${await signWith(issuerKey, 'ES256', acmeClaims, 'user-acme-sso-admin', { iss: 'https://evil.example' })}`],
      ['another audience', `Bearer ${await signWith(issuerKey, 'ES256', acmeClaims, 'user-acme-sso-admin', { aud: 'another-app' })}`],
      ['no account claim', `Bearer ${await runtime.issuer.sign({ email: ACME_SSO_ADMIN, 'cognito:groups': ['super-admins'] }, 'user-acme-sso-admin')}`],
      ['an empty account claim', `Bearer ${await runtime.issuer.sign({ ...acmeClaims, 'custom:accountId': '' }, 'user-acme-sso-admin')}`],
      ['no subject', `Bearer ${await runtime.issuer.sign(acmeClaims, '')}`],
      ['the payload of a valid token with its signature cut off', `Bearer ${header}.${payload}.`],
    ];
    const table: BadInput[] = [];
    for (const routeKey of ROUTES) {
      for (const [label, token] of tokens) table.push({ label: `${routeKey}: ${label}`, ...validRequest(routeKey), token, status: 401, code: 'UNAUTHORIZED' });
    }
    expect(table).toHaveLength(ROUTES.length * tokens.length);
    await runTable('tokens', table);
  });

  it("answers 403 to a user who is not a super admin, and 404 for another account's ids and object types, on every endpoint that has them", async () => {
    const table: BadInput[] = [];
    for (const routeKey of ROUTES) {
      const request = validRequest(routeKey);
      if (['backups-api', 'restores-api', 'comparisons-api'].includes(API_ROUTES[routeKey]!) || routeKey === 'GET /v1/audit-log') {
        table.push({ label: `${routeKey}: not a super admin`, ...request, as: ACME_USER, status: 403, code: 'FORBIDDEN' });
      }
      if (routeKey.includes('{')) {
        // Globex asks for acme's backup, plan, restore, record or custom object type.
        const foreign = routeKey.includes('{type}') ? request.path.replace('/deals/', '/p_subscriptions/').replace(/\/deals$/, '/p_subscriptions') : request.path;
        const body = routeKey === 'POST /v1/backups/{id}/restore-plans' ? request.body : routeKey.startsWith('PATCH') ? { properties: { name: 'x' } } : request.body;
        table.push({ label: `${routeKey}: acme's id asked by globex`, method: request.method, path: foreign, body, as: GLOBEX_ADMIN, status: 404, code: /NOT_FOUND$/ });
      }
    }
    // Ids in bodies and queries, too.
    table.push({ label: "a restore of acme's plan by globex", method: 'POST', path: '/v1/restores', as: GLOBEX_ADMIN, body: { planId: ids.acmePlan, acknowledge: ACKNOWLEDGE, totp: '000000' }, status: 404, code: /NOT_FOUND$/ });
    table.push({ label: "acme's deal in globex's deals", method: 'GET', path: `/v1/objects/deals/records/${ids.acmeDeal}`, as: GLOBEX_ADMIN, status: 404, code: 'NOT_FOUND' });
    table.push({ label: "acme's deal deleted through globex", method: 'DELETE', path: `/v1/objects/deals/records/${ids.acmeDeal}`, as: GLOBEX_ADMIN, status: 404, code: 'NOT_FOUND' });
    table.push({ label: "acme's deal edited through globex", method: 'PATCH', path: `/v1/objects/deals/records/${ids.acmeDeal}`, as: GLOBEX_ADMIN, body: { properties: { dealname: 'x' } }, status: 404, code: 'NOT_FOUND' });
    await runTable('permissions and tenants', table);
    // A record id of the other tenant in a query finds nothing rather than an error or a leak.
    const events = await send({ label: '', method: 'GET', path: `/v1/change-events?recordId=${ids.acmeDeal}`, as: GLOBEX_ADMIN, status: 200 });
    expect(events.status).toBe(200);
    expect(events.body.items).toEqual([]);
    // A page cursor acme was given, replayed by globex, pages through globex's own data only.
    for (const list of ['/v1/objects/deals/records', '/v1/change-events', '/v1/audit-log', '/v1/backups']) {
      const acmePage = await runtime.api('GET', `${list}?limit=1`, { as: ACME_ADMIN });
      expect(acmePage.body.nextCursor, list).toBeDefined();
      const replayed = await runtime.api('GET', `${list}?limit=500&cursor=${encodeURIComponent(acmePage.body.nextCursor)}`, { as: GLOBEX_ADMIN });
      expect([200, 400], list).toContain(replayed.status);
      const acmeIds = new Set((await runtime.api('GET', `${list}?limit=500`, { as: ACME_ADMIN })).body.items.map((item: { id: string }) => item.id));
      if (replayed.status === 200) expect(replayed.body.items.filter((item: { id: string }) => acmeIds.has(item.id)), list).toEqual([]);
      tally.requests += 1;
    }
  });

  it('refuses path tricks in every id with 400 or 404, touching nothing', async () => {
    const tricks: Array<[string, string]> = [
      ['encoded ../ climbing to globex', `..%2F..%2Fglobex%2F${ids.globexBackup}`],
      ['encoded ..', '..%2F..'],
      ['dots', '%2e%2e'],
      ['double-encoded ..', '%252e%252e%252f'],
      ['a NUL byte', `${ids.acmeBackup}%00`],
      ['only NUL', '%00'],
      ['a 2,000-character id', 'a'.repeat(2000)],
      ['a DynamoDB key fragment', encodeURIComponent(`ACCOUNT#globex#BACKUP#${ids.globexBackup}`)],
      ['quotes and SQL', encodeURIComponent("x' OR '1'='1")],
      ['a JSON object', encodeURIComponent('{"S":"globex"}')],
      ["another account's id", ids.globexBackup],
      ['emoji and RTL marks', encodeURIComponent('😀\u202e\u0000')],
    ];
    const table: BadInput[] = [];
    for (const routeKey of ROUTES.filter((key) => key.includes('{'))) {
      const [method, template] = routeKey.split(' ') as [string, string];
      const request = validRequest(routeKey);
      for (const param of template.match(/\{\w+\}/g)!) {
        for (const [label, value] of tricks) {
          let path = template;
          for (const other of template.match(/\{\w+\}/g)!) {
            path = path.replace(other, other === param ? value : other === '{type}' ? 'deals' : other === '{planId}' ? ids.acmePlan : ids.acmeBackup);
          }
          if (template.includes('/records/') && param === '{type}') path = path.replace('{id}', ids.acmeDeal);
          const foreignRecord = template.includes('/records/') && param === '{id}' && label === "another account's id";
          table.push({
            label: `${routeKey}: ${param} = ${label}`,
            method,
            path: foreignRecord ? path.replace(ids.globexBackup, ids.globexDeal) : path,
            body: request.body,
            status: -1,
          });
        }
      }
    }
    const hashBefore = await dataPlaneHash(runtime);
    const state = await appState();
    const seen = new Map<string, number>();
    for (const input of table) {
      const response = await send(input);
      const context = `${input.label} → ${response.status} ${JSON.stringify(response.body).slice(0, 300)}`;
      expect([400, 404], context).toContain(response.status);
      expect(response.body?.error?.code, context).toBe(response.status === 400 ? 'VALIDATION_ERROR' : 'NOT_FOUND');
      expectNoInternals(response, context);
      seen.set(String(response.status), (seen.get(String(response.status)) ?? 0) + 1);
    }
    tally.tables.paths = table.length;
    expect(table.length).toBeGreaterThan(100);
    expect(await dataPlaneHash(runtime)).toBe(hashBefore);
    expect(await appState()).toEqual(state);
  });

  it('refuses broken bodies on every endpoint that reads one: malformed JSON, wrong types, unknown and missing fields, long strings, 413 for huge bodies', async () => {
    const huge = JSON.stringify({ properties: { dealname: 'x'.repeat(70 * 1024) } });
    const enormous = `{"pad":"${'x'.repeat(10 * 1024 * 1024 + 10)}"}`;
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    // Every route that is not a GET reads its body (even if it needs none): broken JSON is refused before anything happens.
    const generic: Array<[string, unknown, number, string]> = [
      ['malformed JSON', '{"enabled": tru', 400, 'VALIDATION_ERROR'],
      ['a truncated object', '{"properties": {"dealname": "x"', 400, 'VALIDATION_ERROR'],
      ['a body over 64 KB', huge, 413, 'PAYLOAD_TOO_LARGE'],
      ['a body over API Gateway’s 10 MB', enormous, 413, 'PAYLOAD_TOO_LARGE'],
    ];
    const specific: Record<string, Array<[string, unknown]>> = {
      'PATCH /v1/objects/{type}/records/{id}': [
        ['JSON null', 'null'],
        ['an array', '[]'],
        ['no properties', {}],
        ['properties as a string', { properties: 'dealname=x' }],
        ['a number value', { properties: { dealname: 5 } }],
        ['a null value', { properties: { dealname: null } }],
        ['an unknown field', { properties: { dealname: 'x' }, id: 'other' }],
        ['an unknown property', { properties: { not_a_property: 'x' } }],
        ['a read-only property', { properties: { hs_createdate: '2020-01-01' } }],
        ['a calculated property', { properties: { days_to_close: '1' } }],
        ['a 2,000-character property name', { properties: { ['p'.repeat(2000)]: 'x' } }],
        ['deeply nested arrays', deep],
      ],
      'PUT /v1/backup-schedule': [
        ['JSON null', 'null'],
        ['missing enabled', {}],
        ['enabled as a string', { enabled: 'true' }],
        ['enabled as 1', { enabled: 1 }],
        ['an unknown field', { enabled: true, tier: 'enterprise' }],
        ['__proto__ smuggling', '{"enabled": true, "__proto__": {"superAdmin": true}}'],
        ['deeply nested arrays', deep],
      ],
      'POST /v1/backups/{id}/restore-plans': [
        ['JSON null', 'null'],
        ['missing fields', {}],
        ['missing properties', { objectType: 'deals' }],
        ['objectType as a number', { objectType: 5, properties: ['dealname'] }],
        ['properties as a string', { objectType: 'deals', properties: 'dealname' }],
        ['no properties', { objectType: 'deals', properties: [] }],
        ['a property twice', { objectType: 'deals', properties: ['dealname', 'dealname'] }],
        ['an unknown field', { objectType: 'deals', properties: ['dealname'], accountId: 'globex' }],
        ['a 10,000-character objectType', { objectType: 'x'.repeat(10_000), properties: ['dealname'] }],
        ['a 10,000-character property', { objectType: 'deals', properties: ['p'.repeat(10_000)] }],
        ['conversations', { objectType: 'conversations', properties: ['status'] }],
        ['an unknown object type', { objectType: 'not_a_type', properties: ['x'] }],
        ['an unknown property', { objectType: 'deals', properties: ['not_a_property'] }],
        ['a read-only property', { objectType: 'deals', properties: ['hs_createdate'] }],
        ['a calculated property', { objectType: 'deals', properties: ['days_to_close'] }],
        ['deeply nested arrays', deep],
      ],
      'POST /v1/restores': [
        ['JSON null', 'null'],
        ['missing fields', {}],
        ['planId as a number', { planId: 5, acknowledge: ACKNOWLEDGE }],
        ['acknowledgements as strings', { planId: 'PLAN', acknowledge: { changesData: 'true', cannotBeUndone: 'true' } }],
        ['one acknowledgement', { planId: 'PLAN', acknowledge: { changesData: true } }],
        ['no acknowledgement', { planId: 'PLAN' }],
        ['an unknown field', { planId: 'PLAN', acknowledge: ACKNOWLEDGE, skipTotp: true }],
        ['a 5,000-character planId', { planId: 'p'.repeat(5000), acknowledge: ACKNOWLEDGE }],
        ['a 100-character TOTP code', { planId: 'PLAN', acknowledge: ACKNOWLEDGE, totp: '1'.repeat(100) }],
        ['TOTP as a number', { planId: 'PLAN', acknowledge: ACKNOWLEDGE, totp: 123456 }],
        ['deeply nested arrays', deep],
      ],
    };
    const table: BadInput[] = [];
    for (const routeKey of ROUTES.filter((key) => !key.startsWith('GET '))) {
      const request = validRequest(routeKey);
      for (const [label, body, status, code] of generic) table.push({ label: `${routeKey}: ${label}`, ...request, body, status, code });
      for (const [label, body] of specific[routeKey] ?? []) {
        const withPlan = typeof body === 'object' && body && 'planId' in body && body.planId === 'PLAN' ? { ...body, planId: ids.acmePlan } : body;
        table.push({ label: `${routeKey}: ${label}`, ...request, body: withPlan, status: 400, code: 'VALIDATION_ERROR' });
      }
    }
    await runTable('bodies', table);
    // `__proto__` as a property name: JSON.parse makes it an own key; it is refused by
    // name (400) before anything copies it into a plain object, and pollutes no prototype.
    const hash = await dataPlaneHash(runtime);
    for (const body of ['{"properties": {"__proto__": {"dealname": "x"}}}', '{"properties": {"__proto__": "x"}}', '{"__proto__": {"properties": {"dealname": "x"}}}']) {
      const response = await send({ label: '__proto__', method: 'PATCH', path: `/v1/objects/deals/records/${ids.acmeDeal}`, body, status: 400 });
      expectRefusal(response, 400, 'VALIDATION_ERROR', body);
      expect(response.body.error.message, body).toMatch(/"__proto__" is a reserved name/);
    }
    expect(({} as Record<string, unknown>).dealname).toBeUndefined();
    expect(await dataPlaneHash(runtime)).toBe(hash);
  });

  it('refuses broken paging and query parameters on every list endpoint', async () => {
    const notLists = [
      'GET /v1/objects',
      'GET /v1/backup-schedule',
      'GET /v1/backup-quota',
      'GET /v1/backups/{id}/download',
      'GET /v1/me/totp-enrolment',
      'GET /v1/backups/{id}/compare',
      'GET /v1/compare-exports/{id}/download',
      'GET /v1/alert-settings',
      'GET /v1/source',
    ];
    const lists = ROUTES.filter((key) => key.startsWith('GET ') && !/\{id\}$|\{planId\}$/.test(key) && !notLists.includes(key));
    const queries: Array<[string, string, string]> = [
      ['limit=0', 'limit=0', 'VALIDATION_ERROR'],
      ['limit=501', 'limit=501', 'VALIDATION_ERROR'],
      ['limit=-1', 'limit=-1', 'VALIDATION_ERROR'],
      ['limit=abc', 'limit=abc', 'VALIDATION_ERROR'],
      ['limit=1.5', 'limit=1.5', 'VALIDATION_ERROR'],
      ['a cursor that is not ours', 'cursor=%21%21not-a-cursor', 'INVALID_CURSOR'],
      ['a cursor naming another partition', `cursor=${Buffer.from(JSON.stringify({ pk: 'ACCOUNT#globex', sk: 'x' })).toString('base64url')}`, 'INVALID_CURSOR'],
      ['a 5,000-character cursor', `cursor=${'A'.repeat(5000)}`, 'INVALID_CURSOR'],
      ['an empty cursor', 'cursor=', 'INVALID_CURSOR'],
    ];
    const table: BadInput[] = [];
    for (const routeKey of lists) {
      const path = validRequest(routeKey).path;
      for (const [label, query, code] of queries) table.push({ label: `${routeKey}: ${label}`, method: 'GET', path: `${path}?${query}`, status: 400, code });
    }
    table.push({ label: 'download with redirect=maybe', method: 'GET', path: `/v1/backups/${ids.acmeBackup}/download?redirect=maybe`, status: 400, code: 'VALIDATION_ERROR' });
    table.push({ label: 'change events of a 5,000-character record id', method: 'GET', path: `/v1/change-events?recordId=${'r'.repeat(5000)}`, status: 400, code: 'VALIDATION_ERROR' });
    expect(lists.length).toBeGreaterThanOrEqual(6);
    await runTable('queries', table);
  });

  it('replays no TOTP code, and locks out guessing after a few wrong codes', async () => {
    const secret = await totpSecretOf(runtime, GLOBEX_ADMIN);
    const restoreWith = (totp?: string) => ({
      label: `globex restore with ${totp ?? 'no code'}`,
      method: 'POST',
      path: '/v1/restores',
      as: GLOBEX_ADMIN,
      body: { planId: ids.globexPlan, acknowledge: ACKNOWLEDGE, ...(totp === undefined ? {} : { totp }) },
    });
    // The plan has nothing to change, so an accepted code starts a restore that writes nothing.
    advance(30_000);
    const code = await totpCode(secret, clock.now());
    const accepted = await send({ ...restoreWith(code), status: 202 });
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
    await runtime.idle();
    await runTable('TOTP replay', [
      { ...restoreWith(code), status: 401, code: 'REAUTH_FAILED', label: 'the same code again, same step' },
      { ...restoreWith(undefined), status: 401, code: 'REAUTH_REQUIRED' },
      { ...restoreWith(''), status: 401, code: /^REAUTH_(REQUIRED|FAILED)$/ },
      { ...restoreWith('12345'), status: 401, code: 'REAUTH_FAILED', label: 'five digits' },
      { ...restoreWith('abcdef'), status: 401, code: 'REAUTH_FAILED', label: 'letters' },
    ]);
    advance(30_000);
    await runTable('TOTP replay', [{ ...restoreWith(code), status: 401, code: 'REAUTH_FAILED', label: 'the used code one step later' }]);
    // Brute force: after MAX_TOTP_ATTEMPTS wrong codes in a row even the right code is refused.
    advance(16 * 60_000);
    const guesses: BadInput[] = Array.from({ length: MAX_TOTP_ATTEMPTS }, (_, index) => ({ ...restoreWith(String(100000 + index)), status: 401, code: 'REAUTH_FAILED' }));
    await runTable('TOTP brute force', guesses);
    advance(30_000);
    const right = await totpCode(secret, clock.now());
    await runTable('TOTP brute force', [{ ...restoreWith(right), status: 401, code: 'REAUTH_FAILED', label: 'the right code while locked out' }]);
    const refused = await send({ ...restoreWith(right), status: 401 });
    expect(refused.body.error.message).toMatch(/Too many wrong codes/);
    const audit = (await runtime.api('GET', '/v1/audit-log?limit=200', { as: GLOBEX_ADMIN })).body.items;
    expect(audit.filter((entry: { action: string }) => entry.action === 'REAUTH_FAILED').length).toBeGreaterThanOrEqual(MAX_TOTP_ATTEMPTS);
  });

  it('refuses plans reused after they expired and restores of an expired backup with 410, changing nothing', async () => {
    const plan = ids.acmePlan;
    advance((PLAN_LIFETIME_HOURS + 1) * HOUR);
    await runTable('expiry', [
      { label: 'an expired plan', method: 'GET', path: `/v1/restore-plans/${plan}`, status: 410, code: 'PLAN_EXPIRED' },
      { label: 'a restore of an expired plan', method: 'POST', path: '/v1/restores', body: { planId: plan, acknowledge: ACKNOWLEDGE }, status: 410, code: 'PLAN_EXPIRED' },
    ]);
    advance(15 * 24 * HOUR);
    await runTable('expiry', [
      { label: 'a plan of an expired backup', method: 'POST', path: `/v1/backups/${ids.acmeBackup}/restore-plans`, body: { objectType: 'deals', properties: ['dealname'] }, status: 410, code: 'BACKUP_EXPIRED' },
      { label: 'a download of an expired backup', method: 'GET', path: `/v1/backups/${ids.acmeBackup}/download?redirect=false`, status: 410, code: 'BACKUP_EXPIRED' },
      { label: 'a restore of a plan of an expired backup', method: 'POST', path: '/v1/restores', body: { planId: plan, acknowledge: ACKNOWLEDGE }, status: 410, code: /^(PLAN|BACKUP)_EXPIRED$/ },
      { label: "globex's expired backup", method: 'POST', path: `/v1/backups/${ids.globexBackup}/restore-plans`, as: GLOBEX_ADMIN, body: { objectType: 'deals', properties: ['dealname'] }, status: 410, code: 'BACKUP_EXPIRED' },
    ]);
  });
});
