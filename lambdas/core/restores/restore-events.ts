import { storableChanges } from '../change-events.ts';
import type { ChangeEvent } from '../model.ts';
import type { PlannedChange, StoredRestore } from '../restore-model.ts';
import type { RestoreDeps } from './restore-deps.ts';

/**
 * The RESTORE change events a restore leaves: one per record it changed, stored in the
 * data plane and published, so that workflows can react to restored values.
 */

/** Change events stored per write (DynamoDB's BatchWriteItem limit). */
export const EVENT_BATCH = 25;

/** The event of one record this restore changed. */
export function restoreEvent(restore: StoredRestore, recordId: string, changes: PlannedChange[], deps: Pick<RestoreDeps, 'ids' | 'clock'>): ChangeEvent {
  return {
    id: deps.ids.next('ce'),
    accountId: restore.accountId,
    objectType: restore.objectType,
    recordId,
    source: 'RESTORE',
    restoreId: restore.id,
    actor: restore.requestedBy,
    kind: 'UPDATED',
    changes: storableChanges(changes),
    occurredAt: deps.clock.now().toISOString(),
  };
}

/** Whether this restore already stored an event for the record (among the record's recent events). */
export async function hasRestoreEvent(restore: StoredRestore, recordId: string, deps: Pick<RestoreDeps, 'records'>): Promise<boolean> {
  const recent = await deps.records.listChangeEvents(restore.accountId, { recordId, limit: 20 });
  return recent.items.some((event) => event.restoreId === restore.id);
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
    if (this.pending.length) void this.store(this.pending.splice(0));
    await Promise.all(this.writes);
  }

  private store(batch: ChangeEvent[]): Promise<void> {
    const written = this.deps.records.appendChangeEvents(batch).then(() => this.deps.events.publish(batch));
    this.writes.push(written);
    return written;
  }
}
