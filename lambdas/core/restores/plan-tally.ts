import type { CrmRecord } from '../model.ts';
import { takeBackChanges, type RecordTarget } from '../ports/data-source.ts';
import { CONFLICTS_KEPT, type PlannedChange, type PlannedRecord, type PropertyPlan, type StoredPlan } from '../restore-model.ts';
import type { BackedUpRecord } from './backed-up-records.ts';
import { diff } from './restore-policy.ts';

/** The figures a plan shows: its counts, per property, and a sample of changes. */
export type PlanFigures = Pick<
  StoredPlan,
  'recordsInBackup' | 'recordsToChange' | 'recordsUnchanged' | 'recordsMissing' | 'recordsConflicting' | 'perProperty' | 'sample' | 'conflictSample'
>;

/** Records whose changes the sample shows. */
export const SAMPLE_SIZE = 10;
/** Sample values are for people to eyeball; long texts are cut so a plan item stays small. */
export const SAMPLE_VALUE_CHARS = 200;
/** The whole sample stays far below DynamoDB's 400 KB item limit, however many properties are chosen. */
export const SAMPLE_BUDGET_BYTES = 64 * 1024;

/**
 * Counts a plan's figures as backed-up records are compared with today's, going on
 * from the figures of a checkpoint. Each record counts once: as missing (gone today),
 * unchanged, or to change, with each differing property counted as a change or, when
 * the backup holds a blank, a clear.
 */
export class PlanTally {
  private readonly figures: PlanFigures;
  private readonly perProperty: Map<string, PropertyPlan>;
  private sampleBytes: number;

  constructor(from: PlanFigures) {
    this.figures = copyFigures(from);
    this.perProperty = new Map(this.figures.perProperty.map((entry) => [entry.name, entry]));
    this.sampleBytes = from.sample.reduce((bytes, entry) => bytes + Buffer.byteLength(JSON.stringify(entry)), 0);
  }

  /** Counts one backed-up record against today's (undefined: it no longer exists); answers its line in the plan. */
  count(row: BackedUpRecord, today: CrmRecord | undefined): PlannedRecord {
    this.figures.recordsInBackup += 1;
    if (!today) {
      this.figures.recordsMissing += 1;
      return { id: row.id, values: row.values };
    }
    const changes = diff(today, row.values);
    if (changes.length === 0) {
      this.figures.recordsUnchanged += 1;
      return { id: row.id, values: row.values };
    }
    this.figures.recordsToChange += 1;
    this.countChanges(row.id, changes);
    const expect = Object.fromEntries(Object.keys(row.values).map((property) => [property, today.properties[property] ?? '']));
    return { id: row.id, values: row.values, differs: true, expect };
  }

  /**
   * Counts one change to take back (UNDO, REVERT: `target.values` are the values before
   * it, `expect` what it wrote) against today's record: missing, conflicting when a
   * property was edited since (its other properties are still set back), to change, or
   * unchanged (already back). Answers its line: every one is checked again when applied.
   */
  countTakeBack(target: RecordTarget, today: CrmRecord | undefined): PlannedRecord {
    this.figures.recordsInBackup += 1;
    const line: PlannedRecord = { id: target.id, values: target.values, expect: target.expect ?? {}, ifUnchanged: true };
    if (!today) {
      this.figures.recordsMissing += 1;
      return line;
    }
    const { changes, conflicts } = takeBackChanges(target, today.properties);
    for (const conflict of conflicts) {
      const counter = this.perProperty.get(conflict.property)!;
      counter.conflicting = (counter.conflicting ?? 0) + 1;
      const sample = (this.figures.conflictSample ??= []);
      if (sample.length < CONFLICTS_KEPT) sample.push({ ...conflict, wrote: cut(conflict.wrote), now: cut(conflict.now) });
    }
    this.countChanges(target.id, changes);
    if (conflicts.length) this.figures.recordsConflicting = (this.figures.recordsConflicting ?? 0) + 1;
    else if (changes.length) this.figures.recordsToChange += 1;
    else this.figures.recordsUnchanged += 1;
    return changes.length ? { ...line, differs: true } : line;
  }

  /** The figures so far, as a copy that later counting leaves alone. */
  snapshot(): PlanFigures {
    return copyFigures(this.figures);
  }

  /** Each property changed counts as a change or, to a blank, a clear; the record may join the sample. */
  private countChanges(recordId: string, changes: PlannedChange[]): void {
    if (!changes.length) return;
    for (const change of changes) {
      const counter = this.perProperty.get(change.property)!;
      if (change.to === '') counter.toClear += 1;
      else counter.toChange += 1;
    }
    this.addToSample(recordId, changes);
  }

  private addToSample(recordId: string, changes: PlannedChange[]): void {
    if (this.figures.sample.length >= SAMPLE_SIZE || this.sampleBytes >= SAMPLE_BUDGET_BYTES) return;
    const entry = { recordId, changes: changes.map((change) => ({ property: change.property, from: cut(change.from), to: cut(change.to) })) };
    this.sampleBytes += Buffer.byteLength(JSON.stringify(entry));
    this.figures.sample.push(entry);
  }
}

function copyFigures(figures: PlanFigures): PlanFigures {
  return {
    recordsInBackup: figures.recordsInBackup,
    recordsToChange: figures.recordsToChange,
    recordsUnchanged: figures.recordsUnchanged,
    recordsMissing: figures.recordsMissing,
    ...(figures.recordsConflicting !== undefined ? { recordsConflicting: figures.recordsConflicting } : {}),
    perProperty: figures.perProperty.map((entry) => ({ ...entry })),
    sample: [...figures.sample],
    ...(figures.conflictSample ? { conflictSample: [...figures.conflictSample] } : {}),
  };
}

function cut(value: string): string {
  return value.length > SAMPLE_VALUE_CHARS ? `${value.slice(0, SAMPLE_VALUE_CHARS)}…` : value;
}
