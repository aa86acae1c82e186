import { Readable } from 'node:stream';
import { ArchiveIntegrityError } from '../errors.ts';
import type { RunFile } from '../compare-model.ts';
import type { BlobStore } from '../ports/blob-store.ts';

/**
 * External sorting by record id, so that a comparison never holds either side in
 * memory: records are gathered into a buffer of bounded size, sorted, and written as
 * a run (NDJSON lines `[id, value, …]`); runs are then read back in parallel and merged
 * by id. Memory holds one buffer while writing, and one chunk per run while merging,
 * whatever the record count. Runs are plain files in a BlobStore (S3 in the service,
 * a temporary folder for the CLI).
 *
 * Why sort at all: a backup's CSV lists records page by page as its export read them
 * (segments interleaved), and a live source pages in its own order (HubSpot's is
 * undocumented), so neither side can be assumed sorted.
 */

/** A record as runs hold it: the id, then the values in the side's column order. */
export interface RunRecord {
  id: string;
  values: string[];
}

/** The one order of ids every run and merge uses (UTF-16 code units, like `<`). */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Bytes per chunk when a run is streamed to storage. */
const WRITE_CHUNK_BYTES = 1024 * 1024;

/** Records waiting to become a run: sorted and written once `full`. */
export class RunBuffer {
  private entries: Array<{ id: string; line: string }> = [];
  private chars = 0;
  private readonly maxChars: number;

  /** `maxBytes`: about how much text one run may hold; the buffer's memory is a small multiple of it. */
  constructor(maxBytes: number) {
    this.maxChars = maxBytes;
  }

  add(record: RunRecord): void {
    const line = JSON.stringify([record.id, ...record.values]);
    this.entries.push({ id: record.id, line });
    this.chars += line.length + 1;
  }

  get full(): boolean {
    return this.chars >= this.maxChars;
  }

  get records(): number {
    return this.entries.length;
  }

  /** Sorts the buffered records by id and writes them to `key`; empties the buffer. */
  async write(blobs: Pick<BlobStore, 'upload'>, key: string): Promise<RunFile> {
    const entries = this.entries;
    this.entries = [];
    this.chars = 0;
    // Pages arrive sorted within themselves: TimSort merges such runs in near-linear time.
    entries.sort((a, b) => compareIds(a.id, b.id));
    const { bytes } = await blobs.upload(key, Readable.from(chunksOf(entries)), { contentType: 'application/x-ndjson' });
    return { key, records: entries.length, bytes };
  }
}

function* chunksOf(lines: Iterable<{ line: string }>): Generator<Buffer> {
  let parts: string[] = [];
  let size = 0;
  for (const { line } of lines) {
    parts.push(line, '\n');
    size += line.length + 1;
    if (size >= WRITE_CHUNK_BYTES) {
      yield Buffer.from(parts.join(''), 'utf8');
      parts = [];
      size = 0;
    }
  }
  if (size > 0) yield Buffer.from(parts.join(''), 'utf8');
}

/** A record read back from a run, with where its line starts (the merge's resume point). */
interface RunLine {
  record: RunRecord;
  line: string;
  offset: number;
}

/**
 * One run read from a byte offset on, one record ahead: `head` is the next record not
 * yet taken, `headOffset` where its line starts (the run's size once it is exhausted).
 */
export class RunReader {
  head: RunRecord | undefined;
  headLine = '';
  headOffset: number;
  private readonly run: RunFile;
  private readonly lines: AsyncIterator<RunLine[]>;
  private batch: RunLine[] = [];
  private index = 0;

  private constructor(run: RunFile, lines: AsyncIterator<RunLine[]>, offset: number) {
    this.run = run;
    this.lines = lines;
    this.headOffset = offset;
  }

  /** Opens `run` at `offset` (a line start from an earlier `headOffset`, or 0) and reads its first record. */
  static async open(blobs: Pick<BlobStore, 'read'>, run: RunFile, offset: number): Promise<RunReader> {
    const lines = offset < run.bytes ? linesOf(await blobs.read(run.key, { start: offset, end: run.bytes - 1 }), offset, run) : emptyLines();
    const reader = new RunReader(run, lines[Symbol.asyncIterator](), offset);
    await reader.advance();
    return reader;
  }

  /** Moves `head` to the next record (undefined at the end). */
  async advance(): Promise<void> {
    if (this.index >= this.batch.length) {
      const next = await this.lines.next();
      this.batch = next.done ? [] : next.value;
      this.index = 0;
      if (this.batch.length === 0) {
        this.head = undefined;
        this.headLine = '';
        this.headOffset = this.run.bytes;
        return;
      }
    }
    const { record, line, offset } = this.batch[this.index++]!;
    this.head = record;
    this.headLine = line;
    this.headOffset = offset;
  }

  /** Stops reading (the merge stopped before the end). */
  async close(): Promise<void> {
    await this.lines.return?.();
  }
}

async function* emptyLines(): AsyncGenerator<RunLine[]> {
  // Nothing left in the run.
}

/** The lines of a run's bytes from `offset` on, a chunk's worth at a time. */
async function* linesOf(stream: Readable, offset: number, run: RunFile): AsyncGenerator<RunLine[]> {
  let at = offset;
  let rest: Buffer | undefined;
  try {
    for await (const chunk of stream) {
      const buffer = rest ? Buffer.concat([rest, chunk as Buffer]) : (chunk as Buffer);
      const lines: RunLine[] = [];
      let start = 0;
      for (let end = buffer.indexOf(10, start); end !== -1; end = buffer.indexOf(10, start)) {
        const line = buffer.toString('utf8', start, end);
        lines.push({ record: parseLine(line, run), line, offset: at + start });
        start = end + 1;
      }
      at += start;
      rest = start < buffer.length ? buffer.subarray(start) : undefined;
      if (lines.length > 0) yield lines;
    }
  } finally {
    stream.destroy();
  }
  if (rest || at !== run.bytes) throw new ArchiveIntegrityError(`A comparison's working file ${run.key} is incomplete (${at} of ${run.bytes} bytes).`);
}

function parseLine(line: string, run: RunFile): RunRecord {
  let fields: unknown;
  try {
    fields = JSON.parse(line);
  } catch {
    throw new ArchiveIntegrityError(`A comparison's working file ${run.key} is damaged.`);
  }
  const [id, ...values] = fields as string[];
  return { id: id!, values };
}

/**
 * Several runs of one side merged into one stream in id order (a binary heap of
 * readers). `peek` shows the next record; `take` consumes it. A record whose id repeats
 * the one taken before it (a live source that paged a record twice) is skipped.
 */
export class RunMerge {
  private readonly heap: RunReader[];
  readonly readers: RunReader[];
  private lastId: string | undefined;

  private constructor(readers: RunReader[]) {
    this.readers = readers;
    this.heap = readers.filter((reader) => reader.head);
    for (let index = (this.heap.length >> 1) - 1; index >= 0; index--) this.down(index);
  }

  /** Opens every run at its offset (0 for all when absent). */
  static async open(blobs: Pick<BlobStore, 'read'>, runs: RunFile[], offsets?: number[]): Promise<RunMerge> {
    const readers = await Promise.all(runs.map((run, index) => RunReader.open(blobs, run, offsets?.[index] ?? 0)));
    return new RunMerge(readers);
  }

  peek(): RunRecord | undefined {
    return this.heap[0]?.head;
  }

  /** Where each run resumes: the offset of its first record not yet taken. */
  offsets(): number[] {
    return this.readers.map((reader) => reader.headOffset);
  }

  /** Consumes the next record, and any repeats of its id; answers it with its line. */
  async take(): Promise<{ record: RunRecord; line: string } | undefined> {
    const top = this.heap[0];
    if (!top?.head) return undefined;
    const taken = { record: top.head, line: top.headLine };
    this.lastId = taken.record.id;
    await this.pop(top);
    while (this.heap[0]?.head && this.heap[0].head.id === this.lastId) await this.pop(this.heap[0]);
    return taken;
  }

  async close(): Promise<void> {
    await Promise.all(this.readers.map((reader) => reader.close()));
  }

  private async pop(reader: RunReader): Promise<void> {
    await reader.advance();
    if (!reader.head) {
      const last = this.heap.pop()!;
      if (this.heap.length === 0 || last === reader) return;
      this.heap[0] = last;
    }
    this.down(0);
  }

  private down(start: number): void {
    const heap = this.heap;
    let index = start;
    for (;;) {
      const left = 2 * index + 1;
      const right = left + 1;
      let smallest = index;
      if (left < heap.length && compareIds(heap[left]!.head!.id, heap[smallest]!.head!.id) < 0) smallest = left;
      if (right < heap.length && compareIds(heap[right]!.head!.id, heap[smallest]!.head!.id) < 0) smallest = right;
      if (smallest === index) return;
      [heap[index], heap[smallest]] = [heap[smallest]!, heap[index]!];
      index = smallest;
    }
  }
}

/**
 * Merges `runs` into one run at `key` (when a side has more runs than a merge reads at
 * once): streamed through, memory as for any merge.
 */
export async function mergeRunsInto(blobs: Pick<BlobStore, 'read' | 'upload'>, runs: RunFile[], key: string): Promise<RunFile> {
  const merge = await RunMerge.open(blobs, runs);
  let records = 0;
  async function* lines(): AsyncGenerator<Buffer> {
    let parts: string[] = [];
    let size = 0;
    for (let next = await merge.take(); next; next = await merge.take()) {
      records += 1;
      parts.push(next.line, '\n');
      size += next.line.length + 1;
      if (size >= WRITE_CHUNK_BYTES) {
        yield Buffer.from(parts.join(''), 'utf8');
        parts = [];
        size = 0;
      }
    }
    if (size > 0) yield Buffer.from(parts.join(''), 'utf8');
  }
  try {
    const { bytes } = await blobs.upload(key, Readable.from(lines()), { contentType: 'application/x-ndjson' });
    return { key, records, bytes };
  } finally {
    await merge.close();
  }
}
