import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTIONS } from '#service/catalog.ts';
import { PROJECT_ROOT } from '../../infra/paths.ts';
import { startTestRuntime } from '../support/local-runtime.ts';

const run = promisify(execFile);

/**
 * CPU seconds used by this process's finished children (Linux /proc: cutime + cstime,
 * in clock ticks of 1/100 s). Unlike wall-clock time it does not grow when other
 * suites load the machine, so it can hold the synth to its budget without flaking.
 */
function childCpuSeconds(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  // Fields after "(comm) ": state is index 0, so cutime (field 16) and cstime (17) are 13 and 14.
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

/**
 * The synth an operator runs: `npx cdk synth` through the real CLI, with esbuild
 * bundling every function locally (no Docker), offline, then every bundle loaded by
 * Node to prove it resolves all its imports.
 */
describe('npx cdk synth', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'crm-backup-synth-'));
  let seconds = 0;
  let cpuSeconds = 0;
  let output = '';

  beforeAll(async () => {
    const started = Date.now();
    const cpuBefore = childCpuSeconds();
    const result = await run(
      'npx',
      ['cdk', 'synth', '--quiet', '--no-notices', '--output', outdir, '-c', 'stage=synthtest', '-c', 'senderEmail=backups@crm.test'],
      // No credentials, no region: the synth must not need AWS.
      { cwd: PROJECT_ROOT, env: { ...process.env, AWS_PROFILE: '', AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', CDK_DISABLE_CLI_TELEMETRY: 'true' }, maxBuffer: 64 * 1024 * 1024 },
    );
    seconds = (Date.now() - started) / 1000;
    cpuSeconds = childCpuSeconds() - cpuBefore;
    output = result.stdout + result.stderr;
    console.log(`npx cdk synth took ${seconds.toFixed(1)} s (${cpuSeconds.toFixed(1)} s of CPU)`);
  }, 240_000);

  // The bundles weigh tens of megabytes: do not leave them behind in /tmp.
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('synthesizes both stacks with no cdk-nag finding, within a minute of CPU', () => {
    expect(existsSync(join(outdir, 'CrmBackup-synthtest-Stateful.template.json'))).toBe(true);
    expect(existsSync(join(outdir, 'CrmBackup-synthtest-Stateless.template.json'))).toBe(true);
    expect(output).not.toMatch(/AwsSolutions-/);
    // 16-30 s of wall-clock time on an idle 2-core machine, about 12-15 s of CPU. Wall-clock
    // time depends on what else runs (npm test runs suites in parallel), so the budget
    // is on CPU, with a loose wall-clock bound that only a hang would cross.
    expect(cpuSeconds).toBeGreaterThan(1);
    expect(cpuSeconds).toBeLessThan(60);
    expect(seconds).toBeLessThan(200);
  });

  it('bundles every catalog function into one ESM file that Node loads and that exports a handler', async () => {
    const template = JSON.parse(readFileSync(join(outdir, 'CrmBackup-synthtest-Stateless.template.json'), 'utf8')) as {
      Resources: Record<string, { Type: string; Properties: { Description?: string; Code?: { S3Key?: string } } }>;
    };
    const bundles = Object.values(template.Resources)
      .filter((resource) => resource.Type === 'AWS::Lambda::Function' && resource.Properties.Description !== undefined)
      .filter((resource) => Object.values(FUNCTIONS).some((spec) => spec.description === resource.Properties.Description))
      .map((resource) => join(outdir, `asset.${resource.Properties.Code!.S3Key!.replace(/\.zip$/, '')}`, 'index.mjs'));
    expect(bundles).toHaveLength(Object.keys(FUNCTIONS).length);
    for (const bundle of bundles) {
      expect(existsSync(bundle), bundle).toBe(true);
      // A module loaded by relative URL (a worker thread) is not in index.mjs, and nothing puts it next to it.
      expect(readFileSync(bundle, 'utf8'), bundle).not.toMatch(/new URL\(\s*["']\.\/[^"']+["']\s*,\s*import\.meta\.url\s*\)/);
    }
    // Importing runs each module's top level: a missing import or a CommonJS require fails here.
    const script = `for (const file of ${JSON.stringify(bundles)}) { const module = await import(file); if (typeof module.handler !== 'function') throw new Error(file + ' exports no handler'); }`;
    await run(process.execPath, ['--input-type=module', '-e', script], { cwd: tmpdir(), env: { PATH: process.env.PATH } });
  }, 60_000);

  it('answers API calls from the bundled code, configured only by the environment the stack sets', async () => {
    // The bundles talk to the local stand-ins through the SDK's per-service endpoint
    // variables: the same code path as in Lambda, where configFromEnv reads the stack's variables.
    const runtime = await startTestRuntime();
    try {
      const template = readFileSync(join(outdir, 'CrmBackup-synthtest-Stateless.template.json'), 'utf8');
      const bundleOf = (description: string) => {
        const resource = Object.values(JSON.parse(template).Resources as Record<string, { Properties: { Description?: string; Code?: { S3Key: string } } }>).find(
          (candidate) => candidate.Properties.Description === description,
        )!;
        return join(outdir, `asset.${resource.Properties.Code!.S3Key.replace(/\.zip$/, '')}`, 'index.mjs');
      };
      const invoke = async (functionName: keyof typeof FUNCTIONS, routeKey: string) => {
        const [method, path] = routeKey.split(' ');
        const event = {
          version: '2.0',
          routeKey,
          rawPath: path,
          rawQueryString: '',
          headers: {},
          isBase64Encoded: false,
          requestContext: {
            http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
            routeKey,
            stage: '$default',
            requestId: 'synth-test',
            authorizer: { jwt: { claims: { sub: 'u-1', email: 'admin@acme.example', 'custom:accountId': 'acme', 'cognito:groups': '[super-admins]' }, scopes: [] } },
          },
        };
        const script = `const { handler } = await import(${JSON.stringify(bundleOf(FUNCTIONS[functionName].description))});
          const context = { functionName: 'f', awsRequestId: 'r', getRemainingTimeInMillis: () => 29000 };
          process.stdout.write(JSON.stringify(await handler(${JSON.stringify(event)}, context)));`;
        const local = runtime.config.local!;
        const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
          cwd: tmpdir(),
          env: {
            PATH: process.env.PATH,
            AWS_REGION: runtime.config.region,
            AWS_ACCESS_KEY_ID: 'S3RVER',
            AWS_SECRET_ACCESS_KEY: 'S3RVER',
            AWS_ENDPOINT_URL_DYNAMODB: local.dynamodb,
            DATA_TABLE_NAME: runtime.config.dataTableName,
            APP_TABLE_NAME: runtime.config.appTableName,
            BACKUP_BUCKET_NAME: runtime.config.backupBucketName,
          },
        });
        return JSON.parse(stdout) as { statusCode: number; body: string };
      };
      const objects = await invoke('data-plane-api', 'GET /v1/objects');
      expect(objects.statusCode, objects.body).toBe(200);
      expect((JSON.parse(objects.body) as { items: Array<{ name: string; records: number }> }).items).toContainEqual(expect.objectContaining({ name: 'contacts', records: 40 }));
      const backups = await invoke('backups-api', 'GET /v1/backups');
      expect(backups.statusCode, backups.body).toBe(200);
      expect(JSON.parse(backups.body)).toEqual({ items: [] });
    } finally {
      await runtime.destroy();
    }
  }, 120_000);
});
