import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { StepFailedError } from '../errors.ts';
import type { PlannedRecord, SegmentProgress, StoredRestore } from '../restore-model.ts';
import { ApplyInterruptedError, type AppliedChange, type ApplyRequest, type DataSource, type RecordTarget } from '../ports/data-source.ts';
import type { RestoreDeps } from './restore-deps.ts';
import { recordChanges } from './restore-ledger.ts';
import { LOCK_LEASE_MS, planSegmentKey, tuningOf } from './restore-policy.ts';
import { advanceProgress, startingProgress, type PlannedRow, type RowResult } from './segment-progress.ts';

export type ApplyBatchDeps = Pick<RestoreDeps, 'sources' | 'blobs' | 'restores' | 'lock' | 'clock' | 'config'>;

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
 *  2. Stream the segment file from the saved byte offset, 500 records a round (roundRecords):
 *     renew the lock (stop with LockLostError if it was lost) while the account's data
 *     source reads what it needs, then hand it the round (`applyChanges`: it writes
 *     only where a record still differs, and reports each record: updated, unchanged,
 *     missing, or failed with a reason). The built-in CRM also stores a RESTORE change
 *     event per record it changed before it answers.
 *  3. Record what the round changed in the restore's ledger (restore-ledger.ts: what an
 *     undo is planned from), save the cursor, counts and failure reasons conditionally,
 *     then continue until the segment ends, the batch size is reached or the Lambda's time runs short.
 *     Rounds overlap: the source reads the next round while this one writes, and
 *     writes it while this round's ledger entries and progress are saved; saves stay
 *     in file order.
 * Alternate course: when the source fails part-way, the records it settled are saved
 *  as progress (so a FAILED restore reports what it applied), then the error propagates
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

  const source = await deps.sources.forAccount(accountId);
  const { batchRecords: limit, roundRecords } = tuningOf(deps.config);
  const stream = await deps.blobs.read(key, { start: progress.cursor.offset, end: size - 1 });
  const lines = createInterface({ input: stream, crlfDelay: Infinity })[Symbol.asyncIterator]();
  const target: ApplyTarget = { restore, segment, source, ahead: progress.ahead };
  let rows = await readRows(lines, Math.min(roundRecords, limit));
  let exhausted = rows.length < Math.min(roundRecords, limit);
  let round = rows.length ? startRound(target, rows, progress.cursor.index, Promise.resolve(), deps) : undefined;
  let handled = 0;
  try {
    while (round) {
      handled += rows.length;
      // The next round's source reads run while this round writes; its writes wait for
      // this round's answer (its writes and events done) and overlap its progress save.
      let next: Round | undefined;
      let nextRows: PlannedRow[] = [];
      if (!exhausted && handled < limit && budget.remainingMs() >= SAFETY_MARGIN_MS) {
        const most = Math.min(roundRecords, limit - handled);
        nextRows = await readRows(lines, most);
        exhausted = nextRows.length < most;
        if (nextRows.length) next = startRound(target, nextRows, progress.cursor.index + rows.length, round.written, deps);
      }
      const results = await round.results.catch(async (error: unknown) => {
        await next?.results.catch(() => undefined);
        throw error;
      });
      const { next: after, ...failure } = advanceProgress(progress, rows, results);
      const saved = await deps.restores.saveSegmentProgress(accountId, restoreId, segment, after, progress.cursor.index);
      if (!saved || 'error' in failure) {
        await next?.results.catch(() => undefined);
        if (!saved) return { ...input, done: false }; // another invocation of this segment got ahead: let it lead
        throw failure.error;
      }
      progress = after;
      rows = nextRows;
      round = next;
    }
    return { ...input, done: exhausted || progress.cursor.offset >= size };
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

/** What every round of one invocation writes to: the restore's segment, through the account's source. */
interface ApplyTarget {
  restore: StoredRestore;
  segment: number;
  source: DataSource;
  /** Rows an earlier attempt settled past its cursor: counted from here, never written again. */
  ahead: SegmentProgress['ahead'];
}

/** One round handed to the source: what became of each row, and whether all of it was written. */
interface Round {
  /** Each row's outcome (or the error that stopped it: rows after a failure of the source), once the round's ledger entries are written; rejects when nothing could be settled (a lost lock). */
  results: Promise<RowResult[]>;
  /** Resolves once every row is settled, the changes and their events written (the ledger may still be on its way); rejects otherwise. */
  written: Promise<void>;
}

/**
 * Hands one round of rows (the first of them at `index` in the segment file) to the
 * source. Renewing the lease is the fence: the source reads meanwhile, but writes
 * nothing before it answers and before the round before (`previous`) is written, so a
 * lost lock or a failed round stops this one before any write. The round before's
 * ledger entries need not be written yet: its progress is saved only after them, and a
 * retry from that progress finds both rounds' records written by this restore, counts
 * them, and writes their entries again.
 */
function startRound(target: ApplyTarget, rows: PlannedRow[], index: number, previous: Promise<void>, deps: ApplyBatchDeps): Round {
  const { restore, segment } = target;
  const renewed = deps.lock.renew(restore.accountId, restore.id, { now: deps.clock.now().getTime(), durationMs: LOCK_LEASE_MS });
  const writeAllowed = Promise.all([renewed, previous]).then(() => undefined);
  writeAllowed.catch(() => undefined); // awaited below, or by the source
  const settled = applyRound(target, rows, index, writeAllowed);
  const written = settled.then(({ results: settledRows }) => {
    const failure = settledRows.find((result) => 'error' in result);
    if (failure) throw failure.error;
  });
  written.catch(() => undefined); // the next round's fence, or unused
  // The ledger before the progress: a saved cursor always has its changes recorded.
  const results = settled.then(async ({ applied, results: settledRows }) => {
    await recordChanges(deps.blobs, restore, segment, index, applied);
    return settledRows;
  });
  results.catch(() => undefined); // awaited by the loop, unless it stopped first
  return { results, written };
}

/**
 * What the source is asked to do with one line: a restore line's `expect` only where the
 * plan found a difference (the others are read first); a line taking a change back
 * always with its `expect`, the values it may overwrite.
 */
function targetOf({ id, values, differs, expect, ifUnchanged }: PlannedRow): RecordTarget {
  if (ifUnchanged && expect) return { id, values, expect, ifUnchanged };
  return { id, values, ...(differs && expect ? { expect } : {}) };
}

/** Applies one round of rows through the source: what it changed, and what became of each row (an error for those a failure of the source left unsettled). */
async function applyRound(
  { restore, segment, source, ahead }: ApplyTarget,
  rows: PlannedRow[],
  index: number,
  writeAllowed: Promise<void>,
): Promise<{ applied: AppliedChange[]; results: RowResult[] }> {
  const targets = rows.filter((row) => !ahead[row.id]).map(targetOf);
  let applied: AppliedChange[];
  let interruption: unknown;
  try {
    const request: ApplyRequest = {
      objectType: restore.objectType,
      restoreId: restore.id,
      batchId: `${segment}:${index}`,
      actor: restore.requestedBy,
      ...(restore.undoOf ? { undoOf: restore.undoOf } : {}),
      ...(restore.revertOf ? { revertOf: restore.revertOf } : {}),
      records: targets,
    };
    applied = targets.length ? await source.applyChanges(request, writeAllowed) : [];
    await writeAllowed;
  } catch (error) {
    // A failure of the source part-way: count what it settled, then let the step retry.
    if (!(error instanceof ApplyInterruptedError)) throw error;
    applied = error.settled;
    interruption = error.cause;
  }
  const byId = new Map(applied.map((change) => [change.id, change]));
  const results = rows.map((row): RowResult => {
    const settled = ahead[row.id];
    if (settled) return { outcome: settled };
    const change = byId.get(row.id);
    if (!change) return { error: interruption ?? new StepFailedError(`The data source did not say what became of record ${row.id}.`) };
    if (change.outcome === 'failed') return { outcome: 'failed', reason: change.reason };
    return change.outcome === 'conflicting' ? { outcome: 'conflicting', conflicts: change.conflicts } : { outcome: change.outcome };
  });
  return { applied, results };
}
