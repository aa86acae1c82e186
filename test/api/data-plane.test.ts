import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';

describe('data plane API', () => {
  let runtime: TestRuntime;
  beforeAll(async () => {
    runtime = await startTestRuntime();
  });
  afterAll(async () => {
    await runtime?.destroy();
  });

  it('lists the account object types with record counts', async () => {
    const { status, body } = await runtime.api('GET', '/v1/objects');
    expect(status).toBe(200);
    const contacts = body.items.find((type: { name: string }) => type.name === 'contacts');
    expect(contacts).toMatchObject({ label: 'Contact', custom: false, records: 40, restorable: true });
    expect(body.items.find((type: { name: string }) => type.name === 'conversations').restorable).toBe(false);
    expect(body.items.filter((type: { custom: boolean }) => type.custom).length).toBeGreaterThanOrEqual(2);
  });

  it('answers 401 without a token', async () => {
    const { status, body } = await runtime.api('GET', '/v1/objects', { as: null });
    expect(status).toBe(401);
    expect(body.error.code).toBe('UNAUTHORIZED');
  });
});
