import xray from 'aws-xray-sdk-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler as listBackupObjects } from '#handlers/list-backup-objects.ts';
import { buildDeps, type AppDeps } from '#runtime/deps.ts';
import { lambdaContext } from '../../local/http-server.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';

/** The variables that switch the tracer on as in Lambda (single-concurrency, the default). */
const IN_LAMBDA: Record<string, string | undefined> = {
  AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
  _HANDLER: 'index.handler',
  // The local runtime's multi-concurrency setting moves segments to the invoke store; Lambda's default has none.
  AWS_LAMBDA_MAX_CONCURRENCY: undefined,
};

/** Runs `body` with the process environment of a Lambda function, then puts it back. */
async function inLambdaEnvironment<T>(body: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(IN_LAMBDA).map((name) => [name, process.env[name]]));
  const assign = (values: Record<string, string | undefined>) => {
    for (const [name, value] of Object.entries(values)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  assign(IN_LAMBDA);
  try {
    return await body();
  } finally {
    assign(saved);
  }
}

interface TracedCall {
  name: string;
  operation?: string;
  table?: string;
  closed: boolean;
}

/**
 * The X-Ray capture of the SDK clients (lambdas/runtime/telemetry.ts, traceClients): the
 * calls a step makes are subsegments of its handler's segment, named by service and
 * operation, so a slow backup's trace shows which DynamoDB or S3 calls it waited on. The
 * segment Lambda would open is opened here; nothing is sent (it is never closed).
 */
describe('traces of a step', () => {
  let runtime: TestRuntime;

  beforeAll(async () => {
    runtime = await startTestRuntime();
  });
  afterAll(async () => {
    await runtime?.destroy();
  });

  it('show each DynamoDB call the step waited on, by operation and table, under the handler', async () => {
    const calls = await inLambdaEnvironment(async () => {
      const deps: AppDeps = buildDeps(runtime.config);
      expect(deps.telemetry.tracer.isTracingEnabled()).toBe(true);
      const backupId = 'bk_traced';
      await deps.backups.createBackup({ id: backupId, accountId: 'acme', status: 'QUEUED', trigger: 'api', requestedBy: 'admin@acme.example', createdAt: new Date().toISOString() });
      const lambdaSegment = new xray.Segment('list-backup-objects');
      await xray.getNamespace().runPromise(async () => {
        xray.setSegment(lambdaSegment);
        await listBackupObjects(deps)({ accountId: 'acme', backupId }, lambdaContext('list-backup-objects', 60, 512));
      });
      const handlerSegment = lambdaSegment.subsegments?.find((subsegment) => subsegment.name === '## index.handler');
      expect(handlerSegment, 'the handler subsegment').toBeDefined();
      return (handlerSegment!.subsegments ?? []).map((subsegment): TracedCall => {
        const aws = (subsegment as unknown as { aws?: { operation?: string; table_name?: string } }).aws;
        return { name: subsegment.name, operation: aws?.operation, table: aws?.table_name, closed: subsegment.isClosed() };
      });
    });
    // RUNNING, the account's data source, its object types, then one PENDING entry per type.
    expect(calls.map((call) => `${call.name} ${call.operation}`)).toEqual(['DynamoDB UpdateItem', 'DynamoDB GetItem', 'DynamoDB Query', 'DynamoDB UpdateItem']);
    expect(calls.map((call) => call.table)).toEqual([runtime.config.appTableName, runtime.config.appTableName, runtime.config.dataTableName, runtime.config.appTableName]);
    expect(calls.every((call) => call.closed)).toBe(true);
  });

  it('are off outside Lambda, so the local runtime and the tests send nothing', () => {
    expect(buildDeps(runtime.config).telemetry.tracer.isTracingEnabled()).toBe(false);
  });
});
