import { createHash } from 'node:crypto';
import { PassThrough, Readable, Transform } from 'node:stream';
import yauzl from 'yauzl';
import { ArchiveIntegrityError } from '../errors.ts';
import type { BlobStore } from '../ports/blob-store.ts';
import { DATA_DESCRIPTOR_MAX_BYTES, headerProblems } from './zip-header-checks.ts';

/** What the backup's manifest says one file of the zip holds. */
export interface ExpectedEntry {
  name: string;
  bytes: number;
  sha256: string;
}

/**
 * The end of a zip (end-of-central-directory record plus, for a backup, the whole
 * central directory: one small entry per object type) is read once in one ranged GET;
 * yauzl's many tiny reads of it are then served from memory.
 */
const TAIL_BYTES = 256 * 1024;

/**
 * Streams one file out of a zip in the blob store without downloading the zip: yauzl
 * reads the central directory and the entry's bytes through ranged reads.
 *
 * The stream is checked against the manifest while it flows: the entry must declare
 * exactly the manifest's size (so a zip bomb cannot inflate past it), may not emit a
 * byte more, and must hash to the manifest's SHA-256. Any mismatch, a truncated or
 * corrupt archive, or an entry name that climbs out of its folder (`../x`) fails the
 * stream with ArchiveIntegrityError, and only when the stream ends cleanly has the
 * whole entry been verified: consumers must treat what they read as provisional until
 * then.
 */
export async function openVerifiedZipEntry(blobs: BlobStore, zipKey: string, expected: ExpectedEntry): Promise<Readable> {
  const size = await blobs.size(zipKey);
  if (size === undefined) throw new ArchiveIntegrityError('The backup file is no longer in storage.');
  const tailStart = Math.max(0, size - TAIL_BYTES);
  const tail = await readAll(await blobs.read(zipKey, { start: tailStart, end: size - 1 }));
  if (tail.length !== size - tailStart) throw new ArchiveIntegrityError('The backup file could not be read completely.');

  const zip = await openZip(new BlobRangeReader(blobs, zipKey, tail, tailStart), size);
  try {
    const entry = await findEntry(zip, expected.name);
    if (entry.uncompressedSize !== expected.bytes) {
      throw new ArchiveIntegrityError(
        `The backup archive does not match its manifest: ${expected.name} declares ${entry.uncompressedSize} bytes, the manifest ${expected.bytes}.`,
      );
    }
    await checkHeaders(zip, entry, blobs, zipKey, size);
    const raw = await new Promise<Readable>((resolve, reject) =>
      zip.openReadStream(entry, (error, stream) => (error ? reject(damaged(error)) : resolve(stream))),
    );
    const verified = raw.pipe(verifyingStream(expected));
    raw.once('error', (error) => verified.destroy(damaged(error)));
    verified.once('close', () => zip.close());
    return verified;
  } catch (error) {
    zip.close();
    throw error;
  }
}

/** Counts and hashes bytes as they pass; fails on a byte too many, a byte too few or a wrong hash. */
function verifyingStream(expected: ExpectedEntry): Transform {
  const hash = createHash('sha256');
  let bytes = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      if (bytes > expected.bytes) {
        callback(new ArchiveIntegrityError(`The backup archive does not match its manifest: ${expected.name} holds more than ${expected.bytes} bytes.`));
        return;
      }
      hash.update(chunk);
      callback(null, chunk);
    },
    flush(callback) {
      if (bytes !== expected.bytes) {
        callback(new ArchiveIntegrityError(`The backup archive is truncated: ${expected.name} holds ${bytes} of ${expected.bytes} bytes.`));
        return;
      }
      const actual = hash.digest('hex');
      if (actual !== expected.sha256.toLowerCase()) {
        callback(new ArchiveIntegrityError(`The backup archive does not match its manifest: the SHA-256 of ${expected.name} differs, so it was altered or damaged.`));
        return;
      }
      callback();
    },
  });
}

function openZip(reader: yauzl.RandomAccessReader, size: number): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    // decodeStrings (the default) makes yauzl refuse absolute and `..` entry names.
    yauzl.fromRandomAccessReader(reader, size, { lazyEntries: true, autoClose: false, validateEntrySizes: true, strictFileNames: true }, (error, zip) =>
      error ? reject(damaged(error)) : resolve(zip),
    );
  });
}

/** Walks the central directory to `name`; every entry on the way is validated by yauzl. */
function findEntry(zip: yauzl.ZipFile, name: string): Promise<yauzl.Entry> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      zip.removeAllListeners('entry');
      zip.removeAllListeners('end');
      zip.removeAllListeners('error');
    };
    // Read the whole central directory (one entry per object type): an unsafe name
    // (`../x`) after the wanted entry must refuse the archive as well.
    let found: yauzl.Entry | undefined;
    zip.on('entry', (entry: yauzl.Entry) => {
      if (entry.fileName === name) found ??= entry;
      zip.readEntry();
    });
    zip.once('end', () => {
      cleanup();
      if (found) resolve(found);
      else reject(new ArchiveIntegrityError(`The backup archive does not contain ${name}, which its manifest lists.`));
    });
    zip.once('error', (error: Error) => {
      cleanup();
      reject(damaged(error));
    });
    zip.readEntry();
  });
}

/** The entry's local header and data descriptor must agree with the directory (zip-header-checks.ts). */
async function checkHeaders(zip: yauzl.ZipFile, entry: yauzl.Entry, blobs: BlobStore, zipKey: string, size: number): Promise<void> {
  const local = await new Promise<yauzl.LocalFileHeader>((resolve, reject) =>
    zip.readLocalFileHeader(entry, (error, header) => (error ? reject(damaged(error)) : resolve(header as yauzl.LocalFileHeader))),
  );
  let descriptor: Buffer | undefined;
  if ((entry.generalPurposeBitFlag & 0x8) !== 0) {
    const start = local.fileDataStart + entry.compressedSize;
    if (start >= size) throw new ArchiveIntegrityError(`The backup archive is damaged: ${entry.fileName} runs past the end of the file.`);
    descriptor = await readAll(await blobs.read(zipKey, { start, end: Math.min(size, start + DATA_DESCRIPTOR_MAX_BYTES) - 1 }));
  }
  const [problem] = headerProblems(entry, local, descriptor);
  if (problem) throw new ArchiveIntegrityError(`The backup archive is damaged: ${problem}`);
}

function damaged(error: Error): Error {
  if (error instanceof ArchiveIntegrityError) return error;
  return new ArchiveIntegrityError(`The backup archive is damaged and cannot be read (${error.message}).`, { cause: error });
}

/** yauzl's random access over the blob store: ranged GETs, the tail from memory. */
class BlobRangeReader extends yauzl.RandomAccessReader {
  private readonly blobs: BlobStore;
  private readonly key: string;
  private readonly tail: Buffer;
  private readonly tailStart: number;

  constructor(blobs: BlobStore, key: string, tail: Buffer, tailStart: number) {
    super();
    this.blobs = blobs;
    this.key = key;
    this.tail = tail;
    this.tailStart = tailStart;
  }

  /** yauzl's `end` is exclusive; the blob store's range is inclusive. */
  override _readStreamForRange(start: number, end: number): Readable {
    if (start >= this.tailStart || end <= start) {
      return Readable.from(end > start ? [this.tail.subarray(start - this.tailStart, end - this.tailStart)] : []);
    }
    const out = new PassThrough();
    this.blobs.read(this.key, { start, end: end - 1 }).then(
      (stream) => {
        stream.once('error', (error) => out.destroy(error));
        stream.pipe(out);
      },
      (error: Error) => out.destroy(error),
    );
    return out;
  }
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
