import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import fc from 'fast-check';
import yauzl from 'yauzl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assembleZip } from '#core/zip/assemble-zip.ts';
import { planZipAssembly, type StoredSegment, type ZipEntrySource } from '#core/zip/assembly-plan.ts';
import { crc32Combine, crc32CombineAll } from '#core/zip/crc32-combine.ts';
import { DeflatePool, deflateFileInSegments } from '../../../bench/deflate-pool.ts';
import { createSegmentDeflater, deflateSegmentSync } from '#core/zip/segment-deflate.ts';
import { FileZipTarget, readStored } from '../../support/file-zip-target.ts';
import { verifyBackupZip } from '../../../cli/verify-zip.ts';

const run = promisify(execFile);
const MODIFIED = new Date('2026-11-26T05:30:12Z');

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'zip-test-'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

/** CSV text with the values that break naive writers, deterministic. */
function csv(rows: number, seed = 1): Buffer {
  let state = seed;
  const random = () => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state / 0x7fffffff;
  };
  const tricky = ['', 'plain', '"quoted, with comma"', '"line\nbreak"', '🚀 emoji', 'ünïcødé', '"say ""hi"""'];
  const lines = ['id,firstname,notes,amount'];
  for (let row = 0; row < rows; row++) {
    lines.push(`${row},${tricky[Math.floor(random() * tricky.length)]},note ${Math.floor(random() * 1e9)},${(random() * 1000).toFixed(2)}`);
  }
  return Buffer.from(lines.join('\r\n') + '\r\n');
}

/** Splits `data` into `count` segments, deflates each through the streaming deflater, stores them. */
async function storeSegments(target: FileZipTarget, prefix: string, data: Buffer, count: number, options: { finish?: boolean } = {}): Promise<StoredSegment[]> {
  const segments: StoredSegment[] = [];
  for (let index = 0; index < count; index++) {
    const slice = data.subarray(Math.floor((data.length * index) / count), Math.floor((data.length * (index + 1)) / count));
    const final = index === count - 1 && options.finish !== false;
    const deflater = createSegmentDeflater({ final, level: 6 });
    const chunks: Buffer[] = [];
    await pipeline(Readable.from([slice]), deflater, async function* (source) {
      for await (const chunk of source) chunks.push(chunk as Buffer);
    });
    const key = `${prefix}/${index}.deflate`;
    await target.put(key, Buffer.concat(chunks));
    segments.push({ key, final, ...(await deflater.digest()) });
  }
  return segments;
}

function readWithYauzl(path: string): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.open(path, { lazyEntries: true, strictFileNames: true }, (error, zip) => {
      if (error) return reject(error);
      const files = new Map<string, Buffer>();
      zip.on('error', reject);
      zip.on('end', () => resolve(files));
      zip.on('entry', (entry: yauzl.Entry) => {
        zip.openReadStream(entry, (streamError, stream) => {
          if (streamError) return reject(streamError);
          const chunks: Buffer[] = [];
          stream.on('data', (chunk: Buffer) => chunks.push(chunk));
          stream.on('error', reject);
          stream.on('end', () => {
            files.set(entry.fileName, Buffer.concat(chunks));
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  });
}

async function unzipTest(path: string): Promise<string> {
  const { stdout } = await run('unzip', ['-t', path], { maxBuffer: 1 << 24 });
  return stdout;
}

async function unzipEntry(path: string, name: string): Promise<Buffer> {
  const { stdout } = await run('unzip', ['-p', path, name], { encoding: 'buffer', maxBuffer: 1 << 28 });
  return stdout;
}

describe('crc32Combine', () => {
  it('gives the CRC-32 of a concatenation from the parts’ CRCs', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.uint8Array({ maxLength: 3000 }), (a, b) => {
        const whole = zlib.crc32(Buffer.concat([a, b])) >>> 0;
        expect(crc32Combine(zlib.crc32(a), zlib.crc32(b), b.length)).toBe(whole);
      }),
    );
  });

  it('folds many parts in order', () => {
    const parts = [csv(50, 1), Buffer.alloc(0), csv(10, 2), csv(300, 3)];
    const combined = crc32CombineAll(parts.map((part) => ({ crc32: zlib.crc32(part), uncompressedSize: part.length })));
    expect(combined).toBe(zlib.crc32(Buffer.concat(parts)) >>> 0);
  });

  it('handles lengths beyond 4 GiB', () => {
    // CRC of 2^n zero bytes by doubling, checked directly where that is cheap, then
    // 2^33 reached two different ways must agree.
    const zeros = (exponent: number) => {
      let crc = zlib.crc32(Buffer.alloc(1)) >>> 0;
      for (let n = 0; n < exponent; n++) crc = crc32Combine(crc, crc, 2 ** n);
      return crc;
    };
    expect(zeros(20)).toBe(zlib.crc32(Buffer.alloc(2 ** 20)) >>> 0);
    const viaHalves = crc32Combine(zeros(32), zeros(32), 2 ** 32);
    const viaOdd = crc32Combine(crc32Combine(zeros(31), zeros(32), 2 ** 32), zeros(31), 2 ** 31);
    expect(viaHalves).toBe(zeros(33));
    expect(viaOdd).toBe(zeros(33));
  });
});

describe('createSegmentDeflater', () => {
  it('makes segments whose concatenation is one raw deflate stream', async () => {
    const target = new FileZipTarget(join(directory, 'deflater'), 1);
    const data = csv(4000);
    const segments = await storeSegments(target, 'x', data, 4);
    const joined = Buffer.concat(await Promise.all(segments.map((segment) => readStored(target, segment.key))));
    expect(zlib.inflateRawSync(joined).equals(data)).toBe(true);
    expect(segments.reduce((sum, segment) => sum + segment.compressedSize, 0)).toBe(joined.length);
    expect(crc32CombineAll(segments)).toBe(zlib.crc32(data) >>> 0);
  });
});

describe('planZipAssembly', () => {
  it('builds a standard zip from multi-segment, single-segment, empty, UTF-8-named and inline entries', async () => {
    const target = new FileZipTarget(join(directory, 'standard'), 64 * 1024);
    const contacts = csv(30_000, 7); // ~1.3 MB: several copy parts at a 64 KiB minimum
    const companies = csv(200, 8);
    const deals = csv(20_000, 9);
    const manifest = Buffer.from(JSON.stringify({ files: ['contacts.csv'] }, null, 2));
    const entries: ZipEntrySource[] = [
      { name: 'contacts.csv', modified: MODIFIED, segments: await storeSegments(target, 'contacts', contacts, 3) },
      // Segments that all end with a sync flush, as a resumable export writes them.
      { name: 'companies.csv', modified: MODIFIED, segments: await storeSegments(target, 'companies', companies, 2, { finish: false }) },
      { name: 'empty.csv', modified: MODIFIED, segments: [] },
      { name: 'negócios — 🚀.csv', modified: MODIFIED, segments: await storeSegments(target, 'deals', deals, 2) },
      { name: 'manifest.json', modified: MODIFIED, content: manifest },
    ];
    const plan = planZipAssembly(entries, { minPartSize: 64 * 1024 });
    expect(plan.zip64).toBe(false);
    expect(plan.parts.some((part) => part.kind === 'copy')).toBe(true);

    await assembleZip(plan, 'backup.zip', target);
    const path = target.path('backup.zip');
    const zip = await readFile(path);
    expect(zip.length).toBe(plan.size);
    // Only glue was read through the assembler: far less than the data.
    expect(target.stats.readBytes).toBe(plan.readBytes);
    expect(target.stats.copiedBytes).toBe(plan.copiedBytes);
    expect(plan.readBytes).toBeLessThan(plan.copiedBytes);
    // The plan's runs, concatenated, are the archive the parts built.
    const spans = await Promise.all(plan.spans.map((span) => (span.kind === 'bytes' ? span.bytes : target.readRange(span.key, span.start, span.length))));
    expect(Buffer.concat(spans).equals(zip)).toBe(true);

    const report = await unzipTest(path);
    expect(report).toContain('No errors detected');
    expect(report).toContain('negócios — 🚀.csv');
    expect((await unzipEntry(path, 'contacts.csv')).equals(contacts)).toBe(true);
    expect((await unzipEntry(path, 'negócios — 🚀.csv')).equals(deals)).toBe(true);

    const files = await readWithYauzl(path);
    expect([...files.keys()]).toEqual(['contacts.csv', 'companies.csv', 'empty.csv', 'negócios — 🚀.csv', 'manifest.json']);
    expect(files.get('contacts.csv')!.equals(contacts)).toBe(true);
    expect(files.get('companies.csv')!.equals(companies)).toBe(true);
    expect(files.get('empty.csv')!.length).toBe(0);
    expect(files.get('negócios — 🚀.csv')!.equals(deals)).toBe(true);
    expect(files.get('manifest.json')!.equals(manifest)).toBe(true);

    // A third reader, and the streaming path (local headers + data descriptors only).
    const { stdout } = await run('python3', ['-c', PYTHON_CHECK, path]);
    expect(JSON.parse(stdout)).toMatchObject({ bad: null, names: 5, flags: [0x808, 0x808, 0x808, 0x808, 0x808] });
  });

  it('writes ZIP64 records when forced, which unzip, zipinfo and yauzl accept', async () => {
    const target = new FileZipTarget(join(directory, 'forced64'), 64 * 1024);
    const contacts = csv(5000, 3);
    const plan = planZipAssembly(
      [
        { name: 'contacts.csv', modified: MODIFIED, segments: await storeSegments(target, 'contacts', contacts, 2) },
        { name: 'empty.csv', modified: MODIFIED, segments: [] },
        { name: 'manifest.json', modified: MODIFIED, content: Buffer.from('{}') },
      ],
      { forceZip64: true, minPartSize: 64 * 1024 },
    );
    expect(plan.zip64).toBe(true);
    expect(plan.entries.every((entry) => entry.zip64)).toBe(true);
    await assembleZip(plan, 'backup.zip', target);
    const path = target.path('backup.zip');

    expect(await unzipTest(path)).toContain('No errors detected');
    const { stdout: info } = await run('zipinfo', ['-v', path]);
    expect(info).toContain('PKWARE 64-bit sizes');
    expect(info).toContain('minimum software version required to extract:   4.5');
    expect(info).toContain('central directory contains 3 entries');
    // The archive ends with the ZIP64 end record, its locator, then the classic record.
    const zip = await readFile(path);
    expect(zip.readUInt32LE(zip.length - 22 - 20 - 56)).toBe(0x06064b50);
    expect(zip.readUInt32LE(zip.length - 22 - 20)).toBe(0x07064b50);
    expect(zip.readUInt16LE(zip.length - 22 + 10)).toBe(0xffff);
    const files = await readWithYauzl(path);
    expect(files.get('contacts.csv')!.equals(contacts)).toBe(true);
    const { stdout } = await run('python3', ['-c', PYTHON_CHECK, path]);
    expect(JSON.parse(stdout)).toMatchObject({ bad: null, names: 3 });
  });

  it('switches to ZIP64 by itself for an entry over 4 GiB', { timeout: 120_000 }, async () => {
    // 4.25 GiB of zeros: one compressed 256 MiB segment stored once and referenced 17
    // times (each segment is a fresh deflate stream ended by a sync flush, so repeating
    // it is valid), plus a final empty segment. The archive is ~5 MB.
    const target = new FileZipTarget(join(directory, 'huge'), 64 * 1024);
    const block = Buffer.alloc(256 * 1024 * 1024);
    const middle = deflateSegmentSync(block, { final: false, level: 1 });
    const last = deflateSegmentSync(Buffer.alloc(0), { final: true });
    await target.put('zeros/middle', middle.data);
    await target.put('zeros/last', last.data);
    const segments: StoredSegment[] = [
      ...Array.from({ length: 17 }, () => ({ key: 'zeros/middle', ...middle, data: undefined })),
      { key: 'zeros/last', crc32: last.crc32, compressedSize: last.compressedSize, uncompressedSize: 0 },
    ];
    const plan = planZipAssembly([
      { name: 'small.csv', modified: MODIFIED, segments: await storeSegments(target, 'small', csv(10), 1) },
      { name: 'zeros.bin', modified: MODIFIED, segments },
    ]);
    const huge = plan.entries[1]!;
    expect(huge.uncompressedSize).toBe(17 * 256 * 1024 * 1024);
    expect(huge.zip64).toBe(true);
    expect(plan.entries[0]!.zip64).toBe(false);
    await assembleZip(plan, 'backup.zip', target);
    const path = target.path('backup.zip');
    const report = await unzipTest(path);
    expect(report).toContain('No errors detected');
    const { stdout: info } = await run('zipinfo', [path]);
    expect(info).toContain('4563402752');
  });

  it('cuts any layout into parts that S3 accepts, reading only glue', () => {
    const min = 1000;
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.integer({ min: 1, max: 5000 }), { maxLength: 5 }), { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        (sizes, forceZip64) => {
          const entries: ZipEntrySource[] = sizes.map((segmentSizes, entry) => ({
            name: `type-${entry}.csv`,
            modified: MODIFIED,
            segments: segmentSizes.map((size, index) => ({ key: `${entry}/${index}`, crc32: 0, compressedSize: size, uncompressedSize: size * 4 })),
          }));
          const plan = planZipAssembly(entries, { minPartSize: min, maxPartSize: 3000, forceZip64 });
          let total = 0;
          plan.parts.forEach((part, index) => {
            if (index < plan.parts.length - 1) expect(part.length).toBeGreaterThanOrEqual(min);
            if (part.kind === 'copy') expect(part.length).toBeLessThanOrEqual(3000);
            if (part.kind === 'upload') expect(part.length).toBeLessThan(2 * min + 200 * entries.length);
            total += part.length;
          });
          expect(total).toBe(plan.size);
          // Glue is bounded by the number of boundaries, not by the data: each header run
          // takes < 2 × min of the next object (a remainder under min rides along), and
          // a segment smaller than a part is read whole.
          const smallSegments = sizes.flat().filter((size) => size < min).length;
          expect(plan.readBytes).toBeLessThanOrEqual((2 * (entries.length + 1) + smallSegments) * min);
        },
      ),
    );
  });

  it('passes the strict backup verification of the CLI and the restore, with and without ZIP64', async () => {
    const target = new FileZipTarget(join(directory, 'verified'), 64 * 1024);
    const contacts = csv(8000, 4);
    // Unmarked segments, as a resumable export writes them: the plan ends the stream.
    const segments = await storeSegments(target, 'contacts', contacts, 3, { finish: false });
    const manifest = {
      accountId: 'acme',
      backupId: 'bk_1',
      completedAt: MODIFIED.toISOString(),
      files: [{ name: 'contacts.csv', objectType: 'contacts', records: 8000, bytes: contacts.length, sha256: createHash('sha256').update(contacts).digest('hex') }],
    };
    for (const forceZip64 of [false, true]) {
      const plan = planZipAssembly(
        [
          { name: 'contacts.csv', modified: MODIFIED, segments },
          { name: 'manifest.json', modified: MODIFIED, content: Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`) },
        ],
        { minPartSize: 64 * 1024, forceZip64 },
      );
      await assembleZip(plan, `backup-${forceZip64}.zip`, target);
      const report = await verifyBackupZip(target.path(`backup-${forceZip64}.zip`));
      expect(report.problems).toEqual([]);
      expect(report.ok).toBe(true);
    }
  });

  it('refuses a deflate stream that ends before its last segment', () => {
    const segment = { key: 'k', crc32: 0, compressedSize: 10, uncompressedSize: 10, final: true };
    expect(() => planZipAssembly([{ name: 'a.csv', modified: MODIFIED, segments: [segment, { ...segment, final: false }] }])).toThrow(/only the last segment/);
  });

  it('refuses names that could escape the folder they are extracted to', () => {
    for (const name of ['../evil.csv', '/etc/passwd', 'a/../../b', 'dir\\file.csv', '']) {
      expect(() => planZipAssembly([{ name, modified: MODIFIED, segments: [] }])).toThrow(/safe ZIP entry name/);
    }
  });
});

describe('assembleZip', () => {
  it('aborts the upload when a part fails, leaving no parts behind', async () => {
    class FailingTarget extends FileZipTarget {
      override async copyPart(): Promise<string> {
        throw new Error('S3 said no');
      }
    }
    const target = new FailingTarget(join(directory, 'failing'), 1024);
    const segments = await storeSegments(target, 'contacts', csv(3000), 2);
    const plan = planZipAssembly([{ name: 'contacts.csv', modified: MODIFIED, segments }], { minPartSize: 1024 });
    expect(plan.parts.some((part) => part.kind === 'copy')).toBe(true);
    await expect(assembleZip(plan, 'backup.zip', target)).rejects.toThrow('S3 said no');
    expect(target.uploads.size).toBe(0);
  });
});

describe('deflateFileInSegments', () => {
  it.each([
    ['in memory', undefined],
    ['streamed', 0],
  ])('deflates a file on worker threads into segments that form one entry (%s)', async (mode, inMemoryLimit) => {
    const target = new FileZipTarget(join(directory, `pool-${mode}`), 64 * 1024);
    const data = csv(40_000, 5);
    const source = join(directory, 'pool-source.csv');
    await writeFile(source, data);
    await mkdir(target.path('pool'), { recursive: true });
    const pool = new DeflatePool(2);
    try {
      const digests = await deflateFileInSegments(source, { pool, segmentBytes: 400_000, inMemoryLimit, targetFor: (index) => target.path(`pool/${index}`) });
      expect(digests.length).toBeGreaterThan(3);
      const plan = planZipAssembly(
        [{ name: 'contacts.csv', modified: MODIFIED, segments: digests.map((digest, index) => ({ ...digest, key: `pool/${index}` })) }],
        { minPartSize: 64 * 1024 },
      );
      await assembleZip(plan, 'pool.zip', target);
      expect(await unzipTest(target.path('pool.zip'))).toContain('No errors detected');
      expect((await unzipEntry(target.path('pool.zip'), 'contacts.csv')).equals(data)).toBe(true);
    } finally {
      await pool.close();
    }
  });
});

/** Python's zipfile: reads every entry through the central directory, and walks local headers. */
const PYTHON_CHECK = `
import json, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    bad = z.testzip()
    infos = z.infolist()
    print(json.dumps({"bad": bad, "names": len(infos), "flags": [i.flag_bits for i in infos]}))
`;
