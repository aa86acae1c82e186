import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { storableChanges } from '../change-events.ts';
import { StepFailedError } from '../errors.ts';
import type { ChangeEvent, CrmRecord } from '../model.ts';
import type { BlobStore } from '../ports/blob-store.ts';
import type { Clock } from '../ports/clock.ts';
import type { EventPublisher } from '../ports/event-publisher.ts';
import type { IdGenerator } from '../ports/ids.ts';
import type { RecordStore } from '../ports/record-store.ts';
import type { RestoreLock } from '../ports/restore-lock.ts';
import type { RestoreRepository } from '../ports/restore-repository.ts';
import { diff, type RestoreTuning } from './plan-restore.ts';
import {
  planSegmentKey,
  ZERO_COUNTS,
  type PlannedChange,
  type PlannedRecord,
  type RestoreCounts,
  type SegmentProgress,
  type StoredRestore,
} from './restore-model.ts';

export interface ApplyBatchDeps {
  records: RecordStore;
  blobs: BlobStore;
  restores: RestoreRepository;
  lock: RestoreLock;
  events: EventPublisher;
  clock: Clock;
  ids: IdGenerator;
  config: { restoreTuning?: RestoreTuning };
}

/** What the state machine passes to each apply-batch invocation (ids only). */
export interface ApplyBatchInput {
  accountId: string;
  restoreId: string;
  segment: number;
}

export interface ApplyBatchOutput extends ApplyBatchInput {
  /** The segment is fully applied; otherwise the state machine invokes again and it resumes. */
  done: boolean;
}

/** How long the lock lives without renewal; every sub-batch renews it. */
export const LOCK_LEASE_MS = 5 * 60_000;
/** Records per round: one BatchGet (of those the plan found unchanged or missing), then conditional updates. */
const SUB_BATCH = 100;
/** Change events stored per write (DynamoDB's BatchWriteItem limit). */
const EVENT_BATCH = 25;
/** Conditional updates in flight at once (the bench measures the raw write rate with as many). */
export const UPDATE_CONCURRENCY = 10;
/** Re-reads after a record changed between our read and our write, before giving up on it. */
const MAX_CONFLICT_RETRIES = 3;
/** Hand back a cursor while this much of the Lambda's time is left (a hard kill otherwise). */
const SAFETY_MARGIN_MS = 30_000;
export const DEFAULT_BATCH_RECORDS = 50_000;

type Outcome = keyof RestoreCounts;
type PlannedRow = PlannedRecord & { bytes: number };
type TodaysRecord = { record: CrmRecord; restoreId?: string };

/**
 * Applies the next part of one plan segment: for each backed-up record, sets each
 * chosen property to its backed-up value where it differs (a blank clears it), only if
 * the record still exists, and leaves everything else alone. Resumable and idempotent:
 * the segment's cursor and counts live in the app table, so a retried or duplicated
 * invocation continues where the last saved one stopped and counts every record once.
 *
 * Primary course:
 *  1. Load the restore (stop if it is no longer running) and the segment's progress;
 *     check the segment file against the plan's SHA-256 (StepFailedError if it differs).
 *  2. Stream the segment file from the saved byte offset, 100 records at a time:
 *     renew the lock (stop with LockLostError if it was lost) while reading the
 *     records that need reading, before any write. A record the plan found
 *     different is written at once, on condition that it exists and still differs; the
 *     others are read first and written only where they differ today, on condition
 *     that they still hold what was read (a record deleted meanwhile stays deleted; one
 *     edited meanwhile is re-read and retried).
 *  3. Store a RESTORE change event per changed record and publish it, 25 at a time
 *     as they accumulate, all before the round's progress is saved.
 *  4. Save the cursor and counts conditionally, then continue until the segment ends,
 *     the batch size is reached or the Lambda's time runs short.
 * Alternate course: when a write fails, the records settled before it are saved as
 *  progress (so a FAILED restore reports what it applied), then the error propagates
 *  to the state machine's Retry/Catch.
 */
export async function applyRestoreBatch(
  input: ApplyBatchInput,
  deps: ApplyBatchDeps,
  budget: { remainingMs(): number },
): Promise<ApplyBatchOutput> {
  const { accountId, restoreId, segment } = input;
  const restore = await deps.restores.getRestore(accountId, restoreId);
  if (!restore) throw new StepFailedError(`Restore ${restoreId} does not exist.`);
  if (restore.status !== 'RUNNING') return { ...input, done: true };

  let progress: SegmentProgress = (await deps.restores.getSegmentProgress(accountId, restoreId, segment)) ?? {
    cursor: { index: 0, offset: 0 },
    counts: { ...ZERO_COUNTS },
    ahead: {},
  };
  const key = planSegmentKey(accountId, restore.planId, segment);
  const size = await deps.blobs.size(key);
  if (size === undefined) throw new StepFailedError('The restore plan\'s data is no longer in storage; make a new plan.');
  if (progress.cursor.offset >= size) return { ...input, done: true };
  await checkSegmentFile(deps.blobs, key, restore.segmentSha256?.[segment]);

  const limit = deps.config.restoreTuning?.batchRecords ?? DEFAULT_BATCH_RECORDS;
  const stream = await deps.blobs.read(key, { start: progress.cursor.offset, end: size - 1 });
  const lines = createInterface({ input: stream, crlfDelay: Infinity })[Symbol.asyncIterator]();
  let handled = 0;
  try {
    for (;;) {
      const rows: PlannedRow[] = [];
      while (rows.length < Math.min(SUB_BATCH, limit - handled)) {
        const next = await lines.next();
        if (next.done) break;
        if (next.value === '') continue;
        rows.push({ ...(JSON.parse(next.value) as PlannedRecord), bytes: Buffer.byteLength(next.value) + 1 });
      }
      if (rows.length === 0) return { ...input, done: true };

      const { next, error, saved } = await applyRows(restore, segment, rows, progress, deps);
      if (!saved) return { ...input, done: false }; // another invocation of this segment got ahead: let it lead
      if (error) throw error;
      progress = next;
      handled += rows.length;
      if (progress.cursor.offset >= size) return { ...input, done: true };
      if (handled >= limit || budget.remainingMs() < SAFETY_MARGIN_MS) return { ...input, done: false };
    }
  } finally {
    stream.destroy();
  }
}

/**
 * The segment file must be the one the plan wrote (its SHA-256 is in the restore): a
 * file replaced or damaged in storage since then is refused before anything is
 * written from it. One streamed read of a few MB per invocation; plans made before
 * segment hashes existed are not checked.
 */
async function checkSegmentFile(blobs: BlobStore, key: string, sha256: string | undefined): Promise<void> {
  if (!sha256) return;
  const hash = createHash('sha256');
  for await (const chunk of await blobs.read(key)) hash.update(chunk as Buffer);
  if (hash.digest('hex') !== sha256) {
    throw new StepFailedError('The restore plan\'s data in storage is not what was planned (it was altered or damaged), so nothing more was written from it; make a new plan.');
  }
}

/** Applies one round of rows and saves the progress it made, even when a write failed. */
async function applyRows(
  restore: StoredRestore,
  segment: number,
  rows: PlannedRow[],
  progress: SegmentProgress,
  deps: ApplyBatchDeps,
): Promise<{ next: SegmentProgress; error?: unknown; saved: boolean }> {
  const toRead = rows.filter((row) => !row.differs && !progress.ahead[row.id]).map((row) => row.id);
  // The lease is renewed while the records are read; neither is written before both answer.
  const [today] = await Promise.all([
    toRead.length ? deps.records.getRecordsWithRestoreId(restore.accountId, restore.objectType, toRead) : new Map<string, TodaysRecord>(),
    deps.lock.renew(restore.accountId, restore.id, { now: deps.clock.now().getTime(), durationMs: LOCK_LEASE_MS }),
  ]);
  const events: ChangeEvent[] = [];
  const eventWrites: Array<Promise<void>> = [];
  const storeEvents = (batch: ChangeEvent[]) => {
    const written = deps.records.appendChangeEvents(batch).then(() => deps.events.publish(batch));
    eventWrites.push(written);
    return written;
  };
  const results: Array<{ outcome: Outcome } | { error: unknown }> = new Array(rows.length);
  let nextRow = 0;
  const worker = async () => {
    while (nextRow < rows.length) {
      const index = nextRow++;
      const row = rows[index]!;
      const settled = progress.ahead[row.id];
      if (settled) {
        results[index] = { outcome: settled };
        continue;
      }
      try {
        results[index] = { outcome: await applyRecord(restore, row, today, events, deps) };
      } catch (error) {
        results[index] = { error };
      }
      // Whichever worker fills a batch of events stores it while the others keep writing
      // (a failure is thrown below, before any progress is saved).
      if (events.length >= EVENT_BATCH) await storeEvents(events.splice(0, EVENT_BATCH)).catch(() => undefined);
    }
  };
  await Promise.all(Array.from({ length: Math.min(UPDATE_CONCURRENCY, rows.length) }, worker));

  // Events before progress: a crash in between re-runs these rows, which then find the
  // records already restored (their `rid` is ours) and count them without writing again.
  if (events.length) storeEvents(events.splice(0));
  await Promise.all(eventWrites);

  const firstFailure = results.findIndex((result) => 'error' in result);
  const settledPrefix = firstFailure < 0 ? rows.length : firstFailure;
  const counts = { ...progress.counts };
  let offset = progress.cursor.offset;
  const ahead = { ...progress.ahead };
  for (let i = 0; i < settledPrefix; i += 1) {
    counts[(results[i] as { outcome: Outcome }).outcome] += 1;
    offset += rows[i]!.bytes;
    delete ahead[rows[i]!.id];
  }
  for (let i = settledPrefix + 1; i < rows.length; i += 1) {
    const result = results[i]!;
    if ('outcome' in result) ahead[rows[i]!.id] = result.outcome;
  }
  const next: SegmentProgress = { cursor: { index: progress.cursor.index + settledPrefix, offset }, counts, ahead };
  const saved = await deps.restores.saveSegmentProgress(restore.accountId, restore.id, segment, next, progress.cursor.index);
  return { next, saved, error: firstFailure < 0 ? undefined : (results[firstFailure] as { error: unknown }).error };
}

/**
 * Restores one record. Answers how it counts: `updated` also when an earlier attempt of
 * this same restore already wrote it (the record's `rid`), so retries count exactly.
 */
async function applyRecord(
  restore: StoredRestore,
  row: PlannedRecord,
  today: Map<string, TodaysRecord>,
  events: ChangeEvent[],
  deps: ApplyBatchDeps,
): Promise<Outcome> {
  let current: TodaysRecord | undefined;
  if (row.differs) {
    // No read: the write's condition checks that a difference is still there, and the
    // record's values before the write (returned by it) tell what changed.
    const outcome = await deps.records.updateRecord(
      restore.accountId,
      restore.objectType,
      row.id,
      { set: row.values },
      { onlyIfDifferent: true, restoreId: restore.id },
    );
    if (outcome.status === 'UPDATED') {
      events.push(changeEvent(restore, row.id, diff(outcome.before, row.values), deps));
      return 'updated';
    }
    if (outcome.status === 'MISSING') return 'missing';
    // Nothing differs any more: edited back meanwhile, or written by an earlier attempt
    // of this restore. The read below tells which.
    current = await readOne(restore, row.id, deps);
  } else {
    current = today.get(row.id);
  }
  for (let attempt = 0; attempt <= MAX_CONFLICT_RETRIES; attempt += 1) {
    if (!current) return 'missing';
    const changes = diff(current.record, row.values);
    if (changes.length === 0) {
      if (current.restoreId !== restore.id) return 'unchanged';
      await recoverChangeEvent(restore, row, events, deps);
      return 'updated';
    }
    const outcome = await deps.records.updateRecord(
      restore.accountId,
      restore.objectType,
      row.id,
      { set: Object.fromEntries(changes.map((change) => [change.property, change.to])) },
      { expect: Object.fromEntries(changes.map((change) => [change.property, change.from])), restoreId: restore.id },
    );
    if (outcome.status === 'UPDATED') {
      events.push(changeEvent(restore, row.id, changes, deps));
      return 'updated';
    }
    if (outcome.status === 'MISSING') return 'missing';
    // CONFLICT: someone edited the record between our read and our write; read it again.
    current = await readOne(restore, row.id, deps);
  }
  return 'failed';
}

async function readOne(restore: StoredRestore, recordId: string, deps: ApplyBatchDeps): Promise<TodaysRecord | undefined> {
  return (await deps.records.getRecordsWithRestoreId(restore.accountId, restore.objectType, [recordId])).get(recordId);
}

/**
 * A record this restore wrote in an attempt that died before storing its change event:
 * store one now, unless it exists. The values it had before are lost with that attempt,
 * so the event lists the restored values with an empty `from`.
 */
async function recoverChangeEvent(restore: StoredRestore, row: PlannedRecord, events: ChangeEvent[], deps: ApplyBatchDeps): Promise<void> {
  const recent = await deps.records.listChangeEvents(restore.accountId, { recordId: row.id, limit: 20 });
  if (recent.items.some((event) => event.restoreId === restore.id)) return;
  const changes = restore.properties.map((property) => ({ property, from: '', to: row.values[property] ?? '' }));
  events.push(changeEvent(restore, row.id, changes, deps));
}

function changeEvent(restore: StoredRestore, recordId: string, changes: PlannedChange[], deps: ApplyBatchDeps): ChangeEvent {
  return {
    id: deps.ids.next('ce'),
    accountId: restore.accountId,
    objectType: restore.objectType,
    recordId,
    source: 'RESTORE',
    restoreId: restore.id,
    actor: restore.requestedBy,
    kind: 'UPDATED',
    changes: storableChanges(changes),
    occurredAt: deps.clock.now().toISOString(),
  };
}

