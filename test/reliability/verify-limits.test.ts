import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomFrom } from '../../local/demo-data.ts';
import { buildBackupZip, runCli } from '../cli/support.ts';
import { writeOneRecordZip } from './crafted-zips.ts';

/**
 * `crm-backup verify` on crafted archives (issue 13, finding 6): it must stay flat in
 * memory and fail fast on any archive. Each check runs verify in a process of its own,
 * so its peak RSS is verify's alone.
 */

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const figures: Record<string, unknown> = {};

/** Runs verifyBackupZip on `file` in a fresh Node process: its report, wall time and peak RSS. */
async function verifyInOwnProcess(file: string): Promise<{ ok: boolean; problems: string[]; ms: number; peakRssMb: number }> {
  const script = `
    import { verifyBackupZip } from './cli/verify-zip.ts';
    import { peakRssMb } from './bench/peak-rss.ts';
    const started = performance.now();
    const report = await verifyBackupZip(process.argv[1]).catch((error) => ({ ok: false, problems: [error.message] }));
    console.log(JSON.stringify({ ok: report.ok, problems: report.problems, ms: Math.round(performance.now() - started), peakRssMb: peakRssMb() }));
  `;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script, file], { cwd: join(import.meta.dirname, '..', '..'), maxBuffer: 16 * MiB });
  return JSON.parse(stdout.trim().split('\n').at(-1)!);
}

describe('crm-backup verify on crafted archives', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'crm-backup-verify-limits-'));
  });

  afterAll(async () => {
    console.log(JSON.stringify({ suite: 'verify limits', figures }));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("refuses the review's 1 MB zip listing a 1 GiB record in seconds and flat memory, without inflating it", async () => {
    const file = join(dir, 'one-record-1g.zip');
    const { zipBytes } = await writeOneRecordZip(file, GiB);
    const run = await verifyInOwnProcess(file);
    figures.oneRecord1GiB = { zipBytes, ...run };
    expect(run.ok).toBe(false);
    expect(run.problems.join('\n')).toMatch(/deals\.csv would inflate \d+ times .* no backup compresses more than 500:1/);
    expect(run.ms).toBeLessThan(5_000);
    expect(run.peakRssMb).toBeLessThan(150);
    const cli = await runCli(['verify', file]);
    expect(cli.code).toBe(1);
    expect(cli.stdout).toMatch(/FAILED verification[\s\S]*500:1/);
  });

  it('stops at the first CSV record over 8 MiB, even in a zip of ordinary compression, and says so', async () => {
    // 12 MiB of two letters and no line break: about 7:1, so only the record limit stops it.
    const random = randomFrom(0x5eed_0013);
    const record = Buffer.alloc(12 * MiB);
    for (let index = 0; index < record.length; index += 1) record[index] = random() < 0.5 ? 0x61 : 0x62;
    const file = join(dir, 'one-record-12m.zip');
    await writeFile(file, buildBackupZip({ deals: `id,dealname\n${record.toString('latin1')}\n` }));
    const run = await verifyInOwnProcess(file);
    figures.oneRecord12MiB = run;
    expect(run.ok).toBe(false);
    expect(run.problems).toEqual([expect.stringMatching(/^deals\.csv has a record longer than 8 MiB \(line 2, counting the header\)/)]);
    expect(run.peakRssMb).toBeLessThan(150);
  });

  it('still accepts a genuine backup that compresses 300:1 (thousands of blank columns)', async () => {
    const columns = 3000;
    const rows = [`id,${Array.from({ length: columns }, (_, index) => `prop_${index}`).join(',')}`];
    for (let index = 0; index < 4000; index += 1) rows.push(`${10_000_000_000 + index * 37}${','.repeat(columns)}`);
    const file = join(dir, 'wide-blank.zip');
    await writeFile(file, buildBackupZip({ contacts: `${rows.join('\n')}\n` }));
    const run = await verifyInOwnProcess(file);
    figures.wideBlankTable = run;
    expect(run.problems).toEqual([]);
    expect(run.ok).toBe(true);
  });
});
