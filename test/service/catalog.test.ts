import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { API_ROUTES, FUNCTIONS, IDEMPOTENT_ROUTES, NOT_IDEMPOTENT, functionArnPlaceholder, substituteAsl, type FunctionName } from '#service/catalog.ts';
import { buildDeps } from '#runtime/deps.ts';

// Clients are built but never used: every call below is refused before any I/O.
const deps = buildDeps({
  region: 'us-east-1', stage: 'test', dataTableName: 'data', appTableName: 'app', backupBucketName: 'bucket',
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

  const stepFunctions = (Object.keys(FUNCTIONS) as FunctionName[]).filter((name) => !Object.values(API_ROUTES).includes(name));

  it.each(stepFunctions)('%s is built by stepHandler, with nothing from the HTTP module and no dispatch of its own', (name) => {
    const source = readFileSync(new URL(`../../lambdas/handlers/${FUNCTIONS[name].entry}`, import.meta.url), 'utf8');
    expect(source).toMatch(/export const createHandler = stepHandler\(/);
    expect(source).toMatch(/export const handler = lambdaHandler\(createHandler\)/);
    expect(source).not.toContain('#runtime/http.ts');
    expect(source).not.toMatch(/executionStatusChange|step-events|\.parse\(|safeParse/);
  });

  // The scheduler takes any event: the schedule's carries nothing it needs.
  it.each(stepFunctions.filter((name) => name !== 'run-scheduled-backups'))('%s refuses an input it does not accept with StepInputError, the one name the ASL sees', async (name) => {
    const module = await import(new URL(`../../lambdas/handlers/${FUNCTIONS[name].entry}`, import.meta.url).href);
    await expect(module.createHandler(deps)({ accountId: 42 }, { getRemainingTimeInMillis: () => 1000 })).rejects.toMatchObject({ name: 'StepInputError' });
  });

  it('takes an Idempotency-Key on every POST route, or says why not', () => {
    const posts = Object.keys(API_ROUTES).filter((routeKey) => routeKey.startsWith('POST '));
    for (const routeKey of posts) expect(IDEMPOTENT_ROUTES.has(routeKey) !== routeKey in NOT_IDEMPOTENT, routeKey).toBe(true);
    for (const routeKey of [...IDEMPOTENT_ROUTES, ...Object.keys(NOT_IDEMPOTENT)]) expect(posts, routeKey).toContain(routeKey);
  });

  it('names ASL placeholders after functions in PascalCase', () => {
    expect(functionArnPlaceholder('export-object')).toBe('ExportObjectFunctionArn');
  });

  it('refuses an ASL placeholder it cannot fill', () => {
    expect(() => substituteAsl('{"a": "${Nope}"}', {})).toThrow(/Nope/);
  });
});
