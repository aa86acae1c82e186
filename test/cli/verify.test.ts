import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyBackupZip } from '../../cli/verify-zip.ts';
import { buildBackupZip, buildZip, runCli } from './support.ts';

const CONTACTS = 'id,firstname,notes\nc1,Ana,"line one\nline two"\nc2,"O""Brien, Pat",\nc3,=SUM(A1),plain\n';
const DEALS = 'id,dealname,amount\nd1,Big deal,100\nd2,,\n';

describe('crm-backup verify', () => {
  let dir: string;
  const write = async (name: string, bytes: Buffer) => {
    const file = join(dir, name);
    await writeFile(file, bytes);
    return file;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'crm-backup-verify-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('accepts an intact backup zip and lists its files, counting quoted line breaks as one record', async () => {
    const file = await write('good.zip', buildBackupZip({ contacts: CONTACTS, deals: DEALS }));
    const result = await runCli(['verify', file]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(': OK. Backup bk_test of account acme');
    expect(result.stdout).toMatch(/contacts\.csv\s+contacts\s+3/);
    const json = await runCli(['verify', file, '--json']);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report.ok).toBe(true);
    expect(report.files.map((f: any) => [f.name, f.records])).toEqual([['contacts.csv', 3], ['deals.csv', 2]]);
  });

  it('catches a corrupted zip: one byte flipped with XOR 0xff', async () => {
    const bytes = buildBackupZip({ contacts: CONTACTS.repeat(1).replace(/\n$/, '\n') + 'c4,Zoe,x\n'.repeat(50), deals: DEALS });
    // The first entry's compressed data starts after its 30-byte header and 12-byte name.
    const damaged = Buffer.from(bytes);
    damaged[30 + 'contacts.csv'.length + 10]! ^= 0xff;
    const file = await write('flipped.zip', damaged);
    const result = await runCli(['verify', file]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('FAILED verification');
    expect(result.stdout).toMatch(/contacts\.csv (is damaged|fails its zip CRC-32|has SHA-256)/);
    expect(result.stderr).toContain('does not match its manifest');
  });

  it('catches a flipped byte anywhere: every position of a small zip fails or is harmless metadata', async () => {
    const bytes = buildBackupZip({ deals: DEALS });
    let undetected = 0;
    const positions = [...Array(bytes.length).keys()];
    for (const index of positions) {
      const damaged = Buffer.from(bytes);
      damaged[index]! ^= 0xff;
      const file = await write(`flip-${index}.zip`, damaged);
      // In-process (the binary's exit codes are covered above): every byte of the zip, fast.
      const report = await verifyBackupZip(file).catch((error: Error) => {
        expect(error.name).toBe('CorruptZipError');
        return { ok: false };
      });
      if (report.ok) undetected++;
    }
    // Only bytes that carry no content go unnoticed: "version made by", file attributes,
    // disk numbers, and the manifest's own labels (account id, completion time).
    expect(undetected / positions.length).toBeLessThan(0.1);
  });

  it('refuses a truncated zip with a clear message', async () => {
    const bytes = buildBackupZip({ contacts: CONTACTS, deals: DEALS });
    const file = await write('truncated.zip', bytes.subarray(0, Math.floor(bytes.length / 2)));
    const result = await runCli(['verify', file]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/is not a readable zip .*truncated or damaged/);
  });

  it('refuses an entry that climbs out of the folder (../x)', async () => {
    const file = await write('climb.zip', buildBackupZip({ deals: DEALS }, undefined, [{ name: '../x', data: 'evil' }]));
    const result = await runCli(['verify', file]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('invalid relative path: ../x');
  });

  it('says which file has the wrong row count', async () => {
    const file = await write('count.zip', buildBackupZip({ contacts: CONTACTS, deals: DEALS }, (files) => files.map((f) => (f.name === 'deals.csv' ? { ...f, records: 3 } : f))));
    const result = await runCli(['verify', file]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('deals.csv has 2 records, not the 3 in the manifest.');
  });

  it('refuses oversized entries without unpacking them: beyond the limit, or beyond what the manifest lists', async () => {
    const big = `id,text\n${'r,aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n'.repeat(20_000)}`;
    const file = await write('big.zip', buildBackupZip({ notes: big }));
    expect((await readFile(file)).length).toBeLessThan(20_000); // compresses ~100×: the shape of a zip bomb
    const limited = await runCli(['verify', file, '--max-entry-bytes', '100000']);
    expect(limited.code).toBe(1);
    expect(limited.stdout).toMatch(/notes\.csv would unpack to 9\d{5} bytes, more than the 100000 allowed/);
    const lying = await write('lying.zip', buildBackupZip({ notes: big }, (files) => files.map((f) => ({ ...f, bytes: 1000 }))));
    const result = await runCli(['verify', lying]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/notes\.csv is 9\d{5} bytes in the zip but 1000 in the manifest/);
  });

  it('flags files the manifest does not list, and zips without a manifest', async () => {
    const extra = await write('extra.zip', buildBackupZip({ deals: DEALS }, undefined, [{ name: 'tickets.csv', data: 'id\n' }]));
    expect((await runCli(['verify', extra])).stdout).toContain('tickets.csv is in the zip but not in the manifest.');
    const bare = await write('bare.zip', buildZip([{ name: 'deals.csv', data: DEALS }]));
    const result = await runCli(['verify', bare]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('has no manifest.json');
  });

  it('answers usage errors with exit code 2', async () => {
    const none = await runCli(['verify']);
    expect(none.code).toBe(2);
    expect(none.stderr).toBe("crm-backup: missing required argument 'file' (see crm-backup verify --help)\n");
    const missing = await runCli(['verify', join(dir, 'nope.zip')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no such file');
    const unknown = await runCli(['verify', 'x.zip', '--bogus']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe("crm-backup: unknown option '--bogus' (see crm-backup verify --help)\n");
  });
});
