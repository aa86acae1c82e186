import { restoreEventId, stampedEvent } from '../change-events.ts';
import type { ChangeEvent, ChangeStamp } from '../model.ts';
import type { PlannedChange, StoredRestore } from '../restore-model.ts';
import type { RestoreDeps } from './restore-deps.ts';

/**
 * The RESTORE change events a restore leaves: one per record it changed, stored in the
 * data plane and published, so that workflows can react to restored values. Each is
 * described by the stamp the record's write keeps, so it can be rebuilt, identical,
 * by any later attempt that finds the write made.
 */

/** Change events stored per write (DynamoDB's BatchWriteItem limit). */
export const EVENT_BATCH = 25;

/** The stamp a restore's write of `changes` to one record leaves on it, timed now. */
export function restoreStamp(restore: StoredRestore, recordId: string, changes: PlannedChange[], deps: Pick<RestoreDeps, 'clock'>): ChangeStamp {
  const at = deps.clock.now().toISOString();
  return {
    eventId: restoreEventId(restore.id, recordId, at),
    at,
    source: 'RESTORE',
    actor: restore.requestedBy,
    restoreId: restore.id,
    before: Object.fromEntries(changes.map((change) => [change.property, change.from])),
  };
}

/** The event of a restore's stamped write; `after` is what the record holds now (at least the stamped properties). */
export function stampedRestoreEvent(restore: StoredRestore, recordId: string, stamp: ChangeStamp, after: Record<string, string>): ChangeEvent {
  return stampedEvent({ accountId: restore.accountId, objectType: restore.objectType, recordId }, stamp, after);
}

/**
 * Stores events EVENT_BATCH at a time as they come, each batch then published: whoever
 * adds the event that fills a batch stores it, while other writers go on.
 */
export class RestoreEventWriter {
  private pending: ChangeEvent[] = [];
  private readonly writes: Array<Promise<void>> = [];
  private readonly deps: Pick<RestoreDeps, 'records' | 'events'>;

  constructor(deps: Pick<RestoreDeps, 'records' | 'events'>) {
    this.deps = deps;
  }

  /** Adds an event; resolves once a batch it filled is stored (a failure there surfaces in `flush`). */
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
    const written = this.deps.records.appendChangeEvents(batch).then(() => this.deps.events.publish(batch));
    this.writes.push(written);
    return written;
  }
}
