import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { mergeRunsInto, RunBuffer, RunMerge, type RunRecord } from '../compare/sorted-runs.ts';
import type { ChangeWindow, CrmRecord, ObjectType } from '../model.ts';
import type { ChangeHistory, DataSource } from '../ports/data-source.ts';
import { CONFLICTS_KEPT, type Conflict, type PlanSegment, type PlannedChange, type PlannedRecord, type PropertyPlan, type StoredPlan } from '../restore-model.ts';
import type { RevertWork } from '../revert-model.ts';
import type { PlanningRun, PlanStep } from '../restores/restore-planning.ts';
import type { RestoreDeps } from '../restores/restore-deps.ts';
import { describeRevert, planSegmentKey, tuningOf } from '../restores/restore-policy.ts';
import { SAMPLE_SIZE, SAMPLE_VALUE_CHARS } from '../restores/plan-tally.ts';
import { historyPrefix, historyRunKey, mergedRunKey, revertTuningOf } from './revert-policy.ts';

/**
 * Planning a revert from the change history, memory flat whatever its size.
 *
 * 1. READING: every stream of the history is read page by page for the window; each
 *    property change becomes a line keyed `<record>\0<property>\0<time>#<event id>`,
 *    gathered into runs sorted by that key (the comparisons' external sort), written
 *    to the plan's folder. A checkpoint (each stream's position, the runs) is saved
 *    with each run, so an invocation that runs out of time loses one run's worth.
 * 2. MERGING: the runs are merged in key order, so each record's changes arrive
 *    together, each property's oldest first: the value before the actor's first change
 *    is the first line's `from`, the actor's last value the last line's `to`. Today's
 *    records are read 100 at a time; a property still holding the actor's last value
 *    goes into the plan (set back, on condition it still holds it), one holding
 *    anything else is a conflict, left alone. Segments are written as they fill, each
 *    with a checkpoint (the runs' offsets, the figures).
 */

export type RevertPlanningDeps = Pick<RestoreDeps, 'blobs' | 'config'>;

/** Records whose today's values are read at once (a DynamoDB BatchGet). */
const LOOKUP_BATCH = 100;
/** Separates the parts of a run line's key; sorts before any character of an id or a name. */
const KEY_SEPARATOR = '\u0000';

/** The plan's work at the start: every stream to read from its beginning, no runs. */
export function startingWork(history: ChangeHistory): RevertWork {
  return { phase: 'READING', positions: Array.from({ length: history.streams }, () => ''), runs: [], changesRead: 0 };
}

/**
 * Moves a PLANNING revert plan on from its checkpoint until it is complete or `run`
 * says stop; stops land on checkpoints (a run written, a segment written).
 */
export async function advanceRevertPlan(plan: StoredPlan, source: DataSource & { changeHistory: ChangeHistory }, deps: RevertPlanningDeps, run: PlanningRun): Promise<PlanStep> {
  let current = plan;
  let checkpoints = 0;
  const keepGoing = () => run.keepGoing(checkpoints);
  if (current.work?.phase === 'READING') {
    const read = await readHistory(current, source.changeHistory, deps, keepGoing, () => (checkpoints += 1));
    current = read.plan;
    if (!read.done) return { plan: current, done: false };
  }
  return mergeIntoSegments(current, source, deps, keepGoing, () => (checkpoints += 1));
}

/** READING, from each stream's position on, a run at a time; at the end, the runs merged down to one merge's worth. */
async function readHistory(
  plan: StoredPlan,
  history: ChangeHistory,
  deps: RevertPlanningDeps,
  keepGoing: () => boolean,
  checkpointed: () => void,
): Promise<{ plan: StoredPlan; done: boolean }> {
  const tuning = revertTuningOf(deps.config);
  const window = windowOf(plan);
  const work: RevertWork = structuredClone(plan.work!);
  const buffer = new RunBuffer(tuning.runBytes);
  let checkpoint = plan;
  const saveRun = async () => {
    if (buffer.records > 0) work.runs.push(await buffer.write(deps.blobs, historyRunKey(plan.accountId, plan.id, work.runs.length)));
    checkpoint = { ...plan, work: structuredClone(work), progress: { done: work.changesRead, total: 0 } };
    checkpointed();
  };
  for (let stream = 0; stream < work.positions.length; stream += 1) {
    while (work.positions[stream] !== null) {
      if (!keepGoing()) {
        await saveRun();
        return { plan: checkpoint, done: false };
      }
      const page = await history.readChanges(window, { stream, resumeAfter: work.positions[stream] || undefined });
      for (const event of page.events) {
        for (const change of event.changes) {
          buffer.add({ id: [event.recordId, change.property, `${event.occurredAt}#${event.id}`].join(KEY_SEPARATOR), values: [change.from, change.to, change.truncated ? 'truncated' : ''] });
          work.changesRead += 1;
        }
      }
      work.positions[stream] = page.resumeAfter ?? null;
      if (buffer.full) await saveRun();
    }
  }
  if (buffer.records > 0) work.runs.push(await buffer.write(deps.blobs, historyRunKey(plan.accountId, plan.id, work.runs.length)));
  let merges = 0;
  while (work.runs.length > tuning.mergeFanIn) {
    const merged = await mergeRunsInto(deps.blobs, work.runs.slice(0, tuning.mergeFanIn), mergedRunKey(plan.accountId, plan.id, merges++));
    work.runs = [...work.runs.slice(tuning.mergeFanIn), merged];
  }
  work.phase = 'MERGING';
  work.offsets = work.runs.map(() => 0);
  checkpoint = { ...plan, work, progress: { done: work.changesRead, total: work.changesRead } };
  checkpointed();
  return { plan: checkpoint, done: true };
}

/** One property of one record as the window saw it: before the actor's first change, and after their last. */
interface PropertyHistory {
  property: string;
  before: string;
  last: string;
  /** A value was cut to fit the event: the full value is not known, so it cannot be set back. */
  truncated: boolean;
}

interface RecordHistory {
  id: string;
  properties: PropertyHistory[];
}

/** MERGING, from the runs' offsets on: records a lookup batch at a time, a segment written (and checkpointed) as it fills. */
async function mergeIntoSegments(plan: StoredPlan, source: DataSource, deps: RevertPlanningDeps, keepGoing: () => boolean, checkpointed: () => void): Promise<PlanStep> {
  const { segmentRecords } = tuningOf(deps.config);
  const work = plan.work!;
  const tally = new RevertTally(plan);
  const segments = [...plan.segments];
  let lines: string[] = [];
  let checkpoint = plan;
  const merge = await RunMerge.open(deps.blobs, work.runs, work.offsets);
  try {
    const writeSegment = async () => {
      if (lines.length > 0) {
        const data = Buffer.from(lines.join(''), 'utf8');
        const segment: PlanSegment = { records: lines.length, bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') };
        lines = [];
        await deps.blobs.upload(planSegmentKey(plan.accountId, plan.id, segments.length), Readable.from([data]), { contentType: 'application/x-ndjson' });
        segments.push(segment);
      }
      checkpoint = { ...plan, ...tally.snapshot(), segments: [...segments], work: { ...work, offsets: merge.offsets() } };
      checkpointed();
    };
    for (;;) {
      const batch: RecordHistory[] = [];
      // A lookup never spans more than a segment's worth, so segments stay near their size.
      while (batch.length < Math.min(LOOKUP_BATCH, segmentRecords)) {
        const record = await takeRecord(merge);
        if (!record) break;
        batch.push(record);
      }
      if (batch.length === 0) break;
      const today = await source.readRecords(plan.objectType, batch.map((record) => record.id), [...new Set(batch.flatMap((record) => record.properties.map((entry) => entry.property)))]);
      for (const record of batch) {
        const line = tally.count(record, today.get(record.id));
        if (line) lines.push(`${JSON.stringify(line)}\n`);
      }
      if (lines.length >= segmentRecords) {
        await writeSegment();
        if (!keepGoing()) return { plan: checkpoint, done: false };
      }
    }
    await writeSegment();
  } finally {
    await merge.close();
  }
  const { work: _work, ...rest } = checkpoint;
  return { plan: { ...rest, properties: rest.perProperty.map((entry) => entry.name) }, done: true };
}

/** The next record's changes off the merge: its lines, grouped by property (each property's oldest first). */
async function takeRecord(merge: RunMerge): Promise<RecordHistory | undefined> {
  const first = merge.peek();
  if (!first) return undefined;
  const recordId = keyParts(first).recordId;
  const properties: PropertyHistory[] = [];
  for (let next = merge.peek(); next && keyParts(next).recordId === recordId; next = merge.peek()) {
    const taken = (await merge.take())!.record;
    const { property } = keyParts(taken);
    const [from = '', to = '', truncated = ''] = taken.values;
    const entry = properties.at(-1);
    if (entry?.property === property) {
      entry.last = to;
      entry.truncated ||= truncated !== '';
    } else {
      properties.push({ property, before: from, last: to, truncated: truncated !== '' });
    }
  }
  return { id: recordId, properties };
}

function keyParts(record: RunRecord): { recordId: string; property: string } {
  const [recordId = '', property = ''] = record.id.split(KEY_SEPARATOR);
  return { recordId, property };
}

/** The figures a revert plan shows, counted from its checkpoint on. */
type RevertFigures = Pick<
  StoredPlan,
  'recordsInBackup' | 'recordsToChange' | 'recordsUnchanged' | 'recordsMissing' | 'perProperty' | 'sample' | 'recordsConflicting' | 'conflictSample'
>;

/**
 * Counts each record the actor changed once in `recordsInBackup` (the plan's
 * source records), and as missing (deleted since), to change (at least one property
 * still holds the actor's value and differs from the value before), conflicting (at
 * least one property changed since; a record can be both: its other properties are
 * set back), or unchanged (every property already holds the value before).
 */
class RevertTally {
  private readonly figures: RevertFigures;
  private readonly perProperty: Map<string, PropertyPlan>;

  constructor(from: StoredPlan) {
    this.figures = structuredClone({
      recordsInBackup: from.recordsInBackup,
      recordsToChange: from.recordsToChange,
      recordsUnchanged: from.recordsUnchanged,
      recordsMissing: from.recordsMissing,
      perProperty: from.perProperty,
      sample: from.sample,
      recordsConflicting: from.recordsConflicting ?? 0,
      conflictSample: from.conflictSample ?? [],
    });
    this.perProperty = new Map(this.figures.perProperty.map((entry) => [entry.name, entry]));
  }

  /** Counts one record against today's (undefined: deleted); answers its plan line when something is to be set back. */
  count(record: RecordHistory, today: CrmRecord | undefined): PlannedRecord | undefined {
    this.figures.recordsInBackup += 1;
    if (!today) {
      this.figures.recordsMissing += 1;
      return undefined;
    }
    const changes: PlannedChange[] = [];
    const conflicts: Conflict[] = [];
    for (const entry of record.properties) {
      const holds = today.properties[entry.property] ?? '';
      if (holds === entry.before) continue; // already back (or the actor's changes cancelled out)
      if (holds === entry.last && !entry.truncated) changes.push({ property: entry.property, from: holds, to: entry.before });
      else conflicts.push({ recordId: record.id, property: entry.property, wrote: entry.last, now: holds });
    }
    if (conflicts.length) {
      this.figures.recordsConflicting! += 1;
      for (const conflict of conflicts) {
        this.counterOf(conflict.property).conflicting! += 1;
        if (this.figures.conflictSample!.length < CONFLICTS_KEPT) this.figures.conflictSample!.push({ ...conflict, wrote: cut(conflict.wrote), now: cut(conflict.now) });
      }
    }
    if (changes.length === 0) {
      if (!conflicts.length) this.figures.recordsUnchanged += 1;
      return undefined;
    }
    this.figures.recordsToChange += 1;
    for (const change of changes) {
      const counter = this.counterOf(change.property);
      if (change.to === '') counter.toClear += 1;
      else counter.toChange += 1;
    }
    if (this.figures.sample.length < SAMPLE_SIZE) {
      this.figures.sample.push({ recordId: record.id, changes: changes.map((change) => ({ property: change.property, from: cut(change.from), to: cut(change.to) })) });
    }
    return {
      id: record.id,
      values: Object.fromEntries(changes.map((change) => [change.property, change.to])),
      differs: true,
      // Apply writes each property only while the record still holds the actor's last value.
      expect: Object.fromEntries(changes.map((change) => [change.property, change.from])),
      ifUnchanged: true,
    };
  }

  /** A property's counters, added (in the order properties are first met) when it has none. */
  private counterOf(property: string): PropertyPlan {
    let counter = this.perProperty.get(property);
    if (!counter) {
      counter = { name: property, toChange: 0, toClear: 0, conflicting: 0 };
      this.perProperty.set(property, counter);
      this.figures.perProperty.push(counter);
    }
    return counter;
  }

  snapshot(): RevertFigures {
    return structuredClone(this.figures);
  }
}

/** The history's window a revert plan reads. */
export function windowOf(plan: StoredPlan): ChangeWindow {
  const { actor, source, from, to } = plan.revert!;
  return { objectType: plan.objectType, ...(actor !== undefined ? { actor } : {}), ...(source !== undefined ? { source } : {}), from, to };
}

function cut(value: string): string {
  return value.length > SAMPLE_VALUE_CHARS ? `${value.slice(0, SAMPLE_VALUE_CHARS)}…` : value;
}

/** A revert plan with every record planned: READY, its history runs deleted (the segments are what runs). */
export async function readyRevertPlan(plan: StoredPlan, deps: Pick<RestoreDeps, 'blobs'>): Promise<StoredPlan> {
  await deps.blobs.deletePrefix(historyPrefix(plan.accountId, plan.id));
  const { progress: _progress, work: _work, ...rest } = plan;
  return { ...rest, status: 'READY' };
}

/** The audit entry of a revert plan that became READY. */
export async function auditRevertPlanned(plan: StoredPlan, objectType: ObjectType, deps: Pick<RestoreDeps, 'audit' | 'ids'>): Promise<void> {
  await deps.audit.append({
    id: deps.ids.next('au'),
    accountId: plan.accountId,
    action: 'REVERT_PLANNED',
    actor: plan.requestedBy,
    resourceId: plan.id,
    occurredAt: plan.createdAt,
    summary: `Planned a revert of ${describeRevert(plan.revert!)} to ${objectType.pluralLabel.toLowerCase()}: ${plan.recordsToChange} of ${plan.recordsInBackup} records would be set back, ${plan.recordsConflicting ?? 0} changed since.`,
    details: { objectType: plan.objectType, ...plan.revert },
  });
}
