import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import { parse } from 'csv-parse';
import yauzl, { type Entry, type ZipFile } from 'yauzl';
import { DATA_DESCRIPTOR_MAX_BYTES, headerProblems } from '#core/zip/zip-header-checks.ts';

/**
 * Offline check of a backup zip against the manifest.json inside it (API.md, "The
 * zip"): every listed CSV present, its byte count, SHA-256 and row count as listed,
 * nothing unlisted, no unsafe names, no entry bigger than it claims or than a limit
 * (a zip bomb), and a zip that is whole. Streams every entry: memory stays flat.
 *
 * Any archive, however crafted, is refused fast and in flat memory (issue 13, finding 6:
 * a 1 MB zip listing one 1 GiB CSV record took 278 s and 2.2 GB before a crash): an
 * entry's size must match the manifest and a ratio limit before anything inflates, and
 * one CSV record may not grow past `maxRecordBytes` while it is parsed.
 */

/** One CSV file as the manifest lists it. */
export interface ManifestFile {
  name: string;
  objectType: string;
  records: number;
  bytes: number;
  sha256: string;
}

export interface BackupManifestFile {
  accountId: string;
  backupId: string;
  completedAt: string;
  files: ManifestFile[];
}

export interface VerifyOptions {
  /** Largest uncompressed entry accepted (default 64 GiB): beyond it the zip is refused unread. */
  maxEntryBytes?: number;
  /** Largest manifest.json accepted (default 4 MiB). */
  maxManifestBytes?: number;
  /** Most entries accepted (default 10,000; a backup has one per object type). */
  maxEntries?: number;
  /** Largest single CSV record (default 8 MiB): a bigger one stops the check of its file. */
  maxRecordBytes?: number;
  /** Highest inflated:compressed size ratio of an entry over 1 MiB (default 500). */
  maxCompressionRatio?: number;
}

/**
 * No CRM record is near this: a property value is at most 65,536 characters and a
 * record's values are kilobytes. The CSV parser holds one record at a time, so this
 * is also what parsing can cost in memory.
 */
export const MAX_RECORD_BYTES = 8 * 1024 * 1024;
/**
 * Deflate cannot do better than about 1,032:1, and zip bombs sit near that. Real
 * backups stay far below: a table of 3,000 all-blank columns compresses 337:1 at the
 * export's level 5 (1,500 columns: 212:1).
 */
export const MAX_COMPRESSION_RATIO = 500;
/** Entries smaller than this inflate to little whatever their ratio (a CSV of one blank row can exceed it). */
const RATIO_FLOOR_BYTES = 1024 * 1024;

export interface FileCheck {
  name: string;
  objectType: string;
  records: number;
  bytes: number;
  sha256: string;
  ok: boolean;
}

export interface VerifyReport {
  ok: boolean;
  manifest?: BackupManifestFile;
  files: FileCheck[];
  /** Every problem found, each a sentence; empty when ok. */
  problems: string[];
}

/** A zip that cannot be read at all (not a zip, truncated, unsafe names). */
export class CorruptZipError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CorruptZipError';
  }
}

const MANIFEST = 'manifest.json';

/** Verifies a backup zip; answers a report rather than throwing for mismatches. */
export async function verifyBackupZip(path: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const maxEntryBytes = options.maxEntryBytes ?? 64 * 1024 ** 3;
  const maxManifestBytes = options.maxManifestBytes ?? 4 * 1024 ** 2;
  const maxEntries = options.maxEntries ?? 10_000;
  const maxRecordBytes = options.maxRecordBytes ?? MAX_RECORD_BYTES;
  const maxRatio = options.maxCompressionRatio ?? MAX_COMPRESSION_RATIO;
  const zip = await openZip(path);
  try {
    if (zip.entryCount > maxEntries) throw new CorruptZipError(`${path} has ${zip.entryCount} entries; a backup never has more than ${maxEntries}.`);
    const entries = await readEntries(zip, path);
    const problems: string[] = [];
    const byName = new Map<string, Entry>();
    for (const entry of entries) {
      if (byName.has(entry.fileName)) problems.push(`${entry.fileName} appears twice in the zip.`);
      byName.set(entry.fileName, entry);
      if (entry.uncompressedSize > maxEntryBytes) problems.push(`${entry.fileName} would unpack to ${entry.uncompressedSize} bytes, more than the ${maxEntryBytes} allowed.`);
      if (entry.isEncrypted()) problems.push(`${entry.fileName} is encrypted; backups never are.`);
    }
    const manifestEntry = byName.get(MANIFEST);
    if (!manifestEntry) return { ok: false, files: [], problems: [...problems, `${path} has no manifest.json: it is not a crm-backup zip.`] };
    if (manifestEntry.uncompressedSize > maxManifestBytes) {
      return { ok: false, files: [], problems: [...problems, `manifest.json is ${manifestEntry.uncompressedSize} bytes, more than the ${maxManifestBytes} allowed.`] };
    }
    const manifest = parseManifest(await readWhole(zip, manifestEntry, maxManifestBytes));
    const files: FileCheck[] = [];
    for (const listed of manifest.files) {
      const entry = byName.get(listed.name);
      if (!entry) {
        problems.push(`${listed.name} is listed in the manifest but missing from the zip.`);
        continue;
      }
      // Sizes first, from the directory alone: nothing is inflated that could not pass.
      if (entry.uncompressedSize !== listed.bytes) {
        problems.push(`${listed.name} is ${entry.uncompressedSize} bytes in the zip but ${listed.bytes} in the manifest; it was not unpacked.`);
        continue;
      }
      if (entry.uncompressedSize > maxEntryBytes) continue;
      const ratio = entry.uncompressedSize / Math.max(1, entry.compressedSize);
      if (entry.uncompressedSize > RATIO_FLOOR_BYTES && ratio > maxRatio) {
        problems.push(
          `${listed.name} would inflate ${Math.round(ratio)} times (${entry.compressedSize} bytes to ${entry.uncompressedSize}); no backup compresses more than ${maxRatio}:1, so it was not unpacked.`,
        );
        continue;
      }
      const actual = await measureCsv(zip, entry, maxRecordBytes);
      if (actual.stopped) {
        problems.push(`${listed.name} ${actual.stopped}`);
        files.push({ name: listed.name, objectType: listed.objectType, records: actual.records, bytes: actual.bytes, sha256: '', ok: false });
        continue;
      }
      const fileProblems: string[] = [];
      if (actual.bytes !== listed.bytes) fileProblems.push(`${listed.name} unpacked to ${actual.bytes} bytes, not the ${listed.bytes} listed.`);
      if (actual.crc32 !== entry.crc32) fileProblems.push(`${listed.name} fails its zip CRC-32 check: the file is damaged.`);
      if (actual.sha256 !== listed.sha256.toLowerCase()) fileProblems.push(`${listed.name} has SHA-256 ${actual.sha256}, not the ${listed.sha256} in the manifest.`);
      if (actual.error) fileProblems.push(`${listed.name} is not valid CSV: ${actual.error}`);
      else if (actual.records !== listed.records) fileProblems.push(`${listed.name} has ${actual.records} records, not the ${listed.records} in the manifest.`);
      problems.push(...fileProblems);
      files.push({ name: listed.name, objectType: listed.objectType, records: actual.records, bytes: actual.bytes, sha256: actual.sha256, ok: fileProblems.length === 0 });
    }
    const listedNames = new Set(manifest.files.map((file) => file.name));
    for (const entry of entries) {
      if (entry.fileName !== MANIFEST && !listedNames.has(entry.fileName)) problems.push(`${entry.fileName} is in the zip but not in the manifest.`);
    }
    return { ok: problems.length === 0, manifest, files, problems };
  } finally {
    zip.close();
  }
}

/** The zip's directory, read lazily; a file that is not a readable zip is CorruptZipError, a missing one its fs error. */
async function openZip(path: string): Promise<ZipFile> {
  try {
    return await yauzl.openPromise(path, { lazyEntries: true, autoClose: false, decodeStrings: true, validateEntrySizes: true, strictFileNames: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'EACCES') throw error;
    throw new CorruptZipError(`${path} is not a readable zip (${describe(error)}); it may be truncated or damaged.`, { cause: error });
  }
}

/**
 * The manifest.json of a backup zip, without checking its files (`diff` checks each CSV
 * it reads against the manifest's size and SHA-256 as it streams).
 */
export async function readBackupManifest(path: string, maxManifestBytes = 4 * 1024 ** 2): Promise<BackupManifestFile> {
  const zip = await openZip(path);
  try {
    const manifestEntry = (await readEntries(zip, path)).find((entry) => entry.fileName === MANIFEST);
    if (!manifestEntry) throw new CorruptZipError(`${path} has no manifest.json: it is not a crm-backup zip.`);
    if (manifestEntry.uncompressedSize > maxManifestBytes) throw new CorruptZipError(`manifest.json is ${manifestEntry.uncompressedSize} bytes, more than the ${maxManifestBytes} allowed.`);
    return parseManifest(await readWhole(zip, manifestEntry, maxManifestBytes));
  } finally {
    zip.close();
  }
}

/** Reads the central directory, and checks each local header agrees with it (a damaged header is damage). */
async function readEntries(zip: ZipFile, path: string): Promise<Entry[]> {
  const directoryAt = new Map<Entry, number>();
  const entries = await new Promise<Entry[]>((resolve, reject) => {
    const found: Entry[] = [];
    zip.on('entry', (entry: Entry) => {
      found.push(entry);
      // yauzl has moved its cursor past this directory record: where the record starts.
      const cursor = (zip as unknown as { readEntryCursor: number }).readEntryCursor;
      directoryAt.set(entry, cursor - (46 + entry.fileNameLength + entry.extraFieldLength + entry.fileCommentLength));
      zip.readEntry();
    });
    zip.on('end', () => resolve(found));
    zip.on('error', (error) => reject(new CorruptZipError(`${path} is damaged or unsafe: ${describe(error)}.`, { cause: error })));
    zip.readEntry();
  });
  for (const entry of entries) {
    let header;
    try {
      header = await zip.readLocalFileHeaderPromise(entry);
    } catch (error) {
      throw new CorruptZipError(`${path} is damaged: the header of ${entry.fileName} cannot be read (${describe(error)}).`, { cause: error });
    }
    // headerProblems checks the local header against the directory, and the fields that
    // carry no content (attributes, "made by", the data descriptor after flag bit 3's data).
    const descriptor = (entry.generalPurposeBitFlag & 0x8) !== 0;
    const descriptorBytes = descriptor ? await readAt(path, header.fileDataStart + entry.compressedSize, DATA_DESCRIPTOR_MAX_BYTES) : undefined;
    // yauzl skips the directory's "disk number start": a single-disk zip has 0 there (0xffff with zip64).
    const disk = (await readAt(path, directoryAt.get(entry)! + 34, 2)).readUInt16LE(0);
    if (disk !== 0 && disk !== 0xffff) throw new CorruptZipError(`${path} is damaged: ${entry.fileName} names disk ${disk} in a single-disk zip.`);
    const [problem] = headerProblems(entry, header, descriptorBytes);
    if (problem) throw new CorruptZipError(`${path} is damaged: ${problem}`);
  }
  return entries;
}

/** Up to `length` bytes of a file from `position` (fewer at its end). */
async function readAt(path: string, position: number, length: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, position);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

function parseManifest(text: string): BackupManifestFile {
  let value: any;
  try {
    value = JSON.parse(text);
  } catch {
    throw new CorruptZipError('manifest.json is not valid JSON.');
  }
  const files = value?.files;
  const valid = Array.isArray(files) && files.every((file: any) =>
    typeof file?.name === 'string' && typeof file.objectType === 'string' && Number.isInteger(file.records) && Number.isInteger(file.bytes) && typeof file.sha256 === 'string');
  if (!valid || typeof value.backupId !== 'string') throw new CorruptZipError('manifest.json does not have the expected shape ({backupId, files: [{name, objectType, records, bytes, sha256}]}).');
  return value as BackupManifestFile;
}

async function openEntry(zip: ZipFile, entry: Entry): Promise<Readable> {
  try {
    return await zip.openReadStreamPromise(entry);
  } catch (error) {
    throw new CorruptZipError(`${entry.fileName} cannot be read: ${describe(error)}.`, { cause: error });
  }
}

async function readWhole(zip: ZipFile, entry: Entry, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of await openEntry(zip, entry)) {
      size += (chunk as Buffer).length;
      if (size > limit) throw new CorruptZipError(`${entry.fileName} is larger than the ${limit} bytes allowed.`);
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    if (error instanceof CorruptZipError) throw error;
    throw new CorruptZipError(`${entry.fileName} is damaged: ${describe(error)}.`, { cause: error });
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Streams one CSV entry through SHA-256, CRC-32, a byte count and a CSV parser counting
 * records. The parser refuses a record over `maxRecordBytes`, which ends the stream: a
 * file that is one endless record costs at most that much memory and stops at once.
 */
async function measureCsv(
  zip: ZipFile,
  entry: Entry,
  maxRecordBytes: number,
): Promise<{ bytes: number; sha256: string; crc32: number; records: number; error?: string; stopped?: string }> {
  const hash = createHash('sha256');
  let crc = 0;
  let bytes = 0;
  let rows = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      crc = crc32(chunk, crc);
      bytes += chunk.length;
      callback(null, chunk);
    },
  });
  const parser = parse({ bom: true, relax_column_count: false, max_record_size: maxRecordBytes });
  parser.on('data', () => rows++);
  let error: string | undefined;
  let stopped: string | undefined;
  try {
    await pipeline(await openEntry(zip, entry), tap, parser);
  } catch (caught) {
    const code = (caught as { code?: string }).code ?? '';
    // csv-parse errors are about the content; anything else (inflate, sizes) is damage.
    if (code === 'CSV_MAX_RECORD_SIZE') {
      stopped = `has a record longer than ${maxRecordBytes / 1024 ** 2} MiB (line ${rows + 1}, counting the header), which no CRM record is: the file is damaged or crafted, and the rest of it was not read.`;
    } else if (code.startsWith('CSV_') || code.startsWith('INVALID_')) error = (caught as Error).message;
    else throw new CorruptZipError(`${entry.fileName} is damaged: ${describe(caught)}.`, { cause: caught });
  }
  return { bytes, sha256: hash.digest('hex'), crc32: crc >>> 0, records: Math.max(0, rows - 1), error, stopped };
}

function describe(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\.$/, '');
}
