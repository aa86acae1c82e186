import type { RevertPlanFields, RevertSelection } from './revert-model.ts';

/**
 * The shapes of restores: plans (what would change), restores (a run of a plan),
 * their per-segment progress, and the import entries they leave. Plain data, as the
 * app table keeps it and the API answers it.
 */

/** Per property of a plan: values that get a different non-blank value, and values that get cleared. */
export interface PropertyPlan {
  name: string;
  /** Records whose value changes to a different, non-blank backed-up value. */
  toChange: number;
  /** Records whose current value is cleared because the backup holds a blank. */
  toClear: number;
  /** UNDO and REVERT plans: records whose value was edited since the change being taken back, so left alone. */
  conflicting?: number;
}

/**
 * What a plan does. RESTORE sets properties to a backup's values; UNDO takes back what
 * one restore changed (from its ledger); REVERT takes back what an actor or source
 * changed in a window (from the change history). UNDO and REVERT set a property back
 * only where the record still holds the value being taken back: anything else is a
 * conflict, left alone.
 */
export type PlanKind = 'RESTORE' | 'UNDO' | 'REVERT';

/**
 * A property an UNDO or REVERT leaves alone because the record no longer holds what the
 * change being taken back wrote: who changed it since wins.
 */
export interface Conflict {
  recordId: string;
  property: string;
  /** What the change being taken back wrote (the restore, or the actor). */
  wrote: string;
  /** What the record holds now. */
  now: string;
}

/** Conflicts a plan or a restore lists (the counts are always whole). */
export const CONFLICTS_KEPT = 20;

export interface PlannedChange {
  property: string;
  from: string;
  to: string;
}

/**
 * PLANNING while the backed-up records are still being compared (big object types
 * continue in the background), READY once the plan can be executed, FAILED with a
 * sentence (e.g. a damaged archive) and no segment files left.
 */
export type PlanStatus = 'PLANNING' | 'READY' | 'FAILED';

/** What a restore plan answers (API.md, Restores). */
export interface RestorePlanView {
  id: string;
  status: PlanStatus;
  /** RESTORE unless it takes changes back (plans made before kinds existed are RESTORE). */
  kind: PlanKind;
  /** UNDO: the restore it takes back. */
  undoOf?: string;
  /** REVERT: what it takes back, as its planner names it. */
  revertOf?: string;
  /** The backup the restore (or the restore an UNDO takes back) came from: its retention bounds the plan. */
  backupId: string;
  objectType: string;
  properties: string[];
  recordsInBackup: number;
  recordsToChange: number;
  recordsUnchanged: number;
  recordsMissing: number;
  /** UNDO and REVERT: records with at least one property edited since (those properties are left alone). */
  recordsConflicting?: number;
  perProperty: PropertyPlan[];
  sample: Array<{ recordId: string; changes: PlannedChange[] }>;
  /** UNDO and REVERT: the first CONFLICTS_KEPT conflicting properties. */
  conflictSample?: Conflict[];
  createdAt: string;
  expiresAt: string;
  /** Only while PLANNING (and FAILED): backed-up records compared so far, of the manifest's count. */
  progress?: { done: number; total: number };
  /** Only when FAILED: why, in words. */
  error?: string;
}

/**
 * One slice of the plan's restore source in S3: NDJSON lines, one `PlannedRecord` each
 * (`{"id", "values", "differs"?}`), holding the backed-up value of each chosen property.
 * A state-machine Map iterates segments.
 */
export interface PlanSegment {
  records: number;
  bytes: number;
  /** SHA-256 (hex) of the segment file, so that the restore applies exactly what was planned (absent in older plans). */
  sha256?: string;
}

/**
 * A plan as stored: the view plus what executing it needs. While PLANNING, the counts,
 * sample and segments are those up to the last completed segment: the checkpoint a
 * new invocation resumes from (it skips `recordsInBackup` rows of the CSV). Plans
 * stored before statuses existed have none and are READY.
 */
export interface StoredPlan extends Omit<RestorePlanView, 'status' | 'kind' | 'backupId'>, RevertPlanFields {
  status?: PlanStatus;
  kind?: PlanKind;
  /** The backup a restore plan reads; a REVERT plan reads the change history instead. */
  backupId?: string;
  accountId: string;
  requestedBy: string;
  segments: PlanSegment[];
  /** UNDO plans: segments of the undone restore's ledger compared so far (where a continuation resumes). */
  ledgerSegmentsRead?: number;
}

export type RestoreStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED';

/** What a restore did to the records of its backup (each backed-up record counts once). */
export interface RestoreCounts {
  /** Records this restore changed. */
  updated: number;
  /** Records that already held the backed-up values. */
  unchanged: number;
  /** Backed-up records that no longer exist (never re-created). */
  missing: number;
  /** Records the restore could not write (they kept changing, or the source refused them), left as they were. */
  failed: number;
  /**
   * UNDO and REVERT: records with a property edited since the change being taken back,
   * which was left alone (their other properties were set back).
   */
  conflicting: number;
}

/** A record a restore could not write, and why, in the words of its data source. */
export interface RestoreFailure {
  recordId: string;
  reason: string;
}

/** Failed records a restore lists with their reason, per segment and in all (the counts are always whole). */
export const FAILURES_KEPT = 100;

/** A restore as the API answers it. */
export interface RestoreView {
  id: string;
  planId: string;
  kind: PlanKind;
  /** UNDO: the restore this one takes back. */
  undoOf?: string;
  /** REVERT: what it takes back (as its plan says). */
  revertOf?: string;
  /** REVERT: whose changes, made when (its plan's selection). */
  revert?: RevertSelection;
  /** The backup a restore reads; absent for a REVERT, which reads the change history. */
  backupId?: string;
  objectType: string;
  properties: string[];
  status: RestoreStatus;
  requestedBy: string;
  startedAt: string;
  completedAt?: string;
  progress: { done: number; total: number };
  counts: RestoreCounts;
  /** The first FAILURES_KEPT records counted as `failed`, with why; absent when none failed. */
  failures?: RestoreFailure[];
  /** The first CONFLICTS_KEPT properties left alone because they were edited since; absent when none. */
  conflicts?: Conflict[];
  error?: string;
}

/** A restore as stored. `counts` are final once the status is not RUNNING. */
export interface StoredRestore extends Omit<RestoreView, 'kind'> {
  /** Absent on restores stored before kinds existed: RESTORE. */
  kind?: PlanKind;
  accountId: string;
  /** Number of plan segments (the Map's items). */
  segmentCount: number;
  /** Each segment file's SHA-256 from the plan, checked before the segment is applied (absent for older plans). */
  segmentSha256?: string[];
  /** Set once the requester was emailed: a retried step does not email twice. */
  notifiedAt?: string;
}

/** Where an apply-batch Lambda resumes inside a segment file. */
export interface SegmentCursor {
  /** Records of the segment before this point are applied and counted. */
  index: number;
  /** Byte offset of record `index` in the segment file (ranged reads resume here). */
  offset: number;
}

/** Progress of one segment of one restore: kept apart so parallel segments never contend. */
export interface SegmentProgress {
  cursor: SegmentCursor;
  counts: RestoreCounts;
  /**
   * Records past the cursor that a failed batch already settled (they ran in parallel
   * with the one that failed), with their outcome, so that they are counted exactly once.
   */
  ahead: Record<string, keyof RestoreCounts>;
  /** Records of this segment counted (or kept `ahead`) as failed, with why: the first FAILURES_KEPT. */
  failures?: RestoreFailure[];
  /** Properties of this segment left alone as conflicts: the first CONFLICTS_KEPT. */
  conflicts?: Conflict[];
}

/** An entry of the account's completed imports (API.md, GET /v1/imports). */
export interface ImportEntry {
  id: string;
  accountId: string;
  /** "Data restore - Deal" (or "Data restore undo - Deal", "Data revert - Deal"): the kind and the object type's singular label. */
  name: string;
  source: 'RESTORE';
  restoreId: string;
  kind: PlanKind;
  objectType: string;
  status: 'SUCCEEDED' | 'FAILED';
  counts: RestoreCounts;
  requestedBy: string;
  startedAt: string;
  completedAt: string;
}

export const ZERO_COUNTS: RestoreCounts = { updated: 0, unchanged: 0, missing: 0, failed: 0, conflicting: 0 };

/** Counts stored before `conflicting` existed lack it: read as 0. */
export function addCounts(a: RestoreCounts, b: RestoreCounts): RestoreCounts {
  return {
    updated: a.updated + b.updated,
    unchanged: a.unchanged + b.unchanged,
    missing: a.missing + b.missing,
    failed: a.failed + b.failed,
    conflicting: (a.conflicting ?? 0) + (b.conflicting ?? 0),
  };
}

export function totalOf(counts: RestoreCounts): number {
  return counts.updated + counts.unchanged + counts.missing + counts.failed + (counts.conflicting ?? 0);
}

/** The name of a restore's imports entry: "Data restore - Deal", "Data restore undo - Deal", "Data revert - Deal". */
export function importName(kind: PlanKind, label: string): string {
  const prefix = { RESTORE: 'Data restore', UNDO: 'Data restore undo', REVERT: 'Data revert' }[kind];
  return `${prefix} - ${label}`;
}

/**
 * One line of a plan's segment file: a backed-up record, and whether the plan found
 * it different from today's record. Apply writes those straight away, conditioned on
 * a difference still being there, and reads first only the others (unchanged or
 * missing when planned), which is most of what makes a restore run at write speed.
 */
export interface PlannedRecord {
  id: string;
  /** The backed-up value of each chosen property ("" = blank). */
  values: Record<string, string>;
  /** Present (true) when the plan counted this record as one to change. */
  differs?: true;
  /**
   * With `differs`: the chosen properties' values the plan found today. Apply writes on
   * condition that the record still holds them, which also tells, before the write,
   * what it changes (absent in plans made before it existed: such lines are read first).
   */
  expect?: Record<string, string>;
  /**
   * UNDO and REVERT lines: `expect` (always present then) is what the change being taken
   * back wrote; apply writes a property only where the record still holds it, and
   * counts the others as conflicts, left alone.
   */
  ifUnchanged?: true;
}
