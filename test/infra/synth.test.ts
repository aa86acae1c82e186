import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { FUNCTIONS } from '#handlers/catalog.ts';
import { PROJECT_ROOT } from '../../infra/paths.ts';

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
      // A worker or asset loaded by relative URL must have been bundled next to it.
      const code = readFileSync(bundle, 'utf8');
      for (const match of code.matchAll(/new URL\(\s*["']\.\/([^"']+)["']\s*,\s*import\.meta\.url\s*\)/g))
        expect(readdirSync(join(bundle, '..')), `${bundle} loads ./${match[1]}`).toContain(match[1]);
    }
    // Importing runs each module's top level: a missing import or a CommonJS require fails here.
    const script = `for (const file of ${JSON.stringify(bundles)}) { const module = await import(file); if (typeof module.handler !== 'function') throw new Error(file + ' exports no handler'); }`;
    await run(process.execPath, ['--input-type=module', '-e', script], { cwd: tmpdir(), env: { PATH: process.env.PATH } });
  }, 60_000);
});
