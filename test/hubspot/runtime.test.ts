import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@hubspot/api-client';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';

/** The HubSpot stand-in inside the local runtime: same port, under /hubspot, demo portal seeded at start. */

let runtime: TestRuntime;
beforeAll(async () => {
  runtime = await startTestRuntime();
});
afterAll(() => runtime.destroy());

describe('the local runtime', () => {
  it('answers GET /local/hubspot with the demo portal, whose token works with the official client', async () => {
    const { status, body } = await runtime.api('GET', '/local/hubspot', { as: null });
    expect(status).toBe(200);
    expect(body).toEqual({ baseUrl: `${runtime.url}/hubspot`, accessToken: expect.stringMatching(/^pat-na1-/), portalId: 7301234 });
    const client = new Client({ accessToken: body.accessToken, basePath: body.baseUrl });
    const page = await client.crm.contacts.basicApi.getPage(10, undefined, ['email']);
    expect(page.results).toHaveLength(10);
    expect(page.paging?.next?.after).toBeTruthy();
  });

  it('answers HubSpot paths with HubSpot JSON, never with the web page', async () => {
    const response = await fetch(`${runtime.url}/hubspot/crm/v3/objects/contacts`);
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect((await response.json()).category).toBe('INVALID_AUTHENTICATION');
  });
});
