import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import yauzl from 'yauzl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyBackupZip } from '../../cli/verify-zip.ts';
import { buildZip, runCli, type ZipEntrySpec } from '../cli/support.ts';
import { randomFrom } from '../../local/demo-data.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';
import { ACME_ADMIN, ACME_SSO_ADMIN, dataPlaneHash, expectRefusal, bucketKeys, readAll } from './support.ts';

/** The demo data's seeded PRNG (mulberry32): the same offsets on every run, so a failure can be replayed. */
const seeded = randomFrom;

/** Every entry of a zip, unpacked (test fixtures only: small and trusted). */
async function unzipAll(zip: Buffer): Promise<Array<{ name: string; data: Buffer }>> {
  const file = await yauzl.fromBufferPromise(zip, { lazyEntries: true });
  const found: yauzl.Entry[] = [];
  await new Promise<void>((resolve, reject) => {
    file.on('entry', (entry: yauzl.Entry) => {
      found.push(entry);
      file.readEntry();
    });
    file.once('end', resolve).once('error', reject);
    file.readEntry();
  });
  const entries: Array<{ name: string; data: Buffer }> = [];
  for (const entry of found) entries.push({ name: entry.fileName, data: await readAll(await file.openReadStreamPromise(entry)) });
  return entries;
}

const SEED = 0x5eed_0009;
const tuning: { value?: { segmentRecords?: number; planBudgetMs?: number } } = {};
const FLIPS = 1000;

describe('damaged and hostile archives', () => {
  let runtime: TestRuntime;
  let dir: string;
  let backupId: string;
  let zipKey: string;
  let original: Buffer;
  let entries: Array<{ name: string; data: Buffer }>;

  const plan = () => runtime.api('POST', `/v1/backups/${backupId}/restore-plans`, { as: ACME_SSO_ADMIN, body: { objectType: 'deals', properties: ['dealname', 'amount'] } });
  const planKeys = () => bucketKeys(runtime, 'plans/');

  /** Stores `zip` as the backup's file, runs `check`, and puts the real file back. */
  async function withStoredZip(zip: Buffer, check: () => Promise<void>) {
    await runtime.deps.blobs.upload(zipKey, Readable.from([zip]));
    // What a plan reads next is what was just stored (S3 reads after writes consistently; so must the stand-in).
    expect((await readAll(await runtime.deps.blobs.read(zipKey))).equals(zip), 'the stored zip reads back as written').toBe(true);
    try {
      await check();
    } finally {
      await runtime.deps.blobs.upload(zipKey, Readable.from([original]));
    }
  }

  /** A restore plan of the stored zip is refused with a clear error, and nothing is written anywhere. */
  async function expectPlanRefused(label: string) {
    const hash = await dataPlaneHash(runtime);
    const plansBefore = await planKeys();
    const restoresBefore = (await runtime.deps.restores.listRestores('acme', { limit: 500 })).items.length;
    const response = await plan();
    expectRefusal(response, 409, 'BACKUP_DAMAGED', label);
    expect(response.body.error.message, label).toMatch(/backup archive|damaged|manifest|checksum/i);
    expect(await planKeys(), label).toEqual(plansBefore);
    expect((await runtime.deps.restores.listRestores('acme', { limit: 500 })).items.length).toBe(restoresBefore);
    expect(await dataPlaneHash(runtime), label).toBe(hash);
  }

  /** The real binary refuses the zip with exit code 1 and a sentence, and writes no file. */
  async function expectCliRefuses(zip: Buffer, name: string, message: RegExp) {
    const file = join(dir, name);
    await writeFile(file, zip);
    const cwd = await mkdtemp(join(tmpdir(), 'crm-backup-verify-cwd-'));
    try {
      const result = await runCli(['verify', file], {}, { cwd });
      expect(result.code, `${name}: ${result.stdout} ${result.stderr}`).toBe(1);
      expect(`${result.stdout}\n${result.stderr}`, name).toMatch(message);
      expect(`${result.stdout}\n${result.stderr}`, name).not.toMatch(/\n\s+at |node:internal/);
      expect(await readdir(cwd), `${name}: verify wrote nothing`).toEqual([]);
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
  }

  /** The backup's zip rebuilt from its entries, with some replaced or added. */
  function rebuilt(change: (entries: ZipEntrySpec[]) => ZipEntrySpec[]): Buffer {
    return buildZip(change(entries.map((entry) => ({ name: entry.name, data: entry.data }))));
  }

  beforeAll(async () => {
    // Planning tuning the tests can switch: a zero budget sends planning to the background state machine.
    runtime = await startTestRuntime({
      wrapDeps: (deps) => ({ ...deps, config: Object.defineProperty({ ...deps.config }, 'restoreTuning', { get: () => tuning.value, enumerable: true }) }),
    });
    dir = await mkdtemp(join(tmpdir(), 'crm-backup-archives-'));
    const requested = await runtime.api('POST', '/v1/backups', { as: ACME_ADMIN });
    backupId = requested.body.id;
    await runtime.idle();
    const backup = (await runtime.deps.backups.getBackup('acme', backupId))!;
    expect(backup.status).toBe('SUCCEEDED');
    zipKey = backup.zipKey!;
    original = await readAll(await runtime.deps.blobs.read(zipKey));
    entries = await unzipAll(original);
    expect(entries.map((entry) => entry.name)).toContain('deals.csv');
  });

  afterAll(async () => {
    await runtime?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it(`rejects all ${FLIPS} copies of a real backup zip with one byte XOR 0xff at a seeded random offset (verify)`, async () => {
    const file = join(dir, 'intact.zip');
    await writeFile(file, original);
    expect((await verifyBackupZip(file)).ok).toBe(true);
    const random = seeded(SEED);
    const undetected: number[] = [];
    const reasons = new Map<string, number>();
    for (let copy = 0; copy < FLIPS; copy += 1) {
      const offset = Math.floor(random() * original.length);
      const damaged = Buffer.from(original);
      damaged[offset]! ^= 0xff;
      const path = join(dir, `flip-${copy}.zip`);
      await writeFile(path, damaged);
      const report = await verifyBackupZip(path).catch((error: Error) => {
        expect(error.name).toBe('CorruptZipError');
        return { ok: false, problems: [error.name] };
      });
      await rm(path);
      if (report.ok) undetected.push(offset);
      else {
        const reason = String(report.problems[0]).replace(/[\w.-]+\.(csv|json)/, 'FILE').replace(/\d+/g, 'N').slice(0, 60);
        reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
      }
    }
    console.log(JSON.stringify({ suite: 'archives', zipBytes: original.length, flips: FLIPS, undetected: undetected.length, reasons: Object.fromEntries(reasons) }));
    expect(undetected, `offsets whose flip went unnoticed (seed ${SEED})`).toEqual([]);
  });

  it('rejects a handful of flipped copies through the real binary too, with exit code 1', async () => {
    const random = seeded(SEED + 1);
    for (let copy = 0; copy < 4; copy += 1) {
      const damaged = Buffer.from(original);
      damaged[Math.floor(random() * original.length)]! ^= 0xff;
      await expectCliRefuses(damaged, `binary-flip-${copy}.zip`, /FAILED verification|not a readable zip|damaged|corrupt|invalid/i);
    }
  });

  it('refuses a restore whose backup zip in S3 is damaged in a byte it reads, writing nothing', async () => {
    // The bytes planning reads of deals.csv and checks: its local header and name, its
    // compressed data (inflated and hashed), its data descriptor, and its central
    // directory record. Flipping any one of them is refused (every byte was tried once,
    // see docs/reliability.md); the record's "disk number start" (bytes 34-35) is left
    // out: a single-disk zip has no use for it and no reader looks at it.
    const header = original.indexOf(Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14]), original.indexOf(Buffer.from('deals.csv')) - 30);
    expect(original.subarray(header + 30, header + 39).toString()).toBe('deals.csv');
    const dataStart = header + 30 + 'deals.csv'.length;
    const descriptor = original.indexOf(Buffer.from([0x50, 0x4b, 0x07, 0x08]), dataStart);
    const record = original.indexOf(Buffer.from('deals.csv'), original.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]))) - 46;
    expect(original.readUInt32LE(record)).toBe(0x02014b50);
    const random = seeded(SEED + 2);
    const offsets = [
      ...Array.from({ length: 6 }, () => dataStart + Math.floor(random() * (descriptor - dataStart))),
      ...Array.from({ length: 6 }, () => header + 4 + Math.floor(random() * 26)), // header fields after the signature
      header + 30 + Math.floor(random() * 9), // the local copy of the name
      ...Array.from({ length: 3 }, () => descriptor + Math.floor(random() * 16)),
      ...Array.from({ length: 4 }, () => record + 4 + Math.floor(random() * 30)), // the record's fields before the disk number
      ...Array.from({ length: 2 }, () => record + 36 + Math.floor(random() * 19)), // attributes, local header offset, name
    ];
    expect(record).toBeGreaterThan(descriptor);
    for (const offset of offsets) {
      const damaged = Buffer.from(original);
      damaged[offset]! ^= 0xff;
      await withStoredZip(damaged, () => expectPlanRefused(`byte ${offset} flipped`));
    }
    // With the real file back, the same plan works.
    expect((await plan()).status).toBe(201);
  });

  it('fails a plan whose damage the background planning finds: FAILED with a sentence, its segments deleted, no restore of it', async () => {
    const dataStart = original.indexOf(Buffer.from('deals.csv')) + 'deals.csv'.length;
    const descriptor = original.indexOf(Buffer.from([0x50, 0x4b, 0x07, 0x08]), dataStart);
    const damaged = Buffer.from(original);
    damaged[descriptor - 20]! ^= 0xff; // late in deals.csv: the first segments plan before it shows
    const hash = await dataPlaneHash(runtime);
    const plansBefore = await planKeys();
    tuning.value = { segmentRecords: 10, planBudgetMs: 0 };
    try {
      await withStoredZip(damaged, async () => {
        const started = await plan();
        // zlib may meet the flipped byte while the API's first segment is still being
        // planned (it inflates ahead in chunks): then the API refuses at once. Either way
        // the promise is the same: a sentence, no plan to restore, nothing written.
        // (test/api/restores-async-plan.test.ts pins the background path deterministically.)
        if (started.status === 409) {
          expectRefusal(started, 409, /^BACKUP_DAMAGED$/, 'damage found before the hand-off');
          return;
        }
        expect(started.status, JSON.stringify(started.body)).toBe(202);
        expect(started.body.status).toBe('PLANNING');
        await runtime.idle();
        const failed = await runtime.api('GET', `/v1/restore-plans/${started.body.id}`, { as: ACME_SSO_ADMIN });
        expect(failed.body, JSON.stringify(failed.body)).toMatchObject({ status: 'FAILED' });
        expect(failed.body.error).toMatch(/damaged|archive|manifest/i);
        const restore = await runtime.api('POST', '/v1/restores', { as: ACME_SSO_ADMIN, body: { planId: started.body.id, acknowledge: { changesData: true, cannotBeUndone: true } } });
        expectRefusal(restore, 409, /^PLAN_/, 'a restore of a failed plan');
      });
    } finally {
      tuning.value = undefined;
    }
    expect(await planKeys()).toEqual(plansBefore);
    expect(await dataPlaneHash(runtime)).toBe(hash);
  });

  describe('hostile zips: the restore plan and the CLI verify both refuse, and write nothing', () => {
    const manifestOf = () => JSON.parse(entries.find((entry) => entry.name === 'manifest.json')!.data.toString('utf8'));
    const cases: Array<{ name: string; zip: () => Buffer; cli: RegExp }> = [
      { name: 'a truncated zip', zip: () => original.subarray(0, Math.floor(original.length * 0.7)), cli: /truncated|not a readable zip|end of central directory|corrupt/i },
      {
        name: "a manifest whose checksum does not match deals.csv",
        zip: () =>
          rebuilt((files) =>
            files.map((file) => {
              if (file.name !== 'manifest.json') return file;
              const manifest = manifestOf();
              for (const listed of manifest.files) if (listed.name === 'deals.csv') listed.sha256 = createHash('sha256').update('something else').digest('hex');
              return { ...file, data: JSON.stringify(manifest, null, 2) };
            }),
          ),
        cli: /deals\.csv.*SHA-256|SHA-256.*deals\.csv/i,
      },
      { name: 'an entry named ../x', zip: () => rebuilt((files) => [...files, { name: '../x', data: 'escaped' }]), cli: /\.\.\/x|unsafe|climbs|invalid relative path/i },
      {
        name: 'a zip bomb: deals.csv unpacks to 64 MB though the manifest says a few KB',
        zip: () => rebuilt((files) => files.map((file) => (file.name === 'deals.csv' ? { ...file, data: Buffer.alloc(64 * 1024 * 1024, 'id,dealname\r\n') } : file))),
        cli: /deals\.csv.*(bytes|larger|more)/i,
      },
      {
        name: 'a zip bomb whose headers lie: deals.csv declares its true size but inflates to 64 MB',
        zip: () => {
          const real = entries.find((entry) => entry.name === 'deals.csv')!.data.length;
          const bomb = rebuilt((files) => files.map((file) => (file.name === 'deals.csv' ? { ...file, data: Buffer.alloc(64 * 1024 * 1024, 'id,dealname\r\n') } : file)));
          // Rewrite the uncompressed size in deals.csv's local and central headers.
          for (let at = bomb.indexOf(Buffer.from('deals.csv')); at >= 0; at = bomb.indexOf(Buffer.from('deals.csv'), at + 1)) {
            if (bomb.readUInt32LE(at - 30) === 0x04034b50) bomb.writeUInt32LE(real, at - 30 + 22);
            else if (bomb.readUInt32LE(at - 46) === 0x02014b50) bomb.writeUInt32LE(real, at - 46 + 24);
          }
          return bomb;
        },
        cli: /deals\.csv|too many bytes|size|damaged/i,
      },
    ];
    for (const hostile of cases) {
      it(`refuses ${hostile.name}`, async () => {
        const zip = hostile.zip();
        if (hostile.name.startsWith('a manifest')) {
          // The restore trusts the manifest as the zip step stored it in the app table (an
          // S3 writer cannot change that copy); here it disagrees with deals.csv.
          const backup = (await runtime.deps.backups.getBackup('acme', backupId))!;
          const lying = backup.objects!.map((object) => (object.objectType === 'deals' ? { ...object, sha256: createHash('sha256').update('something else').digest('hex') } : object));
          expect(await runtime.deps.backups.updateBackup('acme', backupId, { objects: lying }, ['SUCCEEDED'])).toBe(true);
          try {
            await withStoredZip(zip, () => expectPlanRefused(hostile.name));
          } finally {
            await runtime.deps.backups.updateBackup('acme', backupId, { objects: backup.objects! }, ['SUCCEEDED']);
          }
          // A zip whose own manifest.json lies about deals.csv: the restore reads deals.csv against its trusted copy and is not fooled.
        } else {
          await withStoredZip(zip, () => expectPlanRefused(hostile.name));
        }
        await expectCliRefuses(zip, `${hostile.name.replace(/\W+/g, '-')}.zip`, hostile.cli);
      });
    }
  });
});
