import { readBackupCsv } from '../csv/backup-csv.ts';
import { ArchiveIntegrityError } from '../errors.ts';
import type { BackupFile } from '../backups/backup-policy.ts';
import type { SideProgress } from '../compare-model.ts';
import type { BlobStore } from '../ports/blob-store.ts';
import type { DataSource } from '../ports/data-source.ts';
import { openVerifiedZipEntry } from '../zip/zip-entry-reader.ts';
import { RunBuffer, type RunRecord } from './sorted-runs.ts';

/**
 * The two kinds of side a comparison reads, and reading a side into sorted runs,
 * resumably: a backup's CSV (from S3, or from a file for the CLI) and today's records.
 */

/** Records read together, and where the source goes on after them. */
export interface SideBatch {
  records: RunRecord[];
  resumeAt: unknown;
}

export interface OpenedSide {
  /** Property names, in the order of each record's values. */
  columns: string[];
  batches: AsyncIterable<SideBatch>;
}

/** A source of one side's records, in any order. */
export interface SideReader {
  /** From the start, or from where an earlier reading stopped (with the columns it read then). */
  open(resume?: { at: unknown; columns: string[] }): Promise<OpenedSide>;
}

/**
 * A backup's CSV of one object type, verified against the manifest while it streams
 * (zip-entry-reader.ts); `resumeAt` is the number of rows read. No file (the backup
 * holds no records of the type) reads as an empty side.
 */
export function backupSideReader(blobs: BlobStore, file: BackupFile | undefined, objectType: string, batchRecords: number): SideReader {
  return {
    async open(resume) {
      if (!file) return { columns: resume?.columns ?? [], batches: noBatches() };
      const rows = readBackupCsv(await openVerifiedZipEntry(blobs, file.zipKey, file.entry), objectType);
      const header = await rows.next();
      const columns = (header.value as string[]).slice(1);
      if (resume && resume.columns.join('\n') !== columns.join('\n')) {
        await rows.return(undefined);
        throw new ArchiveIntegrityError(`The backup's ${objectType} CSV changed while it was being compared.`);
      }
      return { columns, batches: csvBatches(rows, typeof resume?.at === 'number' ? resume.at : 0, batchRecords) };
    },
  };
}

async function* noBatches(): AsyncGenerator<SideBatch> {
  // An empty side.
}

async function* csvBatches(rows: AsyncGenerator<string[]>, skip: number, batchRecords: number): AsyncGenerator<SideBatch> {
  let read = 0;
  let records: RunRecord[] = [];
  for await (const row of rows) {
    read += 1;
    if (read <= skip) continue; // read into runs by an earlier invocation
    records.push({ id: row[0]!, values: row.slice(1) });
    if (records.length >= batchRecords) {
      yield { records, resumeAt: read };
      records = [];
    }
  }
  if (records.length > 0) yield { records, resumeAt: read };
}

/** Where today's records of a type are read up to: each unfinished segment and its position. */
type LiveCursor = Array<{ segment: number; resumeAfter?: string }>;

/**
 * Today's records of one object type, from the account's data source, read stream by
 * stream in parallel: one page of every unfinished stream per batch, `resumeAt` = each
 * stream's position after it. A type the source does not have (any more) reads as an
 * empty side.
 */
export function liveSideReader(source: DataSource, objectType: string): SideReader {
  return {
    async open(resume) {
      const type = resume ? undefined : await source.getObjectType(objectType);
      const columns = resume?.columns ?? type?.properties.map((property) => property.name) ?? [];
      if (!resume && !type) return { columns, batches: noBatches() };
      const start: LiveCursor = (resume?.at as LiveCursor | undefined) ?? Array.from({ length: source.streams }, (_, stream) => ({ segment: stream }));
      return { columns, batches: livePages(source, objectType, columns, start) };
    },
  };
}

async function* livePages(source: DataSource, objectType: string, columns: string[], start: LiveCursor): AsyncGenerator<SideBatch> {
  let pending = start;
  while (pending.length > 0) {
    const pages = await Promise.all(
      pending.map(async (position) => ({
        position,
        page: await source.readPage(objectType, columns, { stream: position.segment, ...(position.resumeAfter !== undefined ? { resumeAfter: position.resumeAfter } : {}) }),
      })),
    );
    const batch: RunRecord[] = [];
    for (const { page } of pages) {
      for (const record of page.records) batch.push({ id: record.id, values: columns.map((name) => record.properties[name] ?? '') });
    }
    pending = pages.filter(({ page }) => page.resumeAfter !== undefined).map(({ position, page }) => ({ segment: position.segment, resumeAfter: page.resumeAfter }));
    yield { records: batch, resumeAt: pending };
  }
}

/** How a side's reading is steered: where runs go, how big they grow, when to stop, and what to do at each checkpoint. */
export interface SideReading {
  blobs: Pick<BlobStore, 'upload'>;
  /** The key of the side's run number `index` (unique per writer: a duplicate worker never overwrites a run another one recorded). */
  runKey(index: number): string;
  runBytes: number;
  /** Asked after every batch: false ends the reading at the next checkpoint. */
  keepGoing(): boolean;
  /** Saves the side as it is after each run written; false: another worker moved the comparison on, stop. */
  checkpoint(side: SideProgress): Promise<boolean>;
}

/**
 * Reads a side from where it stopped into sorted runs: a run is written whenever the
 * buffer is full and when the reading stops; each run written is a checkpoint (the
 * runs, the records read, where the source goes on). Answers the side as it stands.
 */
export async function readSideIntoRuns(side: SideProgress, reader: SideReader, reading: SideReading): Promise<SideProgress> {
  const opened = await reader.open(side.columns && side.resumeAt !== undefined ? { at: side.resumeAt, columns: side.columns } : undefined);
  let current: SideProgress = { ...side, columns: opened.columns };
  const buffer = new RunBuffer(reading.runBytes);
  let resumeAt = side.resumeAt;
  const writeRun = async (): Promise<boolean> => {
    if (buffer.records === 0) return true;
    const records = buffer.records;
    const run = await buffer.write(reading.blobs, reading.runKey(current.runs.length));
    current = { ...current, runs: [...current.runs, run], read: current.read + records, resumeAt };
    return reading.checkpoint(current);
  };
  const iterator = opened.batches[Symbol.asyncIterator]();
  try {
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      for (const record of next.value.records) buffer.add(record);
      resumeAt = next.value.resumeAt;
      const stopping = !reading.keepGoing();
      if (buffer.full || stopping) {
        if (!(await writeRun()) || stopping) return current;
      }
    }
  } finally {
    await iterator.return?.(undefined);
  }
  current = { ...current, done: true };
  if (buffer.records > 0) await writeRun();
  else await reading.checkpoint(current);
  return current;
}
