import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@hubspot/api-client';
import { clientWaitsOnClock, startHubSpotStandIn, type StandInUnderTest } from '../support/hubspot-stand-in.ts';

/**
 * Rate limits, tokens and error bodies of the HubSpot stand-in, with the official
 * client's retry behaviour on top (HUBSPOT.md §1, §7): windows are made small and time
 * is moved, so a ten-second back-off takes no time.
 */

let hub: StandInUnderTest;
let waits: ReturnType<typeof clientWaitsOnClock>;

beforeAll(async () => {
  hub = await startHubSpotStandIn({ recordsPerType: 20 });
});
afterAll(() => hub.stop());
afterEach(() => {
  waits?.restore();
  hub.standIn.setRateLimits(hub.portalId, { perWindow: 190, windowMs: 10_000, daily: 650_000 });
});

const RATE_HEADERS = [
  'x-hubspot-ratelimit-daily',
  'x-hubspot-ratelimit-daily-remaining',
  'x-hubspot-ratelimit-interval-milliseconds',
  'x-hubspot-ratelimit-max',
  'x-hubspot-ratelimit-remaining',
  'x-hubspot-ratelimit-secondly',
  'x-hubspot-ratelimit-secondly-remaining',
];

async function rejection(promise: Promise<unknown>): Promise<{ code: number; body: any }> {
  try {
    await promise;
  } catch (error) {
    return error as { code: number; body: any };
  }
  throw new Error('expected the call to fail');
}

async function dailyUsage(): Promise<{ currentUsage: number; usageLimit: number; resetsAt: string }> {
  const response = await hub.fetch('/account-info/v3/api-usage/daily/private-apps');
  return ((await response.json()) as { results: Array<{ currentUsage: number; usageLimit: number; resetsAt: string }> }).results[0]!;
}

describe('the ten-second window', () => {
  it('sends the rate-limit headers on every answer to a portal, successes and errors alike', async () => {
    const answers = await Promise.all([
      hub.fetch('/crm/v3/objects/contacts?limit=1'),
      hub.fetch('/crm/v3/objects/nothing'),
      hub.fetch('/crm/v3/objects/contacts/999999'),
      hub.fetch('/crm/v3/objects/contacts/batch/read', { method: 'POST', body: '{"inputs":[{"id":"1"},{"id":"999999"}]}' }),
    ]);
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 207, 400, 404]);
    for (const answer of answers) for (const header of RATE_HEADERS) expect(answer.headers.get(header), header).toMatch(/^\d+$/);
    const [first] = answers;
    expect(first!.headers.get('x-hubspot-ratelimit-max')).toBe('190');
    expect(first!.headers.get('x-hubspot-ratelimit-interval-milliseconds')).toBe('10000');
  });

  it('refuses the request over the window with the TEN_SECONDLY_ROLLING body, and serves again once the window has passed', async () => {
    hub.standIn.setRateLimits(hub.portalId, { perWindow: 10, windowMs: 10_000 });
    const remaining: string[] = [];
    for (let i = 0; i < 10; i += 1) {
      const answer = await hub.fetch('/crm/v3/objects/contacts?limit=1');
      expect(answer.status).toBe(200);
      remaining.push(answer.headers.get('x-hubspot-ratelimit-remaining')!);
    }
    expect(remaining).toEqual(['9', '8', '7', '6', '5', '4', '3', '2', '1', '0']);
    const refused = await hub.fetch('/crm/v3/objects/contacts?limit=1');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toMatch(/^application\/json/);
    expect(refused.headers.get('x-hubspot-ratelimit-remaining')).toBe('0');
    const body = await refused.json();
    expect(Object.keys(body).sort()).toEqual(['correlationId', 'errorType', 'message', 'policyName', 'requestId', 'status']);
    expect(body).toMatchObject({ status: 'error', message: 'You have reached your ten_secondly_rolling limit.', errorType: 'RATE_LIMIT', policyName: 'TEN_SECONDLY_ROLLING' });
    hub.clock.advance(10_000);
    expect((await hub.fetch('/crm/v3/objects/contacts?limit=1')).status).toBe(200);
  });

  it('lets the client ride out a 429 storm at 10 requests per 10 s: every call succeeds, each 429 costs one 10 s × attempt wait', async () => {
    hub.standIn.setRateLimits(hub.portalId, { perWindow: 10, windowMs: 10_000 });
    hub.standIn.resetStats(hub.portalId);
    waits = clientWaitsOnClock(hub.clock);
    const client = hub.client({ numberOfApiCallRetries: 6 });
    const pages = await Promise.all(Array.from({ length: 25 }, () => client.crm.contacts.basicApi.getPage(5, undefined, ['email'])));
    expect(pages.every((page) => page.results.length === 5)).toBe(true);
    const stats = hub.standIn.statsFor(hub.portalId);
    expect(stats.byStatus[200]).toBe(25);
    // How many are refused depends on arrival order (each wait moves the clock): at least one, each retried.
    expect(stats.rateLimited.TEN_SECONDLY_ROLLING).toBeGreaterThan(0);
    expect(stats.rateLimited.TEN_SECONDLY_ROLLING).toBe(waits.waits.length);
    expect(stats.requests).toBe(25 + waits.waits.length);
    expect(waits.waits.every((wait) => wait % 10_000 === 0)).toBe(true);
  });

  it('counts attempts, not retries: numberOfApiCallRetries 1 never retries, 2 retries once', async () => {
    hub.standIn.setRateLimits(hub.portalId, { perWindow: 1, windowMs: 10_000 });
    waits = clientWaitsOnClock(hub.clock);
    await hub.fetch('/crm/v3/objects/contacts?limit=1');
    hub.standIn.resetStats(hub.portalId);
    const once = await rejection(hub.client({ numberOfApiCallRetries: 1 }).crm.contacts.basicApi.getPage(1));
    expect(once.code).toBe(429);
    expect(once.body.policyName).toBe('TEN_SECONDLY_ROLLING');
    expect(hub.standIn.statsFor(hub.portalId).requests).toBe(1);
    const twice = await hub.client({ numberOfApiCallRetries: 2 }).crm.contacts.basicApi.getPage(1);
    expect(twice.results).toHaveLength(1);
    expect(hub.standIn.statsFor(hub.portalId).requests).toBe(3);
    expect(waits.waits).toEqual([10_000]);
  });

  it('shares retry settings across the process: a new Client without retries turns them off for an older one', async () => {
    hub.standIn.setRateLimits(hub.portalId, { perWindow: 1, windowMs: 10_000 });
    waits = clientWaitsOnClock(hub.clock);
    const retrying = hub.client({ numberOfApiCallRetries: 6 });
    new Client({ accessToken: hub.accessToken, basePath: hub.baseUrl });
    await hub.fetch('/crm/v3/objects/contacts?limit=1');
    const error = await rejection(retrying.crm.contacts.basicApi.getPage(1));
    expect(error.code).toBe(429);
    expect(waits.waits).toEqual([]);
  });
});

describe('server errors', () => {
  it('are retried after 200 ms × attempt when their body is JSON or a gateway page, never when it has no content type', async () => {
    waits = clientWaitsOnClock(hub.clock);
    hub.standIn.failNextRequests(hub.portalId, { count: 1, status: 502 });
    hub.standIn.failNextRequests(hub.portalId, { count: 1, status: 502, body: 'html' });
    const page = await hub.client({ numberOfApiCallRetries: 3 }).crm.contacts.basicApi.getPage(1);
    expect(page.results).toHaveLength(1);
    expect(waits.waits).toEqual([200, 400]);

    hub.standIn.failNextRequests(hub.portalId, { count: 1, status: 502, body: 'none' });
    hub.standIn.resetStats(hub.portalId);
    const error = (await rejection(hub.client({ numberOfApiCallRetries: 6 }).crm.contacts.basicApi.getPage(1))) as { code?: number; message?: string };
    expect(error.code).toBeUndefined();
    expect(error.message).toMatch(/No Content-Type/);
    expect(hub.standIn.statsFor(hub.portalId).requests).toBe(1);
    expect(waits.waits).toEqual([200, 400]);
  });
});

describe('the daily limit', () => {
  it('refuses with the DAILY body once the day is spent, which the client never retries, and resets at midnight in the portal time zone', async () => {
    const before = await dailyUsage();
    hub.standIn.setRateLimits(hub.portalId, { daily: before.currentUsage + 3 });
    for (let i = 0; i < 2; i += 1) expect((await hub.fetch('/crm/v3/objects/contacts?limit=1')).status).toBe(200);
    const spent = await dailyUsage();
    expect(spent.currentUsage).toBe(spent.usageLimit);
    hub.standIn.resetStats(hub.portalId);
    waits = clientWaitsOnClock(hub.clock);
    const error = await rejection(hub.client({ numberOfApiCallRetries: 6 }).crm.contacts.basicApi.getPage(1));
    expect(error.code).toBe(429);
    expect(error.body).toMatchObject({ status: 'error', message: 'You have reached your daily limit.', errorType: 'RATE_LIMIT', policyName: 'DAILY' });
    expect(hub.standIn.statsFor(hub.portalId)).toMatchObject({ requests: 1, rateLimited: { DAILY: 1 } });
    expect(waits.waits).toEqual([]);
    const refused = await hub.fetch('/crm/v3/objects/contacts?limit=1');
    expect(refused.headers.get('x-hubspot-ratelimit-daily-remaining')).toBe('0');

    const resetsAt = new Date(spent.resetsAt);
    const local = new Intl.DateTimeFormat('en-US', { timeZone: 'US/Eastern', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(resetsAt);
    expect(local).toBe('00:00');
    hub.clock.advance(resetsAt.getTime() - hub.clock.now().getTime() + 1000);
    expect((await hub.fetch('/crm/v3/objects/contacts?limit=1')).status).toBe(200);
    expect((await dailyUsage()).currentUsage).toBe(2);
  });
});

describe('tokens', () => {
  it('answers 401 INVALID_AUTHENTICATION with X-HubSpot-Auth-Failure for a missing, unknown or revoked token', async () => {
    const token = hub.standIn.issueToken(hub.portalId);
    expect((await hub.fetch('/crm/v3/objects/contacts', { token })).status).toBe(200);
    hub.standIn.revokeToken(token);
    for (const answer of [await hub.fetch('/crm/v3/objects/contacts', { token }), await hub.fetch('/crm/v3/objects/contacts', { token: null }), await hub.fetch('/crm/v3/objects/contacts', { token: 'pat-na1-unknown' })]) {
      expect(answer.status).toBe(401);
      expect(answer.headers.get('x-hubspot-auth-failure')).toBe('401 Unauthorized');
      expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await answer.json()).toMatchObject({ status: 'error', category: 'INVALID_AUTHENTICATION', message: expect.stringMatching(/^Authentication credentials not found\./) });
    }
    const error = await rejection(hub.client({ accessToken: token, numberOfApiCallRetries: 6 }).crm.contacts.basicApi.getPage());
    expect(error.code).toBe(401);
    expect(error.body.category).toBe('INVALID_AUTHENTICATION');
  });

  it('answers 401 EXPIRED_AUTHENTICATION for an expired token, saying how long ago', async () => {
    const token = hub.standIn.issueToken(hub.portalId);
    hub.standIn.expireToken(token);
    hub.clock.advance(42_000);
    const error = await rejection(hub.client({ accessToken: token }).crm.contacts.basicApi.getPage());
    expect(error.code).toBe(401);
    expect(error.body.category).toBe('EXPIRED_AUTHENTICATION');
    expect(error.body.message).toBe('The OAuth token used to make this call expired 42 second(s) ago.');
    expect(error.body.context['expire time']).toHaveLength(1);
  });

  it('lets apiRequest resolve with the error response instead of throwing (no retry either)', async () => {
    const response = await hub.client({ accessToken: 'pat-na1-unknown', numberOfApiCallRetries: 6 }).apiRequest({ method: 'GET', path: '/account-info/v3/details' });
    expect(response.status).toBe(401);
  });
});

describe('error bodies', () => {
  it('are JSON with a correlation id for every error status, so the client can read code and body', async () => {
    hub.standIn.setRateLimits(hub.portalId, { perWindow: 1000 });
    const limited = hub.standIn.issueToken(hub.portalId, { scopes: ['crm.objects.contacts.read'] });
    const answers = [
      await hub.fetch('/crm/v3/objects/contacts/batch/read', { method: 'POST', body: 'not json' }),
      await hub.fetch('/crm/v3/objects/contacts', { token: 'nope' }),
      await hub.fetch('/crm/v3/objects/deals', { token: limited }),
      await hub.fetch('/crm/v3/objects/contacts/424242424'),
      await hub.fetch('/crm/v3/objects/contacts', { method: 'PUT' }),
      await hub.fetch('/crm/v4/unknown'),
      await hub.fetch(`/crm/v3/objects/contacts?properties=${'a'.repeat(8200)}`),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([400, 401, 403, 404, 405, 404, 414]);
    for (const answer of answers) {
      expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await answer.json()).toMatchObject({ status: 'error', correlationId: expect.any(String), category: expect.any(String), message: expect.any(String) });
    }
  });
});
