import { afterAll, describe, expect, it } from 'vitest';
import { holdSeeding } from '../support/hold-seeding.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';

describe('the first start', () => {
  let runtime: TestRuntime | undefined;
  afterAll(async () => {
    await runtime?.destroy();
  });

  it('answers 503 with Retry-After and what it is doing until the demo data is seeded, then serves the API', async () => {
    const hold = holdSeeding();
    const starting = startTestRuntime({ wrapDeps: hold.wrapDeps, onListening: hold.onListening });
    const url = await hold.url;

    // Until seeding is done: every API route, with or without a token, says it is starting.
    let early: Response;
    do {
      early = await fetch(`${url}/v1/objects`);
      // The phases before seeding (tables, functions) take a moment; the seeding waits for release().
    } while ((await early.clone().json()).error.message !== 'The service is starting: seeding demo data. Try again in a few seconds.');
    expect(early.status).toBe(503);
    expect(early.headers.get('retry-after')).toBe('2');
    expect(await early.json()).toEqual({ error: { code: 'SERVICE_UNAVAILABLE', message: 'The service is starting: seeding demo data. Try again in a few seconds.' } });
    const backups = await fetch(`${url}/v1/backups`, { method: 'POST', headers: { authorization: 'Bearer not-checked-yet' } });
    expect(backups.status).toBe(503);

    // The web page and the local helpers are up already: the page can say it is starting.
    const page = await fetch(`${url}/backups`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const signIn = await fetch(`${url}/local/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'admin@acme.example' }) });
    expect(signIn.status).toBe(200);

    hold.release();
    runtime = await starting;
    const objects = await runtime.api('GET', '/v1/objects');
    expect(objects.status).toBe(200);
    expect(objects.body.items.length).toBeGreaterThan(0);
  });
});
