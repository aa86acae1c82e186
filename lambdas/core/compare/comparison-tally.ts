import type { ComparisonFigures, DifferenceKind, SampleDifference, ValueChange } from '../compare-model.ts';
import type { RunRecord } from './sorted-runs.ts';

/** Records the answer's sample shows. */
export const SAMPLE_SIZE = 20;
/** Sample values are for people to eyeball; long texts are cut so a comparison item stays small. */
const SAMPLE_VALUE_CHARS = 200;
/** Properties shown per sampled record (an added record of a type with 300 properties would otherwise fill the answer). */
const SAMPLE_CHANGES = 30;
/** Each kind's candidates stay far below DynamoDB's 400 KB item limit. */
const CANDIDATE_BUDGET_BYTES = 32 * 1024;
/** The order kinds are shown in, and take turns in when the sample is picked. */
const KINDS: DifferenceKind[] = ['CHANGED', 'REMOVED', 'ADDED'];

/** The union of both sides' columns, and where each is on either side (-1: the side has no such column, read as blank). */
export interface ColumnMap {
  names: string[];
  from: number[];
  to: number[];
}

/**
 * Properties are compared by name over the union of both sides' columns: a property
 * only one side has (added to the object type after the backup) reads as blank on the
 * other, so values given to it count as changes.
 */
export function columnMap(fromColumns: string[], toColumns: string[]): ColumnMap {
  const names = [...fromColumns, ...toColumns.filter((name) => !fromColumns.includes(name))];
  return { names, from: names.map((name) => fromColumns.indexOf(name)), to: names.map((name) => toColumns.indexOf(name)) };
}

/** One difference, as the export writes it and the sample shows it. */
export interface Difference {
  recordId: string;
  kind: DifferenceKind;
  changes: ValueChange[];
}

/** The figures of a comparison with nothing compared yet, over these properties. */
export function emptyFigures(properties: string[]): ComparisonFigures {
  return { added: 0, removed: 0, changed: 0, unchanged: 0, perProperty: properties.map((name) => ({ name, changed: 0 })), sample: [] };
}

/**
 * Counts a comparison as the merge meets records in id order, going on from the
 * figures and sample candidates of a checkpoint. Each record counts once: added (only
 * on the other side), removed (only in the backup), changed, or unchanged; per
 * property, the records on both sides whose value differs.
 */
export class ComparisonTally {
  readonly figures: ComparisonFigures;
  private readonly candidates: Map<DifferenceKind, SampleDifference[]>;
  private readonly candidateBytes: Map<DifferenceKind, number>;
  private readonly columns: ColumnMap;

  constructor(columns: ColumnMap, from: { figures: ComparisonFigures; candidates: SampleDifference[] }) {
    this.columns = columns;
    this.figures = structuredClone(from.figures);
    this.candidates = new Map(KINDS.map((kind) => [kind, from.candidates.filter((candidate) => candidate.kind === kind)]));
    this.candidateBytes = new Map(KINDS.map((kind) => [kind, this.candidates.get(kind)!.reduce((sum, entry) => sum + Buffer.byteLength(JSON.stringify(entry)), 0)]));
  }

  /** A record only in the backup. `wantChanges`: the caller needs its values (an export). */
  removed(record: RunRecord, wantChanges: boolean): Difference | undefined {
    this.figures.removed += 1;
    return this.oneSided('REMOVED', record, this.columns.from, wantChanges);
  }

  /** A record only on the other side. */
  added(record: RunRecord, wantChanges: boolean): Difference | undefined {
    this.figures.added += 1;
    return this.oneSided('ADDED', record, this.columns.to, wantChanges);
  }

  /** A record on both sides: changed (answered with its changes) or unchanged (undefined). */
  both(from: RunRecord, to: RunRecord): Difference | undefined {
    const { names, from: fromIndex, to: toIndex } = this.columns;
    let changes: ValueChange[] | undefined;
    for (let index = 0; index < names.length; index++) {
      const before = fromIndex[index]! >= 0 ? (from.values[fromIndex[index]!] ?? '') : '';
      const after = toIndex[index]! >= 0 ? (to.values[toIndex[index]!] ?? '') : '';
      if (before === after) continue;
      (changes ??= []).push({ property: names[index]!, from: before, to: after });
      this.figures.perProperty[index]!.changed += 1;
    }
    if (!changes) {
      this.figures.unchanged += 1;
      return undefined;
    }
    this.figures.changed += 1;
    const difference: Difference = { recordId: from.id, kind: 'CHANGED', changes };
    this.consider(difference);
    return difference;
  }

  /** The sample candidates so far (what a checkpoint keeps). */
  sampleCandidates(): SampleDifference[] {
    return KINDS.flatMap((kind) => this.candidates.get(kind)!);
  }

  /**
   * The figures with their final sample: up to SAMPLE_SIZE records, the kinds taking
   * turns so that a few changes are not hidden behind many deletions; shown by kind,
   * each in id order.
   */
  result(): ComparisonFigures {
    const taken = new Map(KINDS.map((kind) => [kind, 0]));
    for (let picked = 0, progress = true; picked < SAMPLE_SIZE && progress; ) {
      progress = false;
      for (const kind of KINDS) {
        if (picked < SAMPLE_SIZE && taken.get(kind)! < this.candidates.get(kind)!.length) {
          taken.set(kind, taken.get(kind)! + 1);
          picked += 1;
          progress = true;
        }
      }
    }
    return { ...structuredClone(this.figures), sample: KINDS.flatMap((kind) => this.candidates.get(kind)!.slice(0, taken.get(kind))) };
  }

  private oneSided(kind: 'ADDED' | 'REMOVED', record: RunRecord, positions: number[], wantChanges: boolean): Difference | undefined {
    const needed = wantChanges || this.wantsCandidate(kind);
    if (!needed) return undefined;
    const changes: ValueChange[] = [];
    positions.forEach((position, index) => {
      const value = position >= 0 ? (record.values[position] ?? '') : '';
      if (value === '') return;
      const property = this.columns.names[index]!;
      changes.push(kind === 'ADDED' ? { property, from: '', to: value } : { property, from: value, to: '' });
    });
    const difference: Difference = { recordId: record.id, kind, changes };
    this.consider(difference);
    return difference;
  }

  private wantsCandidate(kind: DifferenceKind): boolean {
    return this.candidates.get(kind)!.length < SAMPLE_SIZE && this.candidateBytes.get(kind)! < CANDIDATE_BUDGET_BYTES;
  }

  private consider(difference: Difference): void {
    if (!this.wantsCandidate(difference.kind)) return;
    const entry: SampleDifference = {
      recordId: difference.recordId,
      kind: difference.kind,
      changes: difference.changes.slice(0, SAMPLE_CHANGES).map((change) => ({ property: change.property, from: cut(change.from), to: cut(change.to) })),
    };
    this.candidates.get(difference.kind)!.push(entry);
    this.candidateBytes.set(difference.kind, this.candidateBytes.get(difference.kind)! + Buffer.byteLength(JSON.stringify(entry)));
  }
}

function cut(value: string): string {
  return value.length > SAMPLE_VALUE_CHARS ? `${value.slice(0, SAMPLE_VALUE_CHARS)}…` : value;
}
