/**
 * The byte records of a ZIP file (PKWARE APPNOTE 6.3.x), written by hand because our
 * entries are assembled from pieces that were compressed elsewhere: no ZIP library
 * writes headers for data it did not compress itself.
 *
 * Every entry is written the streaming way: general purpose bit 3 (CRC and sizes in a
 * data descriptor after the data, zeros in the local header), bit 11 (the name is
 * UTF-8), method 8 (deflate). An entry is ZIP64 when a size or its offset reaches
 * 0xFFFFFFFF (or when forced): then its local header carries a ZIP64 extra field, its
 * data descriptor has 8-byte sizes, and its central directory header moves the sizes
 * and the offset into a ZIP64 extra field.
 */

/** The largest value a 4-byte field may hold; 0xFFFFFFFF itself means "see ZIP64". */
export const ZIP32_MAX = 0xfffffffe;
const ZIP64_MARKER_32 = 0xffffffff;
const ZIP64_MARKER_16 = 0xffff;

const LOCAL_FILE_HEADER_SIGNATURE = 0x04034b50;
export const DATA_DESCRIPTOR_SIGNATURE = 0x08074b50;
const CENTRAL_DIRECTORY_SIGNATURE = 0x02014b50;
const ZIP64_END_SIGNATURE = 0x06064b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const END_SIGNATURE = 0x06054b50;
const ZIP64_EXTRA_ID = 0x0001;

/** Bit 3: sizes and CRC follow the data; bit 11: UTF-8 names. */
const FLAGS = 0x0008 | 0x0800;
const METHOD_DEFLATE = 8;
const VERSION_DEFAULT = 20;
const VERSION_ZIP64 = 45;
/** "Made by" Unix, spec 4.5: unzip then honours the Unix mode in the external attributes. */
const VERSION_MADE_BY = (3 << 8) | VERSION_ZIP64;
/** A regular file, rw-r--r--, in the high half of the external attributes. */
const EXTERNAL_ATTRIBUTES = (0o100644 << 16) >>> 0;

/** What the central directory needs to know about one entry. */
export interface ZipEntryRecord {
  name: string;
  modified: Date;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  /** Offset of the entry's local file header from the start of the archive. */
  offset: number;
  zip64: boolean;
}

/** Whether an entry needs ZIP64 records. */
export function needsZip64(entry: { compressedSize: number; uncompressedSize: number; offset: number }): boolean {
  return entry.compressedSize > ZIP32_MAX || entry.uncompressedSize > ZIP32_MAX || entry.offset > ZIP32_MAX;
}

/** MS-DOS time and date (2-second resolution), from the UTC fields: Lambda's clock is UTC. */
export function dosDateTime(date: Date): { time: number; date: number } {
  const year = Math.min(Math.max(date.getUTCFullYear(), 1980), 2107);
  return {
    time: (date.getUTCHours() << 11) | (date.getUTCMinutes() << 5) | (date.getUTCSeconds() >> 1),
    date: ((year - 1980) << 9) | ((date.getUTCMonth() + 1) << 5) | date.getUTCDate(),
  };
}

/**
 * The local file header that precedes an entry's compressed data. CRC and sizes are
 * zero (bit 3): the data descriptor after the data carries them, so this header can be
 * written before the data exists.
 */
export function localFileHeader(entry: { name: string; modified: Date; zip64: boolean }): Buffer {
  const name = Buffer.from(entry.name, 'utf8');
  // A ZIP64 local header says so with 0xFFFFFFFF sizes and a ZIP64 extra field of
  // zeros; readers then expect 8-byte sizes in the data descriptor.
  const extra = entry.zip64 ? zip64Extra([0, 0]) : Buffer.alloc(0);
  const header = Buffer.alloc(30);
  const { time, date } = dosDateTime(entry.modified);
  header.writeUInt32LE(LOCAL_FILE_HEADER_SIGNATURE, 0);
  header.writeUInt16LE(entry.zip64 ? VERSION_ZIP64 : VERSION_DEFAULT, 4);
  header.writeUInt16LE(FLAGS, 6);
  header.writeUInt16LE(METHOD_DEFLATE, 8);
  header.writeUInt16LE(time, 10);
  header.writeUInt16LE(date, 12);
  header.writeUInt32LE(0, 14);
  header.writeUInt32LE(entry.zip64 ? ZIP64_MARKER_32 : 0, 18);
  header.writeUInt32LE(entry.zip64 ? ZIP64_MARKER_32 : 0, 22);
  header.writeUInt16LE(name.length, 26);
  header.writeUInt16LE(extra.length, 28);
  return Buffer.concat([header, name, extra]);
}

/** The data descriptor after an entry's data: CRC-32 and sizes (8-byte sizes for ZIP64). */
export function dataDescriptor(entry: { crc32: number; compressedSize: number; uncompressedSize: number; zip64: boolean }): Buffer {
  if (entry.zip64) {
    const record = Buffer.alloc(24);
    record.writeUInt32LE(DATA_DESCRIPTOR_SIGNATURE, 0);
    record.writeUInt32LE(entry.crc32 >>> 0, 4);
    record.writeBigUInt64LE(BigInt(entry.compressedSize), 8);
    record.writeBigUInt64LE(BigInt(entry.uncompressedSize), 16);
    return record;
  }
  const record = Buffer.alloc(16);
  record.writeUInt32LE(DATA_DESCRIPTOR_SIGNATURE, 0);
  record.writeUInt32LE(entry.crc32 >>> 0, 4);
  record.writeUInt32LE(entry.compressedSize, 8);
  record.writeUInt32LE(entry.uncompressedSize, 12);
  return record;
}

/** Length of the data descriptor, without writing it. */
export function dataDescriptorLength(zip64: boolean): number {
  return zip64 ? 24 : 16;
}

/** Length of the local file header, without writing it. */
export function localFileHeaderLength(entry: { name: string; zip64: boolean }): number {
  return 30 + Buffer.byteLength(entry.name, 'utf8') + (entry.zip64 ? 20 : 0);
}

/** One central directory file header. */
export function centralDirectoryHeader(entry: ZipEntryRecord): Buffer {
  const name = Buffer.from(entry.name, 'utf8');
  // For a ZIP64 entry all three fields move to the extra field, in the order the spec
  // fixes (uncompressed, compressed, offset); the 4-byte fields hold the marker.
  const extra = entry.zip64 ? zip64Extra([entry.uncompressedSize, entry.compressedSize, entry.offset]) : Buffer.alloc(0);
  const header = Buffer.alloc(46);
  const { time, date } = dosDateTime(entry.modified);
  header.writeUInt32LE(CENTRAL_DIRECTORY_SIGNATURE, 0);
  header.writeUInt16LE(VERSION_MADE_BY, 4);
  header.writeUInt16LE(entry.zip64 ? VERSION_ZIP64 : VERSION_DEFAULT, 6);
  header.writeUInt16LE(FLAGS, 8);
  header.writeUInt16LE(METHOD_DEFLATE, 10);
  header.writeUInt16LE(time, 12);
  header.writeUInt16LE(date, 14);
  header.writeUInt32LE(entry.crc32 >>> 0, 16);
  header.writeUInt32LE(entry.zip64 ? ZIP64_MARKER_32 : entry.compressedSize, 20);
  header.writeUInt32LE(entry.zip64 ? ZIP64_MARKER_32 : entry.uncompressedSize, 24);
  header.writeUInt16LE(name.length, 28);
  header.writeUInt16LE(extra.length, 30);
  header.writeUInt16LE(0, 32); // comment length
  header.writeUInt16LE(0, 34); // disk number start
  header.writeUInt16LE(0, 36); // internal attributes
  header.writeUInt32LE(EXTERNAL_ATTRIBUTES, 38);
  header.writeUInt32LE(entry.zip64 ? ZIP64_MARKER_32 : entry.offset, 42);
  return Buffer.concat([header, name, extra]);
}

/**
 * The end of the archive: the end-of-central-directory record, preceded by the ZIP64
 * end record and its locator when the directory's size, offset or entry count does not
 * fit (or when `forceZip64`).
 */
export function endOfCentralDirectory(directory: {
  entries: number;
  size: number;
  offset: number;
  forceZip64?: boolean;
}): Buffer {
  const zip64 =
    directory.forceZip64 === true ||
    directory.entries >= ZIP64_MARKER_16 ||
    directory.size > ZIP32_MAX ||
    directory.offset > ZIP32_MAX;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(END_SIGNATURE, 0);
  end.writeUInt16LE(0, 4); // this disk
  end.writeUInt16LE(0, 6); // disk with the central directory
  end.writeUInt16LE(zip64 ? ZIP64_MARKER_16 : directory.entries, 8);
  end.writeUInt16LE(zip64 ? ZIP64_MARKER_16 : directory.entries, 10);
  end.writeUInt32LE(zip64 ? ZIP64_MARKER_32 : directory.size, 12);
  end.writeUInt32LE(zip64 ? ZIP64_MARKER_32 : directory.offset, 16);
  end.writeUInt16LE(0, 20); // comment length
  if (!zip64) return end;

  const record = Buffer.alloc(56);
  record.writeUInt32LE(ZIP64_END_SIGNATURE, 0);
  record.writeBigUInt64LE(44n, 4); // size of the rest of this record
  record.writeUInt16LE(VERSION_MADE_BY, 12);
  record.writeUInt16LE(VERSION_ZIP64, 14);
  record.writeUInt32LE(0, 16); // this disk
  record.writeUInt32LE(0, 20); // disk with the central directory
  record.writeBigUInt64LE(BigInt(directory.entries), 24);
  record.writeBigUInt64LE(BigInt(directory.entries), 32);
  record.writeBigUInt64LE(BigInt(directory.size), 40);
  record.writeBigUInt64LE(BigInt(directory.offset), 48);
  const locator = Buffer.alloc(20);
  locator.writeUInt32LE(ZIP64_LOCATOR_SIGNATURE, 0);
  locator.writeUInt32LE(0, 4); // disk with the ZIP64 end record
  // The ZIP64 end record sits right after the central directory.
  locator.writeBigUInt64LE(BigInt(directory.offset + directory.size), 8);
  locator.writeUInt32LE(1, 16); // total disks
  return Buffer.concat([record, locator, end]);
}

function zip64Extra(values: number[]): Buffer {
  const extra = Buffer.alloc(4 + 8 * values.length);
  extra.writeUInt16LE(ZIP64_EXTRA_ID, 0);
  extra.writeUInt16LE(8 * values.length, 2);
  values.forEach((value, index) => extra.writeBigUInt64LE(BigInt(value), 4 + 8 * index));
  return extra;
}
