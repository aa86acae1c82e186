import { addCounts, CONFLICTS_KEPT, FAILURES_KEPT, ZERO_COUNTS, type Conflict, type PlannedRecord, type RestoreCounts, type RestoreFailure, type SegmentProgress } from '../restore-model.ts';

/**
 * The bookkeeping of a restore's progress through its plan segments: where each
 * segment resumes and what its records came to, counted exactly once however often a
 * batch is retried or duplicated.
 */

/** How one backed-up record counts in a restore. */
export type Outcome = keyof RestoreCounts;

/** A line of a segment file, with its length in the file (the cursor moves by it). */
export type PlannedRow = PlannedRecord & { bytes: number };

/**
 * What became of one row of a round: counted (a failure settled in this round with its
 * reason), or the error that stopped it.
 */
export type RowResult = { outcome: Outcome; reason?: string; conflicts?: Conflict[] } | { error: unknown };

/** A segment nobody has worked on yet. */
export function startingProgress(): SegmentProgress {
  return { cursor: { index: 0, offset: 0 }, counts: { ...ZERO_COUNTS }, ahead: {} };
}

/**
 * The progress after a round of rows (in file order) settled. The cursor moves past the
 * rows before the first failure, which are counted; rows after it that did settle are
 * kept in `ahead` with their outcome, so a retry that reaches them counts them once
 * without writing again. A failure's reason is kept when it settles (in the prefix or
 * `ahead`), so once. Answers the first failure's error too.
 */
export function advanceProgress(progress: SegmentProgress, rows: PlannedRow[], results: RowResult[]): { next: SegmentProgress; error?: unknown } {
  const firstFailure = results.findIndex((result) => 'error' in result);
  const settledPrefix = firstFailure < 0 ? rows.length : firstFailure;
  const counts = addCounts(ZERO_COUNTS, progress.counts);
  const ahead = { ...progress.ahead };
  const failures = [...(progress.failures ?? [])];
  const conflicts = [...(progress.conflicts ?? [])];
  let offset = progress.cursor.offset;
  for (let i = 0; i < rows.length; i += 1) {
    const result = results[i]!;
    if (i === firstFailure || !('outcome' in result)) continue;
    if (result.reason !== undefined && failures.length < FAILURES_KEPT) failures.push({ recordId: rows[i]!.id, reason: result.reason });
    for (const conflict of result.conflicts ?? []) if (conflicts.length < CONFLICTS_KEPT) conflicts.push(conflict);
    if (i < settledPrefix) {
      counts[result.outcome] += 1;
      offset += rows[i]!.bytes;
      delete ahead[rows[i]!.id];
    } else {
      ahead[rows[i]!.id] = result.outcome;
    }
  }
  const next: SegmentProgress = {
    cursor: { index: progress.cursor.index + settledPrefix, offset },
    counts,
    ahead,
    ...(failures.length ? { failures } : {}),
    ...(conflicts.length ? { conflicts } : {}),
  };
  return firstFailure < 0 ? { next } : { next, error: (results[firstFailure] as { error: unknown }).error };
}

/**
 * The counts of a restore so far: each segment's saved counts plus the records a failed
 * batch settled past its cursor.
 */
export function sumProgress(segments: SegmentProgress[]): RestoreCounts {
  let counts: RestoreCounts = { ...ZERO_COUNTS };
  for (const segment of segments) {
    counts = addCounts(counts, segment.counts);
    for (const outcome of Object.values(segment.ahead)) counts[outcome] += 1;
  }
  return counts;
}

/** The failed records the segments list, the first FAILURES_KEPT of them in segment order. */
export function failuresOf(segments: SegmentProgress[]): RestoreFailure[] {
  return segments.flatMap((segment) => segment.failures ?? []).slice(0, FAILURES_KEPT);
}

/** The conflicts the segments list, the first CONFLICTS_KEPT of them in segment order. */
export function conflictsOf(segments: SegmentProgress[]): Conflict[] {
  return segments.flatMap((segment) => segment.conflicts ?? []).slice(0, CONFLICTS_KEPT);
}
