import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_ROUTES } from '#service/catalog.ts';
import { startTestRuntime, type ApiResponse, type TestRuntime } from '../support/local-runtime.ts';
import { dataTableHash } from '../support/data-plane.ts';
import { ACKNOWLEDGE, ACME_ADMIN, ACME_SSO_ADMIN, ACME_USER, GLOBEX_ADMIN, allRecords, expectNoInternals } from './support.ts';

/**
 * A property-based fuzzer over every route of the catalog (issue 13): path ids, query
 * strings, cursors, headers and bodies (deep, wide, wrong types, unicode, huge numbers,
 * duplicate keys), from every kind of caller. For each request: a 2xx (or the
 * download's 302), or a 4xx in the API's error shape, never a 5xx or a stack trace;
 * under SERVER_MS_LIMIT of server time; and the data table's hash (every item of every
 * tenant) unchanged after every refusal.
 *
 * Bounded by FUZZ_RUNS requests (default 500) and FUZZ_SECONDS (default 90). The seed
 * is printed before the run and on failure; `FUZZ_SEED=<seed> npm run test:reliability
 * -- fuzz` replays it.
 */

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() % 2 ** 31;
const RUNS = Number(process.env.FUZZ_RUNS ?? 500);
const SECONDS = Number(process.env.FUZZ_SECONDS ?? 90);
/** The Lambda's own time for one request (the local runtime's invocation, not the network). */
const SERVER_MS_LIMIT = 250;

const ROUTE_KEYS = Object.keys(API_ROUTES);

interface FuzzRequest {
  routeKey: string;
  as: string | null | 'forged';
  params: Record<string, string>;
  query: Array<[string, string]>;
  headers: Record<string, string>;
  /** Sent as is: JSON text, or anything else. */
  body?: string;
}

describe('fuzzing every route', () => {
  let runtime: TestRuntime;
  /** Server time of the last API invocation, by its request path. */
  let lastServerMs: number | undefined;
  const seen = { requests: 0, byStatus: {} as Record<string, number>, refused: 0, serverMs: [] as number[] };
  /** Real ids and cursors, so that generated requests reach past the first checks. */
  const real = { ids: [] as string[], types: ['deals', 'contacts', 'p_subscriptions', 'conversations'], cursors: [] as string[] };

  beforeAll(async () => {
    runtime = await startTestRuntime({
      recordsPerType: 12,
      onInvoke: (_name, payload, startedAt, endedAt) => {
        if ((payload as { rawPath?: string }).rawPath !== undefined) lastServerMs = endedAt - startedAt;
      },
    });
    const backups = [(await runtime.api('POST', '/v1/backups', { as: ACME_ADMIN })).body.id, (await runtime.api('POST', '/v1/backups', { as: GLOBEX_ADMIN })).body.id];
    await runtime.idle();
    const plan = await runtime.api('POST', `/v1/backups/${backups[0]}/restore-plans`, { as: ACME_SSO_ADMIN, body: { objectType: 'deals', properties: ['dealname'] } });
    const restore = await runtime.api('POST', '/v1/restores', { as: ACME_SSO_ADMIN, body: { planId: plan.body.id, acknowledge: ACKNOWLEDGE } });
    await runtime.idle();
    const deals = [...(await allRecords(runtime, 'acme', 'deals')).keys()].slice(0, 3);
    const globexDeals = [...(await allRecords(runtime, 'globex', 'deals')).keys()].slice(0, 2);
    real.ids.push(...backups, plan.body.id, restore.body.id, ...deals, ...globexDeals);
    for (const list of ['/v1/objects/deals/records', '/v1/backups', '/v1/audit-log', '/v1/change-events', '/v1/imports', '/v1/restores']) {
      const cursor = (await runtime.api('GET', `${list}?limit=1`, { as: ACME_ADMIN })).body?.nextCursor;
      if (cursor) real.cursors.push(cursor);
    }
    expect(real.ids.every(Boolean)).toBe(true);
    console.log(`[fuzz] seed ${SEED}, at most ${RUNS} requests in ${SECONDS} s (replay: FUZZ_SEED=${SEED} npm run test:reliability -- fuzz)`);
  });

  afterAll(async () => {
    const sorted = [...seen.serverMs].sort((a, b) => a - b);
    const at = (share: number) => sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))] ?? 0;
    console.log(JSON.stringify({ suite: 'fuzz', seed: SEED, ...seen, serverMs: { p50: at(0.5), p99: at(0.99), max: sorted.at(-1) ?? 0 } }));
    await runtime?.destroy();
  });

  /** Values for a path parameter: real ids, other tenants' ids, and hostile strings. */
  const pathValue = () =>
    fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...real.ids, ...real.types) },
      { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
      { weight: 1, arbitrary: fc.constantFrom('..', '../globex', '%00', ' ', 'bk_', 'ACCOUNT#globex', '__proto__', 'constructor', '{"S":"x"}') },
      { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 100, maxLength: 3000 }) },
      { weight: 1, arbitrary: fc.bigInt().map(String) },
    );

  /** A cursor: a real one, a real one edited, or base64url of any JSON. */
  const cursorValue = () =>
    fc.oneof(
      { weight: 1, arbitrary: fc.constantFrom(...real.cursors) },
      { weight: 3, arbitrary: fc.tuple(fc.constantFrom(...real.cursors), fc.dictionary(fc.constantFrom('s', 'k', 'b', 'pk', '__proto__'), cursorField())).map(([cursor, edits]) =>
        Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')), ...edits })).toString('base64url'),
      ) },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((value) => Buffer.from(JSON.stringify(value) ?? 'null').toString('base64url')) },
      { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 3000 }) },
    );

  /** A value for one field of a cursor: segments far out of range, keys near and over DynamoDB's 1,024 bytes. */
  const cursorField = () =>
    fc.oneof(
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
      { weight: 2, arbitrary: fc.integer({ min: -1_000_000, max: 1_000_000 }) },
      { weight: 2, arbitrary: fc.integer({ min: 900, max: 1500 }).map((length) => `BACKUP#${'x'.repeat(length)}`) },
      { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 300, maxLength: 600 }) },
    );

  const queryValue = () =>
    fc.oneof(
      fc.constantFrom('0', '1', '-1', '500', '501', '1e400', '1.5', 'NaN', 'true', 'false', '', '2'.repeat(400)),
      fc.double().map(String),
      fc.string({ unit: 'grapheme', maxLength: 60 }),
      cursorValue(),
      fc.constantFrom(...real.ids),
    );

  const query = () =>
    fc.array(
      fc.oneof(
        { weight: 3, arbitrary: fc.tuple(fc.constant('cursor'), cursorValue()) },
        { weight: 3, arbitrary: fc.tuple(fc.constantFrom('limit', 'cursor', 'redirect', 'recordId', 'totp', '__proto__', 'constructor', 'with', 'x'), queryValue()) },
      ),
      { maxLength: 4 },
    );

  const headers = () =>
    fc.dictionary(
      fc.constantFrom('content-type', 'accept', 'x-forwarded-for', 'idempotency-key', 'x-request-id', 'origin', 'cookie', 'if-none-match', 'x-amz-date', 'x-api-key'),
      fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)), maxLength: 200 }),
      { maxKeys: 3 },
    );

  /** Bodies: near-valid ones with a field changed, any JSON, and the shapes that hurt parsers. */
  const body = () =>
    fc.oneof(
      { weight: 3, arbitrary: nearValidBody() },
      { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 6 }).map((value) => JSON.stringify(value)) },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 40_000 }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`) },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 5_000 }).map((width) => JSON.stringify({ properties: Object.fromEntries(Array.from({ length: width }, (_, index) => [`p${index}`, 'x'])) })) },
      { weight: 1, arbitrary: fc.array(fc.tuple(fc.constantFrom('enabled', 'planId', 'properties', 'objectType', '__proto__', 'totp'), fc.jsonValue({ maxDepth: 2 })), { minLength: 2, maxLength: 6 }).map((pairs) => `{${pairs.map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value)}`).join(',')}}`) },
      { weight: 1, arbitrary: fc.constantFrom('1e400', '-0', '123456789012345678901234567890', '{"enabled":1e309}', '{"planId":"\\ud800"}', 'null', '"x"', '[]', '{}') },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
    );

  function nearValidBody() {
    const json = fc.jsonValue({ maxDepth: 3 });
    return fc.oneof(
      fc.record({ enabled: fc.oneof(fc.boolean(), json) }, { requiredKeys: [] }),
      fc.record({ properties: fc.oneof(fc.dictionary(fc.constantFrom('dealname', 'amount', 'hs_createdate', 'days_to_close', 'x', '__proto__'), fc.oneof(fc.string({ unit: 'grapheme', maxLength: 80 }), json)), json) }, { requiredKeys: [] }),
      fc.record(
        { objectType: fc.oneof(fc.constantFrom(...real.types), json), properties: fc.oneof(fc.array(fc.constantFrom('dealname', 'amount', 'hs_createdate', 'x'), { maxLength: 3 }), json) },
        { requiredKeys: [] },
      ),
      fc.record(
        {
          planId: fc.oneof(fc.constantFrom(...real.ids), json),
          acknowledge: fc.oneof(fc.constant(ACKNOWLEDGE), fc.record({ changesData: json, cannotBeUndone: json }), json),
          totp: fc.oneof(fc.stringMatching(/^\d{6}$/), json),
        },
        { requiredKeys: [] },
      ),
      fc.record({ token: fc.oneof(fc.string({ maxLength: 200 }), json), totp: fc.oneof(fc.stringMatching(/^\d{6}$/), json) }, { requiredKeys: [] }),
    ).map((value) => JSON.stringify(value));
  }

  const request = (): fc.Arbitrary<FuzzRequest> =>
    fc.constantFrom(...ROUTE_KEYS).chain((routeKey) => {
      const names = [...routeKey.matchAll(/\{(\w+)\}/g)].map((match) => match[1]!);
      return fc.record({
        routeKey: fc.constant(routeKey),
        as: fc.oneof(
          { weight: 5, arbitrary: fc.constantFrom<FuzzRequest['as']>(ACME_ADMIN, ACME_SSO_ADMIN, ACME_USER, GLOBEX_ADMIN) },
          { weight: 1, arbitrary: fc.constantFrom<FuzzRequest['as']>(null, 'forged') },
        ),
        params: fc.record(Object.fromEntries(names.map((name) => [name, pathValue()]))) as fc.Arbitrary<Record<string, string>>,
        query: query(),
        headers: headers(),
        body: routeKey.startsWith('GET ') ? fc.constant(undefined) : fc.option(body(), { nil: undefined }),
      });
    });

  async function send(input: FuzzRequest): Promise<ApiResponse> {
    const [method, template] = input.routeKey.split(' ') as [string, string];
    const path = template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(input.params[name] ?? ''));
    const search = input.query.map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`).join('&');
    const headers = input.as === 'forged' ? { ...input.headers, authorization: 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.' } : input.headers;
    return runtime.api(method, `${path}${search ? `?${search}` : ''}`, { as: input.as === 'forged' ? null : input.as, body: input.body, headers });
  }

  it(`answers every generated request with a 2xx or a 4xx in the error shape, within ${SERVER_MS_LIMIT} ms, changing nothing when refusing`, async () => {
    let hash = await dataTableHash(runtime);
    let firstFailure: string | undefined;
    const property = fc.asyncProperty(request(), async (input) => {
      try {
        await check(input);
      } catch (error) {
        firstFailure ??= (error as Error).message;
        throw error;
      }
    });
    const check = async (input: FuzzRequest) => {
      lastServerMs = undefined;
      const response = await send(input);
      let serverMs = lastServerMs ?? 0;
      seen.requests += 1;
      seen.byStatus[response.status] = (seen.byStatus[response.status] ?? 0) + 1;
      seen.serverMs.push(serverMs);
      const label = `${input.routeKey} as ${input.as} → ${response.status} ${String(JSON.stringify(response.body ?? null)).slice(0, 300)}`;
      expect(response.status, label).toBeLessThan(500);
      expectNoInternals(response, label);
      if (response.status >= 400) {
        seen.refused += 1;
        expect(typeof response.body?.error?.code, label).toBe('string');
        expect(response.body.error.message, label).toMatch(/\S/);
      } else {
        expect(response.status === 302 ? input.routeKey : 'ok', label).toMatch(/^(ok|GET \/v1\/backups\/\{id\}\/download)$/);
      }
      // A slow path is slow every time; a pause of the shared machine is not. What can be
      // sent again unchanged (a refusal changes nothing, a GET reads) is timed twice more.
      for (let again = 0; serverMs >= SERVER_MS_LIMIT && again < 2 && (response.status >= 400 || input.routeKey.startsWith('GET ')); again += 1) {
        lastServerMs = undefined;
        await send(input);
        serverMs = Math.min(serverMs, lastServerMs ?? 0);
      }
      expect(serverMs, `${label}: server time`).toBeLessThan(SERVER_MS_LIMIT);
      if (response.status >= 400) {
        expect(await dataTableHash(runtime), `${label}: a refused request changed data`).toBe(hash);
      } else if (!input.routeKey.startsWith('GET ')) {
        // Accepted work (a backup, a restore, an edit) may change data: wait for it, then take the new state as the baseline.
        await runtime.idle();
        hash = await dataTableHash(runtime);
      }
    };
    try {
      await fc.assert(property, { seed: SEED, numRuns: RUNS, plugins: [fc.interruptAfterTimeLimit(SECONDS * 1000)] });
    } catch (error) {
      console.error(`[fuzz] failed with seed ${SEED}; replay: FUZZ_SEED=${SEED} npm run test:reliability -- fuzz\n[fuzz] first failure, before shrinking: ${firstFailure}`);
      throw error;
    }
    expect(seen.requests).toBeGreaterThan(Math.min(RUNS, 50));
  });
});
