import { createHash } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { ZipArchive } from 'archiver';
import { describe, expect, it } from 'vitest';
import { ArchiveIntegrityError } from '#core/errors.ts';
import type { BlobStore } from '#core/ports/blob-store.ts';
import { openVerifiedZipEntry } from '#core/zip/zip-entry-reader.ts';

/** An in-memory blob store that counts ranged reads (core tests: real step, in-memory port). */
function memoryBlobs(objects: Record<string, Buffer>): BlobStore & { reads: Array<{ start: number; end: number } | undefined> } {
  const reads: Array<{ start: number; end: number } | undefined> = [];
  return {
    reads,
    async upload() {
      throw new Error('not used');
    },
    listKeys() {
      throw new Error('not used');
    },
    async read(key, range) {
      reads.push(range);
      const body = objects[key]!;
      return Readable.from([range ? body.subarray(range.start, range.end + 1) : body]);
    },
    async size(key) {
      return objects[key]?.length;
    },
    async presignDownload() {
      return '';
    },
    async deletePrefix() {},
  };
}

async function zipOf(files: Record<string, Buffer | string>): Promise<Buffer> {
  const archive = new ZipArchive({ zlib: { level: 6 } });
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise((resolve) => out.on('end', resolve));
  archive.pipe(out);
  for (const [name, content] of Object.entries(files)) archive.append(content, { name });
  await archive.finalize();
  await done;
  return Buffer.concat(chunks);
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const CSV = `id,name\r\n${Array.from({ length: 5000 }, (_, i) => `${i},"Name, ${i} 😀"`).join('\r\n')}\r\n`;
const expected = { name: 'deals.csv', bytes: Buffer.byteLength(CSV), sha256: sha256(CSV) };

describe('openVerifiedZipEntry', () => {
  it('streams one entry out of the zip with ranged reads when it matches the manifest', async () => {
    const zip = await zipOf({ 'contacts.csv': 'id\r\n1\r\n', 'deals.csv': CSV, 'manifest.json': '{}' });
    const blobs = memoryBlobs({ 'b.zip': zip });
    const content = await readAll(await openVerifiedZipEntry(blobs, 'b.zip', expected));
    expect(content.toString('utf8')).toBe(CSV);
    expect(blobs.reads.every((range) => range !== undefined)).toBe(true);
  });

  it('refuses an entry whose SHA-256 differs from the manifest', async () => {
    const zip = await zipOf({ 'deals.csv': CSV.replace('Name, 42 ', 'Name, 43 ') });
    const stream = await openVerifiedZipEntry(memoryBlobs({ 'b.zip': zip }), 'b.zip', expected);
    await expect(readAll(stream)).rejects.toThrow(/SHA-256 of deals\.csv differs/);
  });

  it('refuses a truncated archive', async () => {
    const zip = await zipOf({ 'deals.csv': CSV });
    await expect(openVerifiedZipEntry(memoryBlobs({ 'b.zip': zip.subarray(0, zip.length - 40) }), 'b.zip', expected)).rejects.toBeInstanceOf(ArchiveIntegrityError);
  });

  it('refuses a zip bomb: an entry larger than the manifest says', async () => {
    const bomb = Buffer.alloc(20 * 1024 * 1024, 'a');
    const zip = await zipOf({ 'deals.csv': bomb });
    await expect(openVerifiedZipEntry(memoryBlobs({ 'b.zip': zip }), 'b.zip', { ...expected, bytes: 1000 })).rejects.toThrow(/declares 20971520 bytes, the manifest 1000/);
  });

  it('refuses an entry that inflates past its declared size', async () => {
    const zip = await zipOf({ 'deals.csv': CSV });
    // Lie in both headers: declare 100 bytes uncompressed; yauzl and our cap must stop at 100.
    const lied = Buffer.from(zip);
    patchDeclaredSize(lied, 'deals.csv', 100);
    // Refused on opening (the data descriptor disagrees with the patched directory) or while reading.
    const read = async () => readAll(await openVerifiedZipEntry(memoryBlobs({ 'b.zip': lied }), 'b.zip', { ...expected, bytes: 100 }));
    await expect(read()).rejects.toBeInstanceOf(ArchiveIntegrityError);
  });

  it('refuses an archive with an entry named ../x', async () => {
    const zip = await zipOf({ 'aa/x': 'evil', 'deals.csv': CSV });
    const evil = Buffer.from(zip.toString('latin1').replaceAll('aa/x', '../x'), 'latin1');
    await expect(openVerifiedZipEntry(memoryBlobs({ 'b.zip': evil }), 'b.zip', expected)).rejects.toThrow(/invalid relative path: \.\.\/x/);
  });

  it('refuses an archive without the entry the manifest lists', async () => {
    const zip = await zipOf({ 'contacts.csv': 'id\r\n' });
    await expect(openVerifiedZipEntry(memoryBlobs({ 'b.zip': zip }), 'b.zip', expected)).rejects.toThrow(/does not contain deals\.csv/);
  });
});

/** Rewrites the uncompressed size of `name` in its central directory record (archiver streams: sizes live there). */
function patchDeclaredSize(zip: Buffer, name: string, size: number): void {
  for (let offset = zip.length - 22; offset >= 0; offset -= 1) {
    if (zip.readUInt32LE(offset) !== 0x02014b50) continue;
    const nameLength = zip.readUInt16LE(offset + 28);
    if (zip.toString('utf8', offset + 46, offset + 46 + nameLength) === name) {
      zip.writeUInt32LE(size, offset + 24);
      return;
    }
  }
  throw new Error(`no central directory record for ${name}`);
}
