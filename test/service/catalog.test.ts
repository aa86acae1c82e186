import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { API_ROUTES, FUNCTIONS, functionArnPlaceholder, substituteAsl, type FunctionName } from '#service/catalog.ts';
import { buildDeps } from '#runtime/deps.ts';

// Clients are built but never used: every call below is refused before any I/O.
const deps = buildDeps({
  region: 'us-east-1', dataTableName: 'data', appTableName: 'app', backupBucketName: 'bucket',
  backupStateMachineArn: 'arn:backup', restoreStateMachineArn: 'arn:restore', senderEmail: 'x@example.com', appUrl: 'http://localhost',
});

describe('catalog', () => {
  it.each(Object.entries(FUNCTIONS))('%s has a handler module exporting handler and createHandler', async (_, spec) => {
    const path = new URL(`../../lambdas/handlers/${spec.entry}`, import.meta.url);
    expect(existsSync(path)).toBe(true);
    const module = await import(path.href);
    expect(typeof module.handler).toBe('function');
    expect(typeof module.createHandler).toBe('function');
  });

  it.each(Object.entries(API_ROUTES))('%s is served by %s', async (routeKey, functionName) => {
    const module = await import(new URL(`../../lambdas/handlers/${FUNCTIONS[functionName as FunctionName].entry}`, import.meta.url).href);
    const handler = module.createHandler(deps);
    // No claims: a route that exists refuses with 401; an unknown one would answer 404.
    const result = await handler({ routeKey, requestContext: {}, headers: {} }, {});
    expect(result.statusCode, routeKey).toBe(401);
  });

  it('names ASL placeholders after functions in PascalCase', () => {
    expect(functionArnPlaceholder('export-object')).toBe('ExportObjectFunctionArn');
  });

  it('refuses an ASL placeholder it cannot fill', () => {
    expect(() => substituteAsl('{"a": "${Nope}"}', {})).toThrow(/Nope/);
  });
});
