/**
 * The shapes of reverts: a revert plan is a restore plan (restore-model.ts) whose
 * values come from the change history rather than a backup, with what planning it
 * needs until it is READY. Plain data, as the app table keeps it.
 */
import type { RunFile } from './compare-model.ts';
import type { ChangeSourceName } from './model.ts';

/** Whose changes a revert sets back, and when they were made (ISO times, both included). */
export interface RevertSelection {
  actor?: string;
  source?: ChangeSourceName;
  from: string;
  to: string;
}

/**
 * Where the planning of a revert is. READING: the history's streams are read into
 * runs sorted by record, property and time (`positions`: each stream's opaque
 * position, "" at its start, null once read). MERGING: the runs are merged record by
 * record into plan segments (`offsets`: where each run goes on after the last segment
 * written).
 */
export interface RevertWork {
  phase: 'READING' | 'MERGING';
  positions: Array<string | null>;
  runs: RunFile[];
  /** Property changes read from the history so far. */
  changesRead: number;
  offsets?: number[];
}

/** What a REVERT plan keeps beside a restore plan's fields (absent on the other kinds). */
export interface RevertPlanFields {
  /** Whose changes it takes back, made when. */
  revert?: RevertSelection;
  /** Only while PLANNING. */
  work?: RevertWork;
}
