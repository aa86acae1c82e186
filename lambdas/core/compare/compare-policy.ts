import { requireReadableBackup } from '../backups/backup-policy.ts';
import type { Backup } from '../model.ts';
import { LIVE, type ComparisonView, type StoredComparison } from '../compare-model.ts';
import type { Clock } from '../ports/clock.ts';

/**
 * Rules and names every compare step shares: sizes of the working files, where they
 * live, how long a comparison is kept and reused, the checks before anything is read,
 * and how a comparison is shown.
 */

/** Knobs for the external sort; tests shrink them to exercise many runs, merges of merges and resumes. */
export interface CompareTuning {
  /** About how much text one sorted run holds: the reading's memory is a small multiple of it, per side. */
  runBytes?: number;
  /** Records read at a time (a CSV's rows, a live page): where a reading can stop. */
  batchRecords?: number;
  /** Most runs of one side a merge reads at once; more are merged into bigger runs first. */
  mergeFanIn?: number;
  /** How long the API compares before it answers 202 and a state machine goes on. */
  budgetMs?: number;
}

export const DEFAULT_COMPARE_TUNING: Required<CompareTuning> = {
  // 1,000,000 records of 20 properties (~450 MB of lines) make ~19 runs a side; the two
  // sides are read together, so the reading holds two buffers (~150 MB of V8 strings).
  runBytes: 24 * 1024 * 1024,
  batchRecords: 1000,
  // 16 runs a side: 32 streams at once stay below the SDK's 50 sockets, and up to
  // 16 × 24 MB (~7 million records a side) are merged without a merge of merges.
  mergeFanIn: 16,
  // Of API Gateway's 29 s, like restore plans.
  budgetMs: 20_000,
};

/** The tuning in force: the configured knobs, the defaults for the rest. */
export function compareTuningOf(config: { compareTuning?: CompareTuning }): Required<CompareTuning> {
  const set = Object.entries(config.compareTuning ?? {}).filter(([, value]) => value !== undefined);
  return { ...DEFAULT_COMPARE_TUNING, ...Object.fromEntries(set) };
}

/** A finished comparison with today's data is shown again for this long; after it, the next look compares again. */
export const LIVE_COMPARISON_FRESH_MS = 5 * 60_000;

/** Everything of one comparison is under this prefix: the bucket's 14-day rule on `comparisons/` removes it. */
export function comparisonPrefix(accountId: string, comparisonId: string): string {
  return `comparisons/${accountId}/${comparisonId}/`;
}

/** Sorted runs and merges of merges: deleted once the comparison is READY. */
export function workPrefix(accountId: string, comparisonId: string): string {
  return `${comparisonPrefix(accountId, comparisonId)}work/`;
}

/**
 * A run of side 0 (the backup) or 1 (the other side): `read` runs are numbered as the
 * side is read, `merged` ones in the order one invocation merges runs. `writer` is
 * unique per invocation, so a duplicate worker never overwrites a run that another one
 * recorded.
 */
export function runKey(accountId: string, comparisonId: string, side: 0 | 1, run: { read: number } | { merged: number }, writer: string): string {
  const name = 'read' in run ? `read-${String(run.read).padStart(5, '0')}` : `merged-${String(run.merged).padStart(5, '0')}`;
  return `${workPrefix(accountId, comparisonId)}${side === 0 ? 'backup' : 'other'}-${name}-${writer}.ndjson`;
}

/** One merging invocation's part of the differences CSV. */
export function exportPartKey(accountId: string, comparisonId: string, part: number, writer: string): string {
  return `${comparisonPrefix(accountId, comparisonId)}parts/${String(part).padStart(5, '0')}-${writer}.csv`;
}

/** The differences CSV assembled from several parts. */
export function exportKey(accountId: string, comparisonId: string): string {
  return `${comparisonPrefix(accountId, comparisonId)}differences.csv`;
}

/** What the browser saves the export as. */
export function exportFileName(comparison: Pick<StoredComparison, 'accountId' | 'objectType' | 'createdAt'>): string {
  return `crm-backup-differences-${comparison.accountId}-${comparison.objectType}-${comparison.createdAt.slice(0, 10)}.csv`;
}

/** A backup of the account that can be compared: NotFoundError, BackupNotReadyError or BackupExpiredError otherwise. */
export function requireComparableBackup(
  accountId: string,
  backupId: string,
  deps: { backups: { getBackup(accountId: string, backupId: string): Promise<Backup | undefined> }; clock: Clock },
): Promise<Backup> {
  return requireReadableBackup(accountId, backupId, deps, { subject: `Backup ${backupId}`, verb: 'compared' });
}

/** "today's data" or "backup bk_…": how sentences name the other side. */
export function describeOtherSide(comparedWith: string): string {
  return comparedWith === LIVE ? "today's data" : `backup ${comparedWith}`;
}

/** A comparison as the API shows it: the figures, and progress while COMPARING; no working state. */
export function toComparisonView(comparison: StoredComparison): ComparisonView {
  // While COMPARING the figures so far are the merge's (the stored ones are zero until READY).
  const figures = comparison.status === 'READY' ? undefined : comparison.merge?.figures;
  const view: ComparisonView = {
    id: comparison.id,
    status: comparison.status,
    backupId: comparison.backupId,
    with: comparison.with,
    objectType: comparison.objectType,
    added: comparison.added,
    removed: comparison.removed,
    changed: comparison.changed,
    unchanged: comparison.unchanged,
    perProperty: comparison.perProperty,
    sample: comparison.sample,
    ...(figures ? { added: figures.added, removed: figures.removed, changed: figures.changed, unchanged: figures.unchanged, perProperty: figures.perProperty } : {}),
    createdAt: comparison.createdAt,
    ...(comparison.completedAt ? { completedAt: comparison.completedAt } : {}),
    expiresAt: comparison.expiresAt,
    ...(comparison.error ? { error: comparison.error } : {}),
    ...(comparison.export ? { export: comparison.export } : {}),
  };
  if (comparison.status === 'COMPARING') view.progress = progressOf(comparison);
  return view;
}

/** Records read into runs and merged, of both sides, so far and in all (live sides grow or shrink while read: never done > total). */
export function progressOf(comparison: StoredComparison): { done: number; total: number } {
  const [backup, other] = comparison.sides;
  const read = backup.read + other.read;
  const done = read + (comparison.merge?.merged ?? 0);
  const expected = Math.max(backup.expected, backup.read) + Math.max(other.expected, other.read);
  return { done, total: Math.max(2 * expected, done) };
}

/** The app's page of a comparison (links in alert emails and events): it shows the latest comparison for these three. */
export function comparisonPageUrl(appUrl: string, comparison: Pick<StoredComparison, 'backupId' | 'with' | 'objectType'>): string {
  const query = new URLSearchParams({ with: comparison.with, objectType: comparison.objectType });
  return `${appUrl.replace(/\/$/, '')}/backups/${encodeURIComponent(comparison.backupId)}/compare?${query}`;
}
