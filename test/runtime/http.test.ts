import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as errors from '#core/errors.ts';
import { ClientError, PlanExpiredError, QuotaExceededError, RestoreInProgressError, ValidationError } from '#core/errors.ts';
import { errorResult, REFUSALS } from '#runtime/http.ts';

const REFUSAL_CLASSES = Object.values(errors as Record<string, unknown>).filter(
  (value): value is typeof ClientError => typeof value === 'function' && (value === ClientError || value.prototype instanceof ClientError),
);

function body(result: ReturnType<typeof errorResult>) {
  return JSON.parse(String(result.body)) as { error: Record<string, unknown> };
}

describe('REFUSALS', () => {
  it('gives every refusal of the core a status and a code, and nothing else', () => {
    const refusals = REFUSAL_CLASSES.filter((type) => type !== ClientError);
    expect(refusals.filter((type) => !REFUSALS.has(type)).map((type) => type.name)).toEqual([]);
    expect([...REFUSALS.keys()].filter((type) => !refusals.includes(type as typeof ClientError)).map((type) => type.name)).toEqual([]);
  });

  it('uses only codes that docs/API.md lists, each with one status', () => {
    const api = readFileSync(new URL('../../docs/API.md', import.meta.url), 'utf8');
    for (const { status, code } of REFUSALS.values()) expect(api, code).toContain(`| ${status} | \`${code}\` |`);
  });
});

describe('errorResult', () => {
  it('answers a refusal with its status, code, sentence and details', () => {
    const result = errorResult(new RestoreInProgressError('Another restore of this account is running; wait for it to finish.', { restoreId: 'rs_1' }));
    expect(result.statusCode).toBe(409);
    expect(body(result)).toEqual({ error: { code: 'RESTORE_IN_PROGRESS', message: 'Another restore of this account is running; wait for it to finish.', restoreId: 'rs_1' } });
    expect(errorResult(new PlanExpiredError('This restore plan expired.', { expiresAt: '2026-11-27T10:00:00.000Z' })).statusCode).toBe(410);
    expect(body(errorResult(new ValidationError('limit: must be a number.', { field: 'limit' })))).toEqual({ error: { code: 'VALIDATION_ERROR', message: 'limit: must be a number.', field: 'limit' } });
  });

  it('tells a refused backup request when to come back, in Retry-After too', () => {
    const result = errorResult(new QuotaExceededError('2026-11-27T10:00:00.000Z', 'Enterprise', '24 hours', new Date('2026-11-27T09:59:00.000Z')));
    expect(result.statusCode).toBe(429);
    expect(result.headers).toMatchObject({ 'retry-after': '60' });
    expect(body(result).error).toMatchObject({ code: 'QUOTA_EXCEEDED', nextAllowedAt: '2026-11-27T10:00:00.000Z' });
  });

  it('answers a refusal the table does not know as our fault, without its sentence', () => {
    class UnmappedError extends ClientError {}
    const result = errorResult(new UnmappedError('internal detail'));
    expect(result.statusCode).toBe(500);
    expect(body(result).error.code).toBe('INTERNAL_ERROR');
    expect(String(result.body)).not.toContain('internal detail');
  });
});
