import { crc32CombineAll } from './crc32-combine.ts';
import { deflateSegmentSync, EMPTY_DEFLATE, type SegmentDigest } from './segment-deflate.ts';
import {
  centralDirectoryHeader,
  dataDescriptor,
  endOfCentralDirectory,
  localFileHeader,
  needsZip64,
  type ZipEntryRecord,
} from './zip-records.ts';

/** S3's multipart rules: every part but the last ≥ 5 MiB, none > 5 GiB, at most 10,000 parts. */
export const S3_MIN_PART_SIZE = 5 * 1024 * 1024;
export const S3_MAX_PART_SIZE = 5 * 1024 * 1024 * 1024;
export const S3_MAX_PARTS = 10_000;

/** A compressed segment stored as its own object (raw deflate, see `createSegmentDeflater`). */
export interface StoredSegment extends SegmentDigest {
  key: string;
  /**
   * True when the segment ended the deflate stream (Z_FINISH). Only an entry's last
   * segment may; when it did not (a resumable export cannot know in advance that a part
   * is its last), the plan ends the stream with a 2-byte empty final block.
   */
  final?: boolean;
}

/**
 * An entry whose data are stored segments, in order: every segment but the last ended
 * with a sync flush; the last with Z_FINISH or, unmarked, a sync flush too. No segments
 * means an empty file.
 */
export interface SegmentedEntry {
  name: string;
  modified: Date;
  segments: StoredSegment[];
}

/** A small entry whose bytes the assembler holds (manifest.json): compressed here. */
export interface InlineEntry {
  name: string;
  modified: Date;
  content: Uint8Array;
}

export type ZipEntrySource = SegmentedEntry | InlineEntry;

/** A run of the final archive: bytes written by the assembler, or a range of a stored object. */
export type Span = { kind: 'bytes'; bytes: Buffer } | { kind: 'range'; key: string; start: number; length: number };

/**
 * One multipart part of the archive: a server-side copy of one object's range
 * (UploadPartCopy, no bytes through the assembler), or an upload of bytes the
 * assembler writes, which may include small ranges it reads first.
 */
export type AssemblyPart =
  | { kind: 'copy'; key: string; start: number; length: number }
  | { kind: 'upload'; length: number; spans: Span[] };

export interface PlannedEntry extends ZipEntryRecord {
  /** Where the entry's compressed data starts in the archive. */
  dataOffset: number;
}

export interface ZipAssemblyPlan {
  /** The archive's exact size in bytes. */
  size: number;
  /** Whether the archive ends with ZIP64 end records. */
  zip64: boolean;
  entries: PlannedEntry[];
  /** The archive as a sequence of runs, in order (what a local writer concatenates). */
  spans: Span[];
  /** The same bytes cut into multipart parts that satisfy S3's rules, in part-number order. */
  parts: AssemblyPart[];
  /** Bytes S3 copies server-side. */
  copiedBytes: number;
  /** Bytes of stored objects the assembler must read to glue small pieces into parts (bounded, see `planZipAssembly`). */
  readBytes: number;
}

export interface PlanOptions {
  /** ZIP64 records even when nothing needs them (tests, and readers' ZIP64 paths). */
  forceZip64?: boolean;
  /** Overrides S3's limits (tests use small parts). */
  minPartSize?: number;
  maxPartSize?: number;
  maxParts?: number;
}

/**
 * Lays out a ZIP archive made of already-compressed segments, byte for byte, and cuts
 * it into multipart parts so that S3 can build it with UploadPartCopy.
 *
 * Primary course:
 * 1. For each entry: local header (bit 3), the segments' bytes in order, a data
 *    descriptor with the CRC combined from the segments' CRCs and the summed sizes.
 * 2. The central directory and the end records (ZIP64 where a value does not fit).
 * 3. Parts: a copy part wherever a stored object has ≥ `minPartSize` bytes left;
 *    everything small (headers, descriptors, the directory, segments smaller than a
 *    part) is glued with the first bytes of the NEXT stored object into an upload part
 *    of exactly `minPartSize` bytes, and the copy part resumes after the glued bytes.
 *
 * Why glue forward: S3 rejects a non-last part under 5 MiB, a part is either copied or
 * uploaded (never both), and a header cannot be written into a segment object in
 * advance because the data descriptor needs the CRC of every segment of the entry.
 * So each run of written bytes costs one ranged read of under 2 × 5 MiB (a remainder
 * too small to be copied rides along), and a segment smaller than a part is read
 * whole: the assembler's work grows with the number of entries and small segments,
 * never with the number of bytes. An archive under 5 MiB is simply one upload.
 */
export function planZipAssembly(sources: ZipEntrySource[], options: PlanOptions = {}): ZipAssemblyPlan {
  const minPartSize = options.minPartSize ?? S3_MIN_PART_SIZE;
  const maxPartSize = options.maxPartSize ?? S3_MAX_PART_SIZE;
  const maxParts = options.maxParts ?? S3_MAX_PARTS;
  const forceZip64 = options.forceZip64 === true;
  checkNames(sources);

  const spans: Span[] = [];
  const entries: PlannedEntry[] = [];
  let offset = 0;
  const push = (span: Span) => {
    const length = spanLength(span);
    if (length === 0) return;
    const last = spans.at(-1);
    if (span.kind === 'bytes' && last?.kind === 'bytes') spans[spans.length - 1] = { kind: 'bytes', bytes: Buffer.concat([last.bytes, span.bytes]) };
    else spans.push(span);
    offset += length;
  };

  for (const source of sources) {
    const { spans: dataSpans, ...digest } = entryData(source);
    const zip64 = forceZip64 || needsZip64({ ...digest, offset });
    const record: ZipEntryRecord = { name: source.name, modified: source.modified, offset, zip64, ...digest };
    push({ kind: 'bytes', bytes: localFileHeader(record) });
    const dataOffset = offset;
    for (const span of dataSpans) push(span);
    push({ kind: 'bytes', bytes: dataDescriptor(record) });
    entries.push({ ...record, dataOffset });
  }

  const directoryOffset = offset;
  const directory = Buffer.concat(entries.map((entry) => centralDirectoryHeader(entry)));
  const end = endOfCentralDirectory({ entries: entries.length, size: directory.length, offset: directoryOffset, forceZip64 });
  push({ kind: 'bytes', bytes: Buffer.concat([directory, end]) });
  const zip64 = end.length > 22;

  const parts = cutIntoParts(spans, minPartSize, maxPartSize);
  if (parts.length > maxParts) {
    throw new Error(`The archive needs ${parts.length} parts, more than the ${maxParts} S3 allows: use bigger segments.`);
  }
  return { size: offset, zip64, entries, spans, parts, ...bytesMoved(parts) };
}

/**
 * The parts that join stored objects end to end into one (the parts of a compare
 * export): big objects copied inside S3, small ones read and glued, as for an archive.
 */
export function planConcatenation(objects: Array<{ key: string; bytes: number }>, options: PlanOptions = {}): Pick<ZipAssemblyPlan, 'size' | 'parts' | 'copiedBytes' | 'readBytes'> {
  const spans: Span[] = objects.filter((object) => object.bytes > 0).map((object) => ({ kind: 'range', key: object.key, start: 0, length: object.bytes }));
  const parts = cutIntoParts(spans, options.minPartSize ?? S3_MIN_PART_SIZE, options.maxPartSize ?? S3_MAX_PART_SIZE);
  return { size: spans.reduce((sum, span) => sum + spanLength(span), 0), parts, ...bytesMoved(parts) };
}

/** Bytes S3 copies, and bytes the assembler reads to glue small pieces. */
function bytesMoved(parts: AssemblyPart[]): { copiedBytes: number; readBytes: number } {
  let copiedBytes = 0;
  let readBytes = 0;
  for (const part of parts) {
    if (part.kind === 'copy') copiedBytes += part.length;
    else for (const span of part.spans) if (span.kind === 'range') readBytes += span.length;
  }
  return { copiedBytes, readBytes };
}

function entryData(source: ZipEntrySource): SegmentDigest & { spans: Span[] } {
  if ('content' in source) {
    // Inline entries are small (the manifest): the best compression costs nothing.
    const { data, ...digest } = deflateSegmentSync(source.content, { final: true, level: 9 });
    return { ...digest, spans: [{ kind: 'bytes', bytes: data }] };
  }
  if (source.segments.length === 0) {
    return { crc32: 0, uncompressedSize: 0, compressedSize: EMPTY_DEFLATE.length, spans: [{ kind: 'bytes', bytes: EMPTY_DEFLATE }] };
  }
  const spans: Span[] = source.segments.map((segment) => ({ kind: 'range', key: segment.key, start: 0, length: segment.compressedSize }));
  if (source.segments.slice(0, -1).some((segment) => segment.final === true)) {
    throw new Error(`${source.name}: only the last segment may end the deflate stream`);
  }
  // After a sync flush the stream sits on a byte boundary: a final empty block ends it.
  if (source.segments.at(-1)!.final !== true) spans.push({ kind: 'bytes', bytes: EMPTY_DEFLATE });
  return {
    crc32: crc32CombineAll(source.segments),
    uncompressedSize: source.segments.reduce((sum, segment) => sum + segment.uncompressedSize, 0),
    compressedSize: spans.reduce((sum, span) => sum + (span.kind === 'bytes' ? span.bytes.length : span.length), 0),
    spans,
  };
}

/** The greedy cut described on `planZipAssembly`. */
function cutIntoParts(spans: Span[], minPartSize: number, maxPartSize: number): AssemblyPart[] {
  const parts: AssemblyPart[] = [];
  let pending: Span[] = [];
  let pendingLength = 0;
  const addPending = (span: Span) => {
    pending.push(span);
    pendingLength += spanLength(span);
  };
  const closePending = () => {
    if (pendingLength === 0) return;
    parts.push({ kind: 'upload', length: pendingLength, spans: pending });
    pending = [];
    pendingLength = 0;
  };
  const pushCopies = (key: string, start: number, length: number) => {
    // Even cuts: each piece of an object longer than 5 GiB stays well above 5 MiB.
    const count = Math.ceil(length / maxPartSize);
    const base = Math.ceil(length / count);
    let at = start;
    for (let index = 0; index < count; index++) {
      const pieceLength = index < count - 1 ? base : start + length - at;
      parts.push({ kind: 'copy', key, start: at, length: pieceLength });
      at += pieceLength;
    }
  };

  for (const span of spans) {
    if (span.kind === 'bytes') {
      addPending(span);
      if (pendingLength >= minPartSize) closePending();
      continue;
    }
    let used = 0;
    if (pendingLength > 0) {
      // Top up the pending upload with this object's first bytes.
      const take = Math.min(span.length, minPartSize - pendingLength);
      addPending({ kind: 'range', key: span.key, start: span.start, length: take });
      used = take;
      if (pendingLength >= minPartSize) {
        const rest = span.length - used;
        // A remainder too small to be a part of its own rides along (< 2 × min in all).
        if (rest > 0 && rest < minPartSize) {
          addPending({ kind: 'range', key: span.key, start: span.start + used, length: rest });
          used = span.length;
        }
        closePending();
      }
    }
    const rest = span.length - used;
    if (rest === 0) continue;
    if (rest >= minPartSize) pushCopies(span.key, span.start + used, rest);
    else addPending({ kind: 'range', key: span.key, start: span.start + used, length: rest });
  }
  closePending();
  return parts;
}

function spanLength(span: Span): number {
  return span.kind === 'bytes' ? span.bytes.length : span.length;
}

/** Entry names become paths on the user's disk: refuse anything that could escape the folder. */
function checkNames(sources: ZipEntrySource[]): void {
  const seen = new Set<string>();
  for (const { name } of sources) {
    if (name === '' || name.startsWith('/') || name.includes('\\') || name.split('/').includes('..')) {
      throw new Error(`Not a safe ZIP entry name: ${JSON.stringify(name)}`);
    }
    if (Buffer.byteLength(name, 'utf8') > 0xffff) throw new Error(`ZIP entry name too long: ${name.slice(0, 40)}…`);
    if (seen.has(name)) throw new Error(`Two ZIP entries named ${name}`);
    seen.add(name);
  }
}
