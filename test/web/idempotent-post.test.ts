import { describe, expect, it } from 'vitest';
import { postOnce } from '../../web/src/idempotent-post.ts';

const answer = (status: number, body: unknown = {}, headers: Record<string, string> = {}) => new Response(JSON.stringify(body), { status, headers });

/** One user action's POST, as the page and the CLI send it (web/src/idempotent-post.ts). */
describe('postOnce', () => {
  const noWait = async () => undefined;

  it('sends again with the same key after a lost answer, a busy service or a first try still running', async () => {
    const keys: string[] = [];
    const answers = [() => Promise.reject(new TypeError('fetch failed')), () => Promise.resolve(answer(409, { error: { code: 'IDEMPOTENCY_KEY_IN_USE' } }, { 'retry-after': '2' }))];
    const response = await postOnce((key) => {
      keys.push(key);
      return (answers.shift() ?? (() => Promise.resolve(answer(202, { id: 'bk_1' }))))();
    }, noWait);
    expect(response.status).toBe(202);
    expect(keys).toHaveLength(3);
    expect(new Set(keys).size).toBe(1);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers a refusal at once, and a new action gets a new key', async () => {
    const keys: string[] = [];
    for (const status of [409, 400]) {
      const response = await postOnce((key) => {
        keys.push(key);
        return Promise.resolve(answer(status, { error: { code: 'RESTORE_IN_PROGRESS' } }));
      }, noWait);
      expect(response.status).toBe(status);
    }
    expect(keys).toHaveLength(2);
    expect(keys[0]).not.toBe(keys[1]);
  });

  it('gives up after three tries with the last answer', async () => {
    let tries = 0;
    const response = await postOnce(() => {
      tries += 1;
      return Promise.resolve(answer(503));
    }, noWait);
    expect(response.status).toBe(503);
    expect(tries).toBe(3);
  });
});
