import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { StepFailedError } from '../errors.ts';
import type { StampedRecord } from '../ports/record-store.ts';
import type { PlannedRecord, SegmentProgress, StoredRestore } from '../restore-model.ts';
import { restoreRecord } from './record-restore.ts';
import type { RestoreDeps } from './restore-deps.ts';
import { RestoreEventWriter } from './restore-events.ts';
import { LOCK_LEASE_MS, planSegmentKey, tuningOf } from './restore-policy.ts';
import { advanceProgress, startingProgress, type Outcome, type PlannedRow, type RowResult } from './segment-progress.ts';

export type ApplyBatchDeps = Pick<RestoreDeps, 'records' | 'blobs' | 'restores' | 'lock' | 'events' | 'clock' | 'ids' | 'config'>;

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

/** Records per round: one BatchGet (of those the plan found unchanged or missing), then conditional updates. */
const ROUND_RECORDS = 100;
/** Conditional updates in flight at once (the bench measures the raw write rate with as many). */
export const UPDATE_CONCURRENCY = 10;
/** Hand back a cursor while this much of the Lambda's time is left (a hard kill otherwise). */
const SAFETY_MARGIN_MS = 30_000;

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
 *     records that need reading, before any write, then restore each record
 *     (record-restore.ts), 10 at a time.
 *  3. Store a RESTORE change event per changed record and publish it, 25 at a time
 *     as they accumulate, all before the round's progress is saved.
 *  4. Save the cursor and counts conditionally, then continue until the segment ends,
 *     the batch size is reached or the Lambda's time runs short.
 * Alternate course: when a write fails, the records settled before it are saved as
 *  progress (so a FAILED restore reports what it applied), then the error propagates
 *  to the state machine's Retry/Catch.
 */
export async function applyRestoreBatch(input: ApplyBatchInput, deps: ApplyBatchDeps, budget: { remainingMs(): number }): Promise<ApplyBatchOutput> {
  const { accountId, restoreId, segment } = input;
  const restore = await deps.restores.getRestore(accountId, restoreId);
  if (!restore) throw new StepFailedError(`Restore ${restoreId} does not exist.`);
  if (restore.status !== 'RUNNING') return { ...input, done: true };

  let progress = (await deps.restores.getSegmentProgress(accountId, restoreId, segment)) ?? startingProgress();
  const key = planSegmentKey(accountId, restore.planId, segment);
  const size = await deps.blobs.size(key);
  if (size === undefined) throw new StepFailedError('The restore plan\'s data is no longer in storage; make a new plan.');
  if (progress.cursor.offset >= size) return { ...input, done: true };
  await checkSegmentFile(deps, key, restore.segmentSha256?.[segment]);

  const limit = tuningOf(deps.config).batchRecords;
  const stream = await deps.blobs.read(key, { start: progress.cursor.offset, end: size - 1 });
  const lines = createInterface({ input: stream, crlfDelay: Infinity })[Symbol.asyncIterator]();
  let handled = 0;
  try {
    for (;;) {
      const rows = await readRows(lines, Math.min(ROUND_RECORDS, limit - handled));
      if (rows.length === 0) return { ...input, done: true };
      const round = await applyRound(restore, segment, rows, progress, deps);
      if (!round.saved) return { ...input, done: false }; // another invocation of this segment got ahead: let it lead
      if ('error' in round) throw round.error;
      progress = round.next;
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
async function checkSegmentFile(deps: Pick<RestoreDeps, 'blobs'>, key: string, sha256: string | undefined): Promise<void> {
  if (!sha256) return;
  const hash = createHash('sha256');
  for await (const chunk of await deps.blobs.read(key)) hash.update(chunk as Buffer);
  if (hash.digest('hex') !== sha256) {
    throw new StepFailedError('The restore plan\'s data in storage is not what was planned (it was altered or damaged), so nothing more was written from it; make a new plan.');
  }
}

/** The next `most` lines of the segment file, each with its length in bytes (newline included). */
async function readRows(lines: AsyncIterator<string>, most: number): Promise<PlannedRow[]> {
  const rows: PlannedRow[] = [];
  while (rows.length < most) {
    const next = await lines.next();
    if (next.done) break;
    if (next.value === '') continue;
    rows.push({ ...(JSON.parse(next.value) as PlannedRecord), bytes: Buffer.byteLength(next.value) + 1 });
  }
  return rows;
}

/** Applies one round of rows and saves the progress it made, even when a write failed. */
async function applyRound(
  restore: StoredRestore,
  segment: number,
  rows: PlannedRow[],
  progress: SegmentProgress,
  deps: ApplyBatchDeps,
): Promise<{ next: SegmentProgress; saved: boolean; error?: unknown }> {
  const today = await readAndRenew(restore, rows, progress, deps);
  const events = new RestoreEventWriter(deps);
  const results = await settleRows(rows, UPDATE_CONCURRENCY, async (row) => {
    const settled = progress.ahead[row.id];
    if (settled) return settled;
    const restored = await restoreRecord(restore, row, today.get(row.id), deps);
    // Whoever fills a batch of events stores it while the others keep writing (a failure
    // is thrown by flush below, before any progress is saved).
    if (restored.event) await events.add(restored.event);
    return restored.outcome;
  });
  // Events before progress: a crash in between re-runs these rows, which then find the
  // records stamped by this restore, count them without writing again and store their
  // events again from the stamps (one each: same keys).
  await events.flush();
  const { next, ...failure } = advanceProgress(progress, rows, results);
  const saved = await deps.restores.saveSegmentProgress(restore.accountId, restore.id, segment, next, progress.cursor.index);
  return { next, saved, ...failure };
}

/**
 * Today's version of the rows that need reading (those the plan did not mark `differs`,
 * and not settled by an earlier attempt), while the lock's lease is renewed: neither
 * is written before both answer, so a lost lock stops the round before any write.
 */
async function readAndRenew(restore: StoredRestore, rows: PlannedRow[], progress: SegmentProgress, deps: ApplyBatchDeps): Promise<Map<string, StampedRecord>> {
  const toRead = rows.filter((row) => !row.differs && !progress.ahead[row.id]).map((row) => row.id);
  const [today] = await Promise.all([
    toRead.length ? deps.records.getStampedRecords(restore.accountId, restore.objectType, toRead) : new Map<string, StampedRecord>(),
    deps.lock.renew(restore.accountId, restore.id, { now: deps.clock.now().getTime(), durationMs: LOCK_LEASE_MS }),
  ]);
  return today;
}

/** Runs `settle` over the rows, `concurrency` at a time; answers each row's outcome or error, in row order. */
async function settleRows(rows: PlannedRow[], concurrency: number, settle: (row: PlannedRow) => Promise<Outcome>): Promise<RowResult[]> {
  const results: RowResult[] = new Array(rows.length);
  let next = 0;
  const worker = async () => {
    while (next < rows.length) {
      const index = next++;
      try {
        results[index] = { outcome: await settle(rows[index]!) };
      } catch (error) {
        results[index] = { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, rows.length) }, worker));
  return results;
}
