import { restoreEventId, stampedEvent } from '../change-events.ts';
import type { ChangeEvent, ChangeStamp, ChangeWindow, CrmRecord } from '../model.ts';
import type { Clock } from '../ports/clock.ts';
import {
  ApplyInterruptedError,
  type AppliedChange,
  type ApplyRequest,
  type ChangeHistory,
  type ChangePage,
  type DataSource,
  type DataSources,
  type RecordTarget,
  type SourceObjectType,
  type SourcePage,
  type StreamPosition,
  takeBackChanges,
  takenBack,
} from '../ports/data-source.ts';
import type { EventPublisher } from '../ports/event-publisher.ts';
import type { RecordStore, StampedRecord } from '../ports/record-store.ts';
import type { PlannedChange } from '../restore-model.ts';

/** What the built-in CRM's source is made of: its record store, and where its change events go. */
export interface BuiltInSourceDeps {
  records: RecordStore;
  events: EventPublisher;
  clock: Clock;
}

/** Records per page of one storage segment (a DynamoDB page is also capped at 1 MB). */
const PAGE_SIZE = 1000;
/** Conditional updates in flight at once within a batch. */
export const UPDATE_CONCURRENCY = 10;
/** Re-reads after a record changed between our read and our write, before giving up on it. */
export const MAX_CONFLICT_RETRIES = 3;
/** Change events stored per write (DynamoDB's BatchWriteItem limit). */
export const EVENT_BATCH = 25;

/** Why a record that kept changing was left alone. */
export const KEPT_CHANGING = 'The record kept changing while it was being restored, so it was left as people left it.';

/**
 * The CRM data plane this service ships with, as a data source: one account's records in
 * the record store, read in its 16 storage segments at once, written with conditional
 * writes only (a record deleted meanwhile stays deleted, an edit made meanwhile is never
 * overwritten unseen), each write stamped with the restore that made it and described by
 * a RESTORE change event (stored, then published): the built-in CRM's change history.
 */
export class BuiltInSource implements DataSource {
  readonly kind = 'builtin';
  readonly conditionalWrites = true;
  readonly streams: number;
  /** One apply invocation per storage segment: each segment is its own partition key (~1,000 writes/s on DynamoDB). */
  readonly applyConcurrency: number;
  /** Every change made through the API or a restore left its change event: that is the history. */
  readonly changeHistory: ChangeHistory;
  private readonly accountId: string;
  private readonly deps: BuiltInSourceDeps;

  constructor(accountId: string, deps: BuiltInSourceDeps) {
    this.accountId = accountId;
    this.deps = deps;
    this.streams = deps.records.segmentCount;
    this.applyConcurrency = deps.records.segmentCount;
    this.changeHistory = {
      streams: deps.records.changePartitions,
      readChanges: (window: ChangeWindow, position: StreamPosition): Promise<ChangePage> =>
        deps.records.readChangeWindow(accountId, window, position.stream, { limit: PAGE_SIZE, resumeAfter: position.resumeAfter }),
    };
  }

  listObjectTypes(): Promise<SourceObjectType[]> {
    return this.deps.records.listObjectTypes(this.accountId);
  }

  getObjectType(name: string): Promise<SourceObjectType | undefined> {
    return this.deps.records.getObjectType(this.accountId, name);
  }

  async readPage(objectType: string, _properties: string[], position: StreamPosition): Promise<SourcePage> {
    // Records come whole: every property they hold.
    return this.deps.records.readSegmentPage(this.accountId, objectType, position.stream, { limit: PAGE_SIZE, resumeAfter: position.resumeAfter });
  }

  readRecords(objectType: string, ids: string[]): Promise<Map<string, CrmRecord>> {
    return this.deps.records.getRecords(this.accountId, objectType, ids);
  }

  /**
   * A record the caller found different (`expect`) is written at once, on condition
   * that it still holds what the caller found; any other (or one changed since) is
   * read first and written only where it differs, on condition that it still holds
   * what was read. Every write stamps the record with its change event (less the new
   * values, which the record holds), so a retry that finds the record already written
   * by this restore counts it `updated` and stores the same event again (same id and
   * time: one event), rather than none or a second one. The reads run while the
   * caller's `writeAllowed` settles; nothing is written before it does. Change events
   * are stored before this answers, so a caller that saves progress afterwards never
   * loses one.
   */
  async applyChanges(request: ApplyRequest, writeAllowed: Promise<void> = Promise.resolve()): Promise<AppliedChange[]> {
    const toRead = request.records.filter((target) => !target.expect);
    // Only the properties being restored (and the stamp): the rest of each record is not compared.
    const properties = [...new Set(toRead.flatMap((target) => Object.keys(target.values)))];
    const today = toRead.length
      ? await this.deps.records.getStampedRecords(this.accountId, request.objectType, toRead.map((target) => target.id), { properties })
      : new Map<string, StampedRecord>();
    await writeAllowed;
    const events = new ChangeEventWriter(this.deps);
    const results = await settleEach(request.records, UPDATE_CONCURRENCY, async (target) => {
      const restored = await this.restoreRecord(request, target, today.get(target.id));
      // Whoever fills a batch of events stores it while the others keep writing.
      if (restored.event) await events.add(restored.event);
      return restored.applied;
    });
    await events.flush();
    const failure = results.find((result) => 'error' in result);
    if (failure) throw new ApplyInterruptedError(results.filter((result): result is AppliedChange => !('error' in result)), (failure as { error: unknown }).error);
    return results as AppliedChange[];
  }

  private async restoreRecord(request: ApplyRequest, target: RecordTarget, today: StampedRecord | undefined): Promise<Restored> {
    if (!target.expect) return this.restoreIfDifferent(request, target, today);
    // No read: the condition is what the caller found, so the changes are known before the write.
    const written = await this.write(request, target, differences({ id: target.id, properties: target.expect }, target.values), target.expect);
    if (written) return written;
    // Changed since the caller looked, or already written by an earlier attempt: the read tells which.
    const current = await this.readOne(request.objectType, target.id);
    return target.ifUnchanged ? this.takeBackIfUnchanged(request, target, current) : this.restoreIfDifferent(request, target, current);
  }

  /**
   * Takes a change back property by property: writes those still holding what is taken
   * back (on condition that they still do), leaves the ones edited since as conflicts.
   * A record this attempt finds already taken back by this restore (an attempt that
   * died before counting it) counts as updated, as for a restore.
   */
  private async takeBackIfUnchanged(request: ApplyRequest, target: RecordTarget, current: StampedRecord | undefined): Promise<Restored> {
    for (let attempt = 0; attempt <= MAX_CONFLICT_RETRIES; attempt += 1) {
      if (!current) return { applied: { id: target.id, outcome: 'missing' } };
      const { changes, conflicts } = takeBackChanges(target, current.record.properties);
      if (changes.length === 0) {
        if (current.stamp?.restoreId === request.restoreId) {
          const earlier = this.alreadyRestored(request, target, current);
          const applied = earlier.applied.outcome === 'updated' ? takenBack(target.id, earlier.applied.changes, conflicts) : earlier.applied;
          return { ...earlier, applied };
        }
        return { applied: takenBack(target.id, [], conflicts) };
      }
      const written = await this.write(request, target, changes, Object.fromEntries(changes.map((change) => [change.property, change.from])));
      if (written) return written.applied.outcome === 'updated' ? { ...written, applied: takenBack(target.id, written.applied.changes, conflicts) } : written;
      current = await this.readOne(request.objectType, target.id);
    }
    return { applied: { id: target.id, outcome: 'failed', reason: KEPT_CHANGING } };
  }

  /** Writes the properties that differ from `current`, re-reading on a conflict, a few times at most. */
  private async restoreIfDifferent(request: ApplyRequest, target: RecordTarget, current: StampedRecord | undefined): Promise<Restored> {
    for (let attempt = 0; attempt <= MAX_CONFLICT_RETRIES; attempt += 1) {
      if (!current) return { applied: { id: target.id, outcome: 'missing' } };
      const changes = differences(current.record, target.values);
      if (changes.length === 0) return this.alreadyRestored(request, target, current);
      const written = await this.write(request, target, changes, Object.fromEntries(changes.map((change) => [change.property, change.from])));
      if (written) return written;
      // CONFLICT: someone edited the record between our read and our write; read it again.
      current = await this.readOne(request.objectType, target.id);
    }
    return { applied: { id: target.id, outcome: 'failed', reason: KEPT_CHANGING } };
  }

  /**
   * One conditional write of `changes`, stamped; answers the record's outcome, or
   * undefined when the record no longer held `expect` (a conflict: read it again).
   */
  private async write(request: ApplyRequest, target: RecordTarget, changes: PlannedChange[], expect: Record<string, string>): Promise<Restored | undefined> {
    if (changes.length === 0) return undefined;
    const at = this.deps.clock.now().toISOString();
    const stamp: ChangeStamp = {
      eventId: restoreEventId(request.restoreId, target.id, at),
      at,
      source: 'RESTORE',
      actor: request.actor,
      restoreId: request.restoreId,
      ...(request.undoOf ? { undoOf: request.undoOf } : {}),
      ...(request.revertOf ? { revertOf: request.revertOf } : {}),
      before: Object.fromEntries(changes.map((change) => [change.property, change.from])),
    };
    const set = Object.fromEntries(changes.map((change) => [change.property, change.to]));
    const outcome = await this.deps.records.updateRecord(this.accountId, request.objectType, target.id, { set }, { expect, stamp });
    if (outcome.status === 'UPDATED') return { applied: { id: target.id, outcome: 'updated', changes }, event: this.eventOf(request, target.id, stamp, target.values) };
    if (outcome.status === 'MISSING') return { applied: { id: target.id, outcome: 'missing' } };
    return undefined;
  }

  /**
   * A record that already holds the values: unchanged, unless this restore wrote them
   * (its stamp is the last on the record) in an attempt that died before it counted
   * them. Then it counts as updated, and its change event, rebuilt from the stamp, is
   * stored again: with the same id and time, so once whether or not the dead attempt
   * stored it.
   */
  private alreadyRestored(request: ApplyRequest, target: RecordTarget, current: StampedRecord): Restored {
    const stamp = current.stamp;
    if (stamp?.restoreId !== request.restoreId) return { applied: { id: target.id, outcome: 'unchanged' } };
    const event = this.eventOf(request, target.id, stamp, current.record.properties);
    return { applied: { id: target.id, outcome: 'updated', changes: event.changes.map(({ property, from, to }) => ({ property, from, to })) }, event };
  }

  private eventOf(request: ApplyRequest, recordId: string, stamp: ChangeStamp, after: Record<string, string>): ChangeEvent {
    return stampedEvent({ accountId: this.accountId, objectType: request.objectType, recordId }, stamp, after);
  }

  private async readOne(objectType: string, recordId: string): Promise<StampedRecord | undefined> {
    return (await this.deps.records.getStampedRecords(this.accountId, objectType, [recordId])).get(recordId);
  }
}

/** How a record came out, and the change event to store when this attempt changed it. */
interface Restored {
  applied: AppliedChange;
  event?: ChangeEvent;
}

/** The properties whose value today differs from the wanted one (a blank is ""). */
function differences(current: CrmRecord, values: Record<string, string>): PlannedChange[] {
  const changes: PlannedChange[] = [];
  for (const [property, to] of Object.entries(values)) {
    const from = current.properties[property] ?? '';
    if (from !== to) changes.push({ property, from, to });
  }
  return changes;
}

/**
 * Stores change events EVENT_BATCH at a time as they come, each batch then published:
 * whoever adds the event that fills a batch stores it, while other writers go on, and
 * goes on writing while the batch is published. Every batch is stored and published
 * before `flush` answers, so before the round's answer (exactly-once storage, and a
 * retry publishes again what a dead attempt may not have).
 */
class ChangeEventWriter {
  private pending: ChangeEvent[] = [];
  private readonly writes: Array<Promise<void>> = [];
  private readonly deps: Pick<BuiltInSourceDeps, 'records' | 'events'>;

  constructor(deps: Pick<BuiltInSourceDeps, 'records' | 'events'>) {
    this.deps = deps;
  }

  /** Adds an event; resolves once a batch it filled is stored (a failure there, or in publishing it, surfaces in `flush`). */
  async add(event: ChangeEvent): Promise<void> {
    this.pending.push(event);
    if (this.pending.length >= EVENT_BATCH) await this.store(this.pending.splice(0, EVENT_BATCH)).catch(() => undefined);
  }

  /** Stores what is left and waits for every batch; rejects if any batch failed. */
  async flush(): Promise<void> {
    if (this.pending.length) void this.store(this.pending.splice(0)).catch(() => undefined);
    await Promise.all(this.writes);
  }

  private store(batch: ChangeEvent[]): Promise<void> {
    const stored = this.deps.records.appendChangeEvents(batch);
    const published = stored.then(() => this.deps.events.publish(batch));
    published.catch(() => undefined); // surfaces in flush
    this.writes.push(published);
    return stored;
  }
}

/** Runs `settle` over the items, `concurrency` at a time; answers each one's result or error, in order. */
async function settleEach<T, R>(items: T[], concurrency: number, settle: (item: T) => Promise<R>): Promise<Array<R | { error: unknown }>> {
  const results: Array<R | { error: unknown }> = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      try {
        results[index] = await settle(items[index]!);
      } catch (error) {
        results[index] = { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

/** Every account's source is the built-in CRM (what a deployment without connected CRMs runs). */
export function builtInSources(deps: BuiltInSourceDeps): DataSources {
  return { forAccount: async (accountId) => new BuiltInSource(accountId, deps) };
}
