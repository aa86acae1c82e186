/**
 * The shapes of comparisons: a backup against another backup or today's data, one
 * object type at a time, and what an export of every difference adds. Plain data, as
 * the app table keeps it and the API answers it.
 */

/**
 * COMPARING while the two sides are read and merged (big object types continue in the
 * background), READY with the figures, FAILED with a sentence.
 */
export type ComparisonStatus = 'COMPARING' | 'READY' | 'FAILED';

/** How a record differs between the backup ("from") and the other side ("to"). */
export type DifferenceKind = 'ADDED' | 'REMOVED' | 'CHANGED';

/** `live`: today's data in the account's CRM; otherwise the id of another backup of the account. */
export type ComparedWith = string;
export const LIVE = 'live';

export interface PropertyDifference {
  name: string;
  /** Records present on both sides whose value of this property differs. */
  changed: number;
}

export interface ValueChange {
  property: string;
  /** The backup's value ("" = blank). */
  from: string;
  /** The other side's value ("" = blank). */
  to: string;
}

export interface SampleDifference {
  recordId: string;
  kind: DifferenceKind;
  /** CHANGED: the properties that differ; ADDED / REMOVED: the record's non-blank values. */
  changes: ValueChange[];
}

/** What a comparison counts. Every record of either side counts once. */
export interface ComparisonFigures {
  /** Records only on the other side (created since the backup, when comparing with live). */
  added: number;
  /** Records only in the backup (deleted since, when comparing with live). */
  removed: number;
  /** Records on both sides with at least one property that differs. */
  changed: number;
  /** Records on both sides with every property equal. */
  unchanged: number;
  perProperty: PropertyDifference[];
  sample: SampleDifference[];
}

/** A comparison as the API answers it (API.md, Compare). */
export interface ComparisonView extends ComparisonFigures {
  id: string;
  status: ComparisonStatus;
  backupId: string;
  with: ComparedWith;
  objectType: string;
  createdAt: string;
  /** When the figures were final (READY). */
  completedAt?: string;
  /** The comparison's files and figures are kept until the first of its backups expires. */
  expiresAt: string;
  /** Only while COMPARING: records read and merged, of both sides, so far and in all (an estimate for live data). */
  progress?: { done: number; total: number };
  /** Only when FAILED: why, in words. */
  error?: string;
  /** Only for an export: the differences CSV once READY. */
  export?: { rows: number; bytes: number };
}

/** One sorted run of a side: NDJSON lines `[id, value, …]` in id order, stored under the comparison's prefix. */
export interface RunFile {
  key: string;
  records: number;
  bytes: number;
}

/** Where one side of a comparison is read from. */
export type SideSource = { kind: 'backup'; backupId: string } | { kind: 'live' };

/**
 * One side of a comparison while it is read into sorted runs. `resumeAt` is where the
 * source goes on (CSV rows already read, or the live source's cursor); the runs hold
 * everything before it.
 */
export interface SideProgress {
  source: SideSource;
  /** Property names in the order of each run line's values (after the id); set once reading started. */
  columns?: string[];
  runs: RunFile[];
  /** Records read into runs so far. */
  read: number;
  /** Records the side is expected to hold: the manifest's count, or today's record counter. */
  expected: number;
  resumeAt?: unknown;
  done: boolean;
}

/** Where the merge of the two sides' runs goes on: per side, per run, the byte offset of the first record not yet compared. */
export interface MergeProgress {
  offsets: [number[], number[]];
  /** Records of each side compared so far. */
  merged: number;
  figures: ComparisonFigures;
  /** Sample candidates per kind, from which the final sample is picked (ComparisonTally). */
  candidates: SampleDifference[];
  /** Export part files written so far, in order (one per merging invocation). */
  exportParts: Array<{ key: string; bytes: number; rows: number }>;
}

/** The work that moves a comparison on: the API call that created it, or a state machine execution. */
export interface ComparisonRunner {
  workflow: 'comparison' | 'anomaly-check';
  execution: string;
}

/**
 * A comparison as stored: the view plus its working state. `version` grows with every
 * checkpoint, which is written only over the version it started from, so of two
 * workers moving the same comparison on, one wins.
 */
export interface StoredComparison extends Omit<ComparisonView, 'progress'> {
  accountId: string;
  requestedBy: string;
  version: number;
  sides: [SideProgress, SideProgress];
  merge?: MergeProgress;
  /** Present for an export: every difference is written as a CSV. */
  exportRequested?: true;
  /** The finished export's key (one part, or the parts assembled). */
  exportKey?: string;
  runner?: ComparisonRunner;
  /** When a checkpoint was last saved: a COMPARING comparison that stops moving gets its execution checked. */
  updatedAt: string;
}

/** What the API looks a comparison up by: the latest one of a backup with a side, for a type. */
export interface ComparisonKey {
  backupId: string;
  with: ComparedWith;
  objectType: string;
}
