import type { ChangeEvent, ChangeWindow, CrmRecord, ObjectType } from '../model.ts';
import type { Conflict, PlannedChange, RestoreCounts } from '../restore-model.ts';

/**
 * Where an account's CRM data lives, as backups and restores see it: the built-in CRM
 * (the default) or a connected one such as a HubSpot portal. Each account has exactly
 * one source; `DataSources.forAccount` answers it, bound to that account, so no call
 * can name another tenant's data.
 *
 * A backup lists the object types, then reads each type's records page by page, in as
 * many parallel streams as the source allows, resumably (a page's `resumeAfter` carries
 * on across Lambda invocations). A restore reads today's records by id in batches and
 * applies property changes to many records at once, each record reported with what
 * happened to it.
 */
export interface DataSource {
  /** The kind of source (`builtin`, `hubspot`): for logs and messages, never for decisions. */
  readonly kind: string;
  /**
   * Independent page streams of one object type (0 to streams - 1), each resumable on
   * its own: an export reads several at once. The built-in CRM has one per storage
   * segment; a source paged by a single cursor has one.
   */
  readonly streams: number;
  /**
   * Whether `applyChanges` writes on condition that the record still holds what was
   * read. Without it, a record edited between the read and the write is overwritten.
   */
  readonly conditionalWrites: boolean;
  /**
   * How many restore apply invocations (one plan segment each, one `applyChanges` at a
   * time) the source takes at once before more only queue: the built-in CRM's write
   * partitions, a rate-limited API as many as keep its request budget busy. A restore
   * applies this many segments at once.
   */
  readonly applyConcurrency: number;
  /**
   * The source's own record of who changed which property from what to what, when
   * it keeps one that can be read back by time, actor and source (what a revert reads);
   * absent when it does not (a HubSpot portal's property history is per record only).
   */
  readonly changeHistory?: ChangeHistory;

  /** Object types with their property definitions, standard ones first, then custom ones. */
  listObjectTypes(): Promise<SourceObjectType[]>;
  /** One object type by name, or undefined when the source has none of that name. */
  getObjectType(name: string): Promise<SourceObjectType | undefined>;
  /**
   * One page of one stream of an object type's records, with the named properties
   * (more may come; blanks may be absent). `resumeAfter` is opaque: pass the previous
   * page's to continue that stream; the last page has none.
   */
  readPage(objectType: string, properties: string[], position: StreamPosition): Promise<SourcePage>;
  /** Today's records of these ids with the named properties; ids that do not exist (or are archived) are absent. */
  readRecords(objectType: string, ids: string[], properties: string[]): Promise<Map<string, CrmRecord>>;
  /**
   * Makes each record's properties hold the given values where they differ ("" clears),
   * never creating a record, and answers what happened to each, in the order given.
   * A source with a change history of its own keeps the writes there; the built-in CRM
   * stores one change event per record it changed, tagged with the restore.
   *
   * Nothing is written before `writeAllowed` resolves (the caller's fencing: the restore
   * still holds its lock); the source may read meanwhile. Its rejection stops the batch.
   *
   * Throws `ApplyInterruptedError` when a failure of the source (not of one record)
   * stopped the batch part-way: it carries the records settled before it stopped.
   */
  applyChanges(request: ApplyRequest, writeAllowed?: Promise<void>): Promise<AppliedChange[]>;
}

/**
 * A source's change history, read as independent time-ordered streams (0 to
 * streams - 1, each resumable on its own) so that a window of millions of changes is
 * read a page at a time.
 */
export interface ChangeHistory {
  readonly streams: number;
  /**
   * One page of one stream: the changes to properties of `window.objectType` made in
   * the window by its actor and/or source, oldest first. `resumeAfter` is opaque; the
   * last page has none. A page may be empty and still have more after it.
   */
  readChanges(window: ChangeWindow, position: StreamPosition): Promise<ChangePage>;
}

export interface ChangePage {
  events: ChangeEvent[];
  resumeAfter?: string;
}

/** An object type as a source describes it. Which properties a restore may write: `isRestorableProperty`. */
export interface SourceObjectType extends ObjectType {
  /** Records it holds, where the source knows without counting; absent otherwise (HubSpot's lists have no total). */
  records?: number;
}

export interface StreamPosition {
  stream: number;
  resumeAfter?: string;
}

export interface SourcePage {
  records: CrmRecord[];
  /** Where this stream continues; absent when it is exhausted. */
  resumeAfter?: string;
}

/** A batch of changes, with what a source needs to attribute them and tell a retry from a new write. */
export interface ApplyRequest {
  objectType: string;
  /** The restore making the changes: the built-in CRM stamps records and change events with it. */
  restoreId: string;
  /**
   * This batch's identity within its restore, the same on every retry of the batch
   * (`<segment>:<index of its first record>`): what makes per-batch ids deterministic.
   */
  batchId: string;
  /** Who asked for the changes (the restore's requester): change events name them. */
  actor: string;
  /** An UNDO's: the restore it takes back (change events carry it). */
  undoOf?: string;
  /** A REVERT's: what it takes back (change events carry it). */
  revertOf?: string;
  records: RecordTarget[];
}

/** What one record's properties should hold. */
export interface RecordTarget {
  id: string;
  /** The value each property should hold; "" is a blank. */
  values: Record<string, string>;
  /**
   * The values of the properties in `values` the caller found lately (the plan did),
   * when they differed: a source with conditional writes may write at once, on
   * condition that the record still holds them; others read the record first.
   */
  expect?: Record<string, string>;
  /**
   * Taking a change back (UNDO, REVERT): `expect` holds, for every property in `values`,
   * the value being taken back. A property is written only while the record still holds
   * it; one that holds neither it nor the wanted value is a conflict, left alone (who
   * edited it since wins). A source with conditional writes makes that its write
   * condition; others compare what they read just before writing (a narrower window).
   */
  ifUnchanged?: true;
}

/**
 * What became of one record of a batch: an outcome a restore counts, and for a failure
 * why. `conflicting` (only for `ifUnchanged` targets): some property was left alone as
 * a conflict; `changes` are the properties that were still written.
 */
export type AppliedChange =
  | { id: string; outcome: 'updated'; changes: PlannedChange[] }
  | { id: string; outcome: 'unchanged' | 'missing' }
  | { id: string; outcome: 'failed'; reason: string }
  | { id: string; outcome: 'conflicting'; changes: PlannedChange[]; conflicts: Conflict[] };

/**
 * How a record compares with a target that takes a change back: the properties still
 * holding what is taken back (to write), and those edited since (conflicts). Those
 * already at the wanted value are neither. Shared by every source, so all decide alike.
 */
export function takeBackChanges(target: RecordTarget, current: Record<string, string>): { changes: PlannedChange[]; conflicts: Conflict[] } {
  const changes: PlannedChange[] = [];
  const conflicts: Conflict[] = [];
  for (const [property, to] of Object.entries(target.values)) {
    const now = current[property] ?? '';
    const wrote = target.expect?.[property] ?? '';
    if (now === to) continue;
    if (now === wrote) changes.push({ property, from: now, to });
    else conflicts.push({ recordId: target.id, property, wrote, now });
  }
  return { changes, conflicts };
}

/** The outcome of a take-back target once its writable `changes` are written (or none were needed). */
export function takenBack(id: string, changes: PlannedChange[], conflicts: Conflict[]): AppliedChange {
  if (conflicts.length) return { id, outcome: 'conflicting', changes, conflicts };
  return changes.length ? { id, outcome: 'updated', changes } : { id, outcome: 'unchanged' };
}

/** The outcomes a restore counts: the keys of its counts. */
export type ApplyOutcome = keyof RestoreCounts;

/**
 * A batch stopped by a failure of the source (a store error, a network failure that
 * outlasted its retries), not by any one record. `settled` are the records written or
 * decided before it stopped; the others were not touched, or will read as written.
 */
export class ApplyInterruptedError extends Error {
  readonly settled: AppliedChange[];

  constructor(settled: AppliedChange[], cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = 'ApplyInterruptedError';
    this.settled = settled;
  }
}

/** Resolves each account's one source: the built-in CRM unless the account connected another. */
export interface DataSources {
  forAccount(accountId: string): Promise<DataSource>;
}
