import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { FUNCTIONS, lambdaOldSpaceMb, YOUNG_GENERATION_SEMI_SPACE_MB, type FunctionName } from '#service/catalog.ts';
import { NODE_FLAGS_WRAPPER } from '../../infra/constructs/service-function.ts';
import { PROJECT_ROOT } from '../../infra/paths.ts';
import { allRecords, restoreOneEditedDeal } from '../support/data-plane.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';
import { unzipEntries } from '../support/zip-entries.ts';

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

/** `npx cdk synth` as an operator runs it: the real CLI, esbuild bundling locally, no credentials. */
async function synth(outdir: string): Promise<string> {
  const result = await run(
    'npx',
    ['cdk', 'synth', '--quiet', '--no-notices', '--output', outdir, '-c', 'stage=synthtest', '-c', 'senderEmail=backups@crm.test'],
    { cwd: PROJECT_ROOT, env: { ...process.env, AWS_PROFILE: '', AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', CDK_DISABLE_CLI_TELEMETRY: 'true' }, maxBuffer: 64 * 1024 * 1024 },
  );
  return result.stdout + result.stderr;
}

/** Every file of a cloud assembly with its SHA-256, except the CLI's timing report. */
function assemblyDigest(outdir: string): Record<string, string> {
  const digest: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name !== 'performance-counters.json') digest[relative(outdir, path)] = createHash('sha256').update(readFileSync(path)).digest('hex');
    }
  };
  walk(outdir);
  return digest;
}

/** The bundled `index.mjs` of each catalog function, found through the template (by description). */
function bundlesOf(outdir: string): Record<FunctionName, string> {
  const template = JSON.parse(readFileSync(join(outdir, 'CrmBackup-synthtest-Stateless.template.json'), 'utf8')) as {
    Resources: Record<string, { Type: string; Properties: { Description?: string; Code?: { S3Key?: string } } }>;
  };
  const functions = Object.values(template.Resources).filter((resource) => resource.Type === 'AWS::Lambda::Function');
  return Object.fromEntries(
    (Object.keys(FUNCTIONS) as FunctionName[]).map((name) => {
      const resource = functions.find((candidate) => candidate.Properties.Description === FUNCTIONS[name].description);
      if (!resource) throw new Error(`No Lambda function for ${name} in the template`);
      return [name, join(outdir, `asset.${resource.Properties.Code!.S3Key!.replace(/\.zip$/, '')}`, 'index.mjs')];
    }),
  ) as Record<FunctionName, string>;
}

/**
 * The synth an operator runs, twice in a row (a deploy must not depend on when it was
 * built), then the bundles it wrote run a backup and a restore in the local runtime: a
 * missing module, an ESM/CommonJS mix-up, a worker file left behind or a native
 * dependency fails here, not in a first deploy.
 */
describe('npx cdk synth', () => {
  const first = mkdtempSync(join(tmpdir(), 'crm-backup-synth-'));
  const second = mkdtempSync(join(tmpdir(), 'crm-backup-synth-again-'));
  let seconds = 0;
  let cpuSeconds = 0;
  let output = '';

  beforeAll(async () => {
    const started = Date.now();
    const cpuBefore = childCpuSeconds();
    output = await synth(first);
    seconds = (Date.now() - started) / 1000;
    cpuSeconds = childCpuSeconds() - cpuBefore;
    console.log(`npx cdk synth took ${seconds.toFixed(1)} s (${cpuSeconds.toFixed(1)} s of CPU)`);
    await synth(second);
  }, 900_000);

  // The bundles weigh tens of megabytes: do not leave them behind in /tmp.
  afterAll(() => {
    rmSync(first, { recursive: true, force: true });
    rmSync(second, { recursive: true, force: true });
  });

  it('synthesizes both stacks with no cdk-nag finding, in a bounded CPU time per function', () => {
    expect(existsSync(join(first, 'CrmBackup-synthtest-Stateful.template.json'))).toBe(true);
    expect(existsSync(join(first, 'CrmBackup-synthtest-Stateless.template.json'))).toBe(true);
    expect(output).not.toMatch(/AwsSolutions-/);
    // Bundling is most of the synth, once per function: about 1-1.5 s of CPU each on an
    // idle 2-core machine, up to 3 s while other suites load it. The budget grows with
    // the catalog, so a new function costs its bundle, not the budget; wall-clock time
    // depends on what else runs, so only a hang would cross its bound.
    const functions = Object.keys(FUNCTIONS).length;
    expect(cpuSeconds).toBeGreaterThan(1);
    expect(cpuSeconds).toBeLessThan(10 + 4 * functions);
    expect(seconds).toBeLessThan(420);
  });

  it('bundles only what each function runs: no bundle over 3 MB', () => {
    // A dependency whose entry point requires everything it publishes (the HubSpot
    // client's does, lazily) lands whole in every bundle: 6 MB each, parsed at each cold start.
    for (const [name, bundle] of Object.entries(bundlesOf(first))) {
      expect(statSync(bundle).size, name).toBeLessThan(3 * 1024 * 1024);
    }
  });

  it('starts every function through its node-flags wrapper, which keeps V8\'s young generation at its own default size', async () => {
    const template = JSON.parse(readFileSync(join(first, 'CrmBackup-synthtest-Stateless.template.json'), 'utf8')) as {
      Resources: Record<string, { Type: string; Properties: { Environment?: { Variables?: Record<string, string> } } }>;
    };
    // The runtime's script comes last on Lambda's command line (/var/runtime/index.mjs): here, one that prints the heap's limit.
    const scriptDir = mkdtempSync(join(tmpdir(), 'crm-backup-heap-limit-'));
    const script = join(scriptDir, 'heap-limit.cjs');
    writeFileSync(script, 'console.log(require("node:v8").getHeapStatistics().heap_size_limit / 1048576)');
    onTestFinished(() => rmSync(scriptDir, { recursive: true, force: true }));
    const heapLimitMb = async (command: string, args: string[]) => {
      const { stdout } = await run(command, [...args, script], { env: { ...process.env, NODE_SEMI_SPACE_MB: String(YOUNG_GENERATION_SEMI_SPACE_MB) } });
      return Number(stdout.trim());
    };
    // Lambda's bootstrap for a 1,769 MB function: a twentieth of the memory per semi-space, the rest to the old space, the script last.
    const oldSpace = `--max-old-space-size=${lambdaOldSpaceMb(1769)}`;
    const bootstrapFlags = ['--expose-gc', '--max-http-header-size', '81920', '--max-semi-space-size=88', oldSpace];
    const asConfigured = await heapLimitMb(process.execPath, [oldSpace, `--max-semi-space-size=${YOUNG_GENERATION_SEMI_SPACE_MB}`]);
    expect(await heapLimitMb(process.execPath, bootstrapFlags)).toBeGreaterThan(asConfigured); // the flag changes something
    for (const [name, bundle] of Object.entries(bundlesOf(first))) {
      const wrapper = join(dirname(bundle), NODE_FLAGS_WRAPPER);
      expect(statSync(wrapper).mode & 0o111, `${name}: ${NODE_FLAGS_WRAPPER} is executable`).toBe(0o111);
      expect(await heapLimitMb(wrapper, [process.execPath, ...bootstrapFlags]), name).toBe(asConfigured);
    }
    const functions = Object.values(template.Resources).filter((resource) => resource.Type === 'AWS::Lambda::Function');
    const wrapped = functions.filter((resource) => {
      const variables = resource.Properties.Environment?.Variables ?? {};
      return variables.AWS_LAMBDA_EXEC_WRAPPER === `/var/task/${NODE_FLAGS_WRAPPER}` && variables.NODE_SEMI_SPACE_MB === String(YOUNG_GENERATION_SEMI_SPACE_MB);
    });
    expect(wrapped).toHaveLength(Object.keys(FUNCTIONS).length);
  });

  it('writes a byte-identical assembly the second time: templates, asset manifests and every bundle', () => {
    const once = assemblyDigest(first);
    const again = assemblyDigest(second);
    expect(Object.keys(once).filter((file) => file.endsWith('.template.json'))).toHaveLength(2);
    expect(Object.keys(once).filter((file) => file.endsWith('index.mjs')).length).toBeGreaterThanOrEqual(Object.keys(FUNCTIONS).length);
    expect(again).toEqual(once);
  });

  it('bundles every catalog function into one ESM file that Node loads and that exports a handler', async () => {
    const bundles = Object.values(bundlesOf(first));
    expect(bundles).toHaveLength(Object.keys(FUNCTIONS).length);
    for (const bundle of bundles) {
      expect(existsSync(bundle), bundle).toBe(true);
      // A module loaded by relative URL (a worker thread) is not in index.mjs, and nothing puts it next to it.
      expect(readFileSync(bundle, 'utf8'), bundle).not.toMatch(/new URL\(\s*["']\.\/[^"']+["']\s*,\s*import\.meta\.url\s*\)/);
    }
    // Importing runs each module's top level, in a process of its own with only PATH set:
    // a missing import, a CommonJS require or a read of the environment at import time fails here.
    const script = `for (const file of ${JSON.stringify(bundles)}) { const module = await import(file); if (typeof module.handler !== 'function') throw new Error(file + ' exports no handler'); }`;
    await run(process.execPath, ['--input-type=module', '-e', script], { cwd: tmpdir(), env: { PATH: process.env.PATH } });
  }, 60_000);

  describe('the bundles, run by the local runtime', () => {
    const ADMIN = 'admin@acme.example';
    let runtime: TestRuntime;
    let backupId: string;

    beforeAll(async () => {
      runtime = await startTestRuntime({ bundledFunctions: bundlesOf(first) });
    }, 240_000);
    afterAll(async () => {
      await runtime?.destroy();
    });

    it('back up an account: list, export, zip and finalize from the bundles, and the zip holds every record', async () => {
      const requested = await runtime.api('POST', '/v1/backups', { as: ADMIN });
      expect(requested.status, JSON.stringify(requested.body)).toBe(202);
      backupId = requested.body.id;
      await runtime.idle();
      const backup = (await runtime.api('GET', `/v1/backups/${backupId}`)).body;
      expect(backup.status, JSON.stringify(backup)).toBe('SUCCEEDED');

      const link = await runtime.api('GET', `/v1/backups/${backupId}/download`, { as: ADMIN });
      expect(link.status).toBe(302);
      const entries = await unzipEntries(Buffer.from(await (await fetch(link.headers.get('location')!)).arrayBuffer()));
      const manifest = JSON.parse(entries.get('manifest.json')!.toString('utf8')) as { files: Array<{ name: string; records: number }> };
      expect(manifest.files.find((file) => file.name === 'deals.csv')?.records).toBe(40);
      expect((await runtime.outbox()).some((email) => email.subject.includes('ready'))).toBe(true);
    });

    it('restore deals from that backup: plan, TOTP, apply and finalize from the bundles', async () => {
      const backedUp = await allRecords(runtime, 'acme', 'deals');
      const { restoreId, dealId } = await restoreOneEditedDeal(runtime, backupId);
      const restore = (await runtime.api('GET', `/v1/restores/${restoreId}`, { as: ADMIN })).body;
      expect(restore, JSON.stringify(restore)).toMatchObject({ status: 'SUCCEEDED' });
      expect((await allRecords(runtime, 'acme', 'deals')).get(dealId)!.properties.dealname).toBe(backedUp.get(dealId)!.properties.dealname);
    });
  });
});
