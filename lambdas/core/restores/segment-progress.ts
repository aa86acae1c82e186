import { addCounts, ZERO_COUNTS, type PlannedRecord, type RestoreCounts, type SegmentProgress } from '../restore-model.ts';

/**
 * The bookkeeping of a restore's progress through its plan segments: where each
 * segment resumes and what its records came to, counted exactly once however often a
 * batch is retried or duplicated.
 */

/** How one backed-up record counts in a restore. */
export type Outcome = keyof RestoreCounts;

/** A line of a segment file, with its length in the file (the cursor moves by it). */
export type PlannedRow = PlannedRecord & { bytes: number };

/** What became of one row of a round: counted, or the error that stopped it. */
export type RowResult = { outcome: Outcome } | { error: unknown };

/** A segment nobody has worked on yet. */
export function startingProgress(): SegmentProgress {
  return { cursor: { index: 0, offset: 0 }, counts: { ...ZERO_COUNTS }, ahead: {} };
}

/**
 * The progress after a round of rows (in file order) settled. The cursor moves past the
 * rows before the first failure, which are counted; rows after it that did settle are
 * kept in `ahead` with their outcome, so a retry that reaches them counts them once
 * without writing again. Answers the first failure's error too.
 */
export function advanceProgress(progress: SegmentProgress, rows: PlannedRow[], results: RowResult[]): { next: SegmentProgress; error?: unknown } {
  const firstFailure = results.findIndex((result) => 'error' in result);
  const settledPrefix = firstFailure < 0 ? rows.length : firstFailure;
  const counts = { ...progress.counts };
  const ahead = { ...progress.ahead };
  let offset = progress.cursor.offset;
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
  return firstFailure < 0 ? { next } : { next, error: (results[firstFailure] as { error: unknown }).error };
}

/**
 * The counts of a restore so far: each segment's saved counts plus the records a failed
 * batch settled past its cursor.
 */
export function sumProgress(segments: SegmentProgress[]): RestoreCounts {
  let counts = { ...ZERO_COUNTS };
  for (const segment of segments) {
    counts = addCounts(counts, segment.counts);
    for (const outcome of Object.values(segment.ahead)) counts[outcome] += 1;
  }
  return counts;
}
