import { once } from 'node:events';
import { Readable } from 'node:stream';
import { encodeCsvHeader, encodeCsvRows } from '../csv/csv-rows.ts';
import { describeError, StepFailedError, TransientError } from '../errors.ts';
import type { BackupRef } from '../model.ts';
import { ResumableSha256 } from '../zip/resumable-sha256.ts';
import { createSegmentDeflater, deflateSegmentSync } from '../zip/segment-deflate.ts';
import type { BackupDeps } from './backup-deps.ts';
import { partKey, partsPrefix } from './backup-policy.ts';
import { readPartDigest, writePartDigest } from './part-digests.ts';

/**
 * Where an object type's export resumes: the next part file and the position of each
 * unfinished page stream of the data source (`segment` is the stream's number: one per
 * storage segment in the built-in CRM, a single one for HubSpot).
 */
export interface ExportCursor {
  part: number;
  pending: Array<{ segment: number; resumeAfter?: string }>;
}

/** One Map iteration's state between export invocations: keys and counts only. */
export interface ExportObjectInput extends BackupRef {
  objectType: string;
  /** The object type's position in the backup (Map item index): keeps progress in order. */
  index: number;
  /** Records written by earlier invocations. */
  records?: number;
  /** Absent on the first invocation. */
  cursor?: ExportCursor;
}

export interface ExportObjectOutput extends BackupRef {
  objectType: string;
  index: number;
  records: number;
  /** Part files written so far, header part included. */
  parts: number;
  /** True once every segment is exhausted; otherwise the state machine calls again with `cursor`. */
  done: boolean;
  cursor?: ExportCursor;
}

/**
 * Deflate level of the parts: on CRM CSVs zlib's 5 is ~25% faster than 6 and still
 * smaller than Info-ZIP's `zip -6` (~2% bigger than zlib's 6; `npm run bench`).
 */
export const PART_DEFLATE_LEVEL = 5;

/** The time left in this invocation (Lambda's `context.getRemainingTimeInMillis`). */
export interface TimeBudget {
  remainingMs(): number;
}

/** Streams read at once, where the source has several: overlaps its latency with CSV work without hogging it. */
const READERS = 4;
/** csv-stringify output is gathered into chunks this big before the upload sees it (STACK.md). */
const FLUSH_BYTES = 256 * 1024;
/** The most time kept back to finish the part file: the last multipart part and bookkeeping. */
const MAX_RESERVE_MS = 60_000;

/**
 * Exports one object type's records to CSV part files in S3, resumably. Each part is
 * a raw deflate segment ended by a sync flush (lambdas/core/zip/segment-deflate.ts):
 * the zip step then assembles the archive from the parts with UploadPartCopy, without
 * reading or compressing them again.
 *
 * Primary course:
 *  1. Check the backup still runs (a failed backup's stragglers stop here).
 *  2. First invocation: write part 0, the header row, from the current definition
 *     (later invocations read its columns back from part 0's digest, so every part has
 *     the same columns); later ones resume the SHA-256 from the previous part's digest.
 *  3. Read the type's page streams (a few at a time where the data source has several),
 *     page by page (each stream's next page asked for while this one is written), and
 *     stream the rows,
 *     batched into ~256 KB chunks, through the SHA-256 and the deflater into one
 *     multipart upload: this invocation's part.
 *  4. When the invocation's time runs low, stop after the current pages, finish the
 *     part, write its digest (CRC-32, sizes, SHA-256 state), and answer a cursor; the
 *     state machine loops until `done`.
 *  5. Record progress (records so far) for the API.
 *
 * Alternate course: the backup stopped RUNNING meanwhile (a sibling failed): delete
 * this type's parts and stop, also when this invocation fails itself.
 *
 * Memory holds a few pages, zlib's window and the upload's buffers, whatever the record
 * count. A retried invocation rewrites the same part and digest from the same cursor
 * and the same previous digest: idempotent.
 */
export async function exportObject(input: ExportObjectInput, deps: Pick<BackupDeps, 'backups' | 'blobs' | 'sources'>, budget: TimeBudget): Promise<ExportObjectOutput> {
  const backup = await deps.backups.getBackup(input.accountId, input.backupId);
  if (!backup || backup.status !== 'RUNNING') throw new StepFailedError(`Backup ${input.backupId} is no longer running.`);
  try {
    return await exportPart(input, deps, budget);
  } catch (error) {
    await removeIfStopped(input, deps);
    if (error instanceof TransientError || error instanceof StepFailedError) throw error;
    throw new StepFailedError(`Exporting ${input.objectType} failed: ${lowerFirst(describeError(error))}`, { cause: error });
  }
}

async function exportPart(input: ExportObjectInput, deps: Pick<BackupDeps, 'backups' | 'blobs' | 'sources'>, budget: TimeBudget): Promise<ExportObjectOutput> {
  const { accountId, backupId, objectType } = input;
  const source = await deps.sources.forAccount(accountId);
  const reserveMs = Math.min(MAX_RESERVE_MS, budget.remainingMs() / 4);
  let cursor = input.cursor;
  let propertyNames: string[];
  let sha: ResumableSha256;
  if (!cursor) {
    const type = await source.getObjectType(objectType);
    if (!type) throw new StepFailedError(`The object type ${objectType} no longer exists.`);
    propertyNames = type.properties.map((property) => property.name);
    const header = encodeCsvHeader(propertyNames);
    sha = new ResumableSha256().update(header);
    const segment = deflateSegmentSync(Buffer.from(header, 'utf8'), { level: PART_DEFLATE_LEVEL, final: false });
    await deps.blobs.upload(partKey(accountId, backupId, objectType, 0), Readable.from([segment.data]), { contentType: 'application/octet-stream' });
    const { data: _data, ...digest } = segment;
    await writePartDigest(deps, accountId, backupId, objectType, 0, { ...digest, sha256State: sha.save(), propertyNames });
    cursor = { part: 1, pending: Array.from({ length: source.streams }, (_, segment) => ({ segment })) };
    await deps.backups.setObjectProgress(accountId, backupId, { objectType, records: 0, status: 'EXPORTING' }, input.index);
  } else {
    propertyNames = (await readPartDigest(deps, accountId, backupId, objectType, 0)).propertyNames ?? [];
    sha = ResumableSha256.resume((await readPartDigest(deps, accountId, backupId, objectType, cursor.part - 1)).sha256State);
  }

  const sink = createSegmentDeflater({ level: PART_DEFLATE_LEVEL, final: false });
  const uploading = deps.blobs.upload(partKey(accountId, backupId, objectType, cursor.part), sink, { contentType: 'application/octet-stream' });
  uploading.catch(() => undefined); // observed below; avoids an unhandled rejection meanwhile
  let chunks: string[] = [];
  let buffered = 0;
  const flush = async () => {
    if (buffered === 0) return;
    const chunk = Buffer.from(chunks.join(''), 'utf8');
    chunks = [];
    buffered = 0;
    sha.update(chunk);
    // A failed upload must not leave us waiting for a drain that never comes.
    if (!sink.write(chunk)) await Promise.race([once(sink, 'drain'), uploading]);
  };

  const queue = [...cursor.pending];
  const unfinished: ExportCursor['pending'] = [];
  let pages = 0;
  let rows = 0;
  let failure: unknown;
  // At least one page per invocation, so that even a tiny budget makes progress.
  const outOfTime = () => pages > 0 && budget.remainingMs() <= reserveMs;
  const read = (segment: number, resumeAfter: string | undefined) => {
    const reading = source.readPage(objectType, propertyNames, { stream: segment, resumeAfter });
    reading.catch(() => undefined); // awaited by the reader, unless a write failed first
    return reading;
  };
  const reader = async () => {
    for (let position = queue.shift(); position && failure === undefined; position = queue.shift()) {
      const { segment } = position;
      if (outOfTime()) {
        unfinished.push(position);
        return;
      }
      let reading = read(segment, position.resumeAfter);
      for (;;) {
        const page = await reading;
        pages += 1;
        // The next page is asked for before this one is encoded and written: a stream
        // paced by a request budget (HubSpot's one cursor per type) then waits only
        // for its answers, never for our CPU or the upload.
        const next = page.resumeAfter;
        const more = next !== undefined && !outOfTime() && failure === undefined;
        if (more) reading = read(segment, next);
        if (page.records.length > 0) {
          // One page becomes one string, appended in one go: pages never interleave.
          const text = encodeCsvRows(page.records, propertyNames);
          chunks.push(text);
          buffered += text.length;
          rows += page.records.length;
          if (buffered >= FLUSH_BYTES) await flush();
        }
        if (next === undefined) break;
        if (!more) {
          unfinished.push({ segment, resumeAfter: next });
          return;
        }
      }
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(READERS, queue.length) }, () =>
      reader().catch((error: unknown) => {
        failure ??= error;
      }),
    ),
  );
  if (failure !== undefined) {
    sink.destroy(failure instanceof Error ? failure : new Error(String(failure)));
    await uploading.catch(() => undefined);
    throw failure;
  }
  await flush();
  sink.end();
  await uploading;
  await writePartDigest(deps, accountId, backupId, objectType, cursor.part, { ...(await sink.digest()), sha256State: sha.save() });
  // A sibling export may have failed the backup while this one ran, and its cleanup
  // may have come and gone: remove what this invocation wrote rather than leave it.
  const after = await deps.backups.getBackup(accountId, backupId);
  if (after?.status !== 'RUNNING') {
    await deps.blobs.deletePrefix(`${partsPrefix(accountId, backupId)}${objectType}/`);
    throw new StepFailedError(`Backup ${backupId} stopped while ${objectType} was being exported.`);
  }

  const pending = [...unfinished, ...queue].sort((a, b) => a.segment - b.segment);
  const records = (input.records ?? 0) + rows;
  const done = pending.length === 0;
  await deps.backups.setObjectProgress(accountId, backupId, { objectType, records, status: done ? 'EXPORTED' : 'EXPORTING' }, input.index);
  return {
    accountId,
    backupId,
    objectType,
    index: input.index,
    records,
    parts: cursor.part + 1,
    done,
    ...(done ? {} : { cursor: { part: cursor.part + 1, pending } }),
  };
}

/**
 * A failing straggler of a backup that already FAILED: its cleanup may have come and
 * gone before this invocation wrote its parts, and nothing will run it again.
 */
async function removeIfStopped(input: ExportObjectInput, deps: Pick<BackupDeps, 'backups' | 'blobs'>): Promise<void> {
  const backup = await deps.backups.getBackup(input.accountId, input.backupId).catch(() => undefined);
  if (backup?.status === 'FAILED') await deps.blobs.deletePrefix(`${partsPrefix(input.accountId, input.backupId)}${input.objectType}/`).catch(() => undefined);
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}
