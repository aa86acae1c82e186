/**
 * Checks of the zip header fields that carry no content: which program made an entry,
 * its attributes, the local header's copy of the directory's fields, and the data
 * descriptor. A damaged byte there leaves every CSV intact, but it is still damage, and
 * a verifier that shrugs at it cannot promise "this is the file we wrote". Both the
 * CLI's `verify` and the restore's zip reader use these checks.
 */

import { DATA_DESCRIPTOR_SIGNATURE } from './zip-records.ts';

/** The fields a local file header repeats from the central directory. */
interface SharedHeaderFields {
  versionNeededToExtract: number;
  generalPurposeBitFlag: number;
  compressionMethod: number;
  lastModFileTime: number;
  lastModFileDate: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
}

/** The central directory fields the checks read (yauzl's `Entry` has them all). */
export interface CentralEntryFields extends SharedHeaderFields {
  fileName: string;
  /** The name's bytes as stored. */
  fileNameRaw: Buffer;
  versionMadeBy: number;
  internalFileAttributes: number;
  externalFileAttributes: number;
}

/** The local file header fields (yauzl's `readLocalFileHeader` answers them). */
export interface LocalHeaderFields extends SharedHeaderFields {
  /** The name's bytes as stored in the local header. */
  fileName: Buffer;
}

/** Bytes a data descriptor can take: signature, CRC-32 and two 64-bit sizes. */
export const DATA_DESCRIPTOR_MAX_BYTES = 24;
const UNIX = 3;
/** APPNOTE 4.4.2 names hosts 0 to 19; the spec version (low byte) is at most 6.3. */
const LAST_HOST = 19;
const LAST_SPEC_VERSION = 63;
/** DOS attributes a file in a backup may carry: read-only, archive (directory only for names ending in "/"). */
const DOS_READ_ONLY = 0x01;
const DOS_DIRECTORY = 0x10;
const DOS_ARCHIVE = 0x20;

/**
 * Answers each problem with an entry's non-content header fields as a sentence (none
 * when the entry is consistent). `descriptor` holds the bytes right after the entry's
 * compressed data when it uses a data descriptor (flag bit 3), else undefined.
 */
export function headerProblems(entry: CentralEntryFields, local: LocalHeaderFields, descriptor: Buffer | undefined): string[] {
  const problems: string[] = [];
  const name = entry.fileName;
  const host = entry.versionMadeBy >>> 8;
  if (host > LAST_HOST || (entry.versionMadeBy & 0xff) > LAST_SPEC_VERSION) problems.push(`${name}: the directory names an impossible program version (${entry.versionMadeBy}).`);
  if ((entry.internalFileAttributes & ~0x3) !== 0) problems.push(`${name}: the directory has undefined internal attributes (${entry.internalFileAttributes}).`);
  const isDirectory = name.endsWith('/');
  const dos = entry.externalFileAttributes & 0xffff;
  if ((dos & ~(DOS_READ_ONLY | DOS_ARCHIVE | (isDirectory ? DOS_DIRECTORY : 0))) !== 0) problems.push(`${name}: the directory has unexpected file attributes (${dos}).`);
  const mode = entry.externalFileAttributes >>> 16;
  if (host === UNIX && mode !== 0) {
    const type = mode & 0xf000;
    // Backup files are plain, never executable, never setuid/setgid/sticky.
    if (type !== (isDirectory ? 0x4000 : 0x8000) || (!isDirectory && (mode & 0o7111) !== 0)) problems.push(`${name}: the directory has an unexpected file mode (${mode.toString(8)}).`);
  } else if (host !== UNIX && mode !== 0) {
    problems.push(`${name}: the directory has file mode bits for a host that has none.`);
  }

  const usesDescriptor = (entry.generalPurposeBitFlag & 0x8) !== 0;
  const sameOrZero = (localValue: number, central: number) => localValue === central || (usesDescriptor && localValue === 0);
  const agrees =
    local.fileName.equals(entry.fileNameRaw) &&
    local.versionNeededToExtract === entry.versionNeededToExtract &&
    local.generalPurposeBitFlag === entry.generalPurposeBitFlag &&
    local.compressionMethod === entry.compressionMethod &&
    local.lastModFileTime === entry.lastModFileTime &&
    local.lastModFileDate === entry.lastModFileDate &&
    sameOrZero(local.crc32, entry.crc32) &&
    // Zip64 entries keep 0xffffffff in the 32-bit fields.
    (sameOrZero(local.compressedSize, entry.compressedSize) || local.compressedSize === 0xffffffff) &&
    (sameOrZero(local.uncompressedSize, entry.uncompressedSize) || local.uncompressedSize === 0xffffffff);
  if (!agrees) problems.push(`${name}: the local header does not match the zip's directory.`);
  if (usesDescriptor && !(descriptor && descriptorMatches(descriptor, entry))) problems.push(`${name}: the data descriptor after its data does not match the zip's directory.`);
  return problems;
}

/** A data descriptor: optional signature, CRC-32, then 32-bit (or, for zip64, 64-bit) sizes. */
function descriptorMatches(bytes: Buffer, entry: CentralEntryFields): boolean {
  const start = bytes.length >= 4 && bytes.readUInt32LE(0) === DATA_DESCRIPTOR_SIGNATURE ? 4 : 0;
  // Without its signature a descriptor is legal but ours always have one; accept only the signed form.
  if (start !== 4 || bytes.length < start + 12) return false;
  if (bytes.readUInt32LE(start) !== entry.crc32 >>> 0) return false;
  const small = bytes.readUInt32LE(start + 4) === entry.compressedSize && bytes.readUInt32LE(start + 8) === entry.uncompressedSize;
  const large =
    bytes.length >= start + 20 &&
    Number(bytes.readBigUInt64LE(start + 4)) === entry.compressedSize &&
    Number(bytes.readBigUInt64LE(start + 12)) === entry.uncompressedSize;
  return small || large;
}
