import type { ChangeEvent, CrmRecord } from '../model.ts';
import type { PlannedChange, PlannedRecord, StoredRestore } from '../restore-model.ts';
import type { RestoreDeps } from './restore-deps.ts';
import { hasRestoreEvent, restoreEvent } from './restore-events.ts';
import { diff } from './restore-policy.ts';
import type { Outcome } from './segment-progress.ts';

/**
 * How one backed-up record is restored: each chosen property set to its backed-up value
 * where it differs today, with conditional writes only, so that a record deleted
 * meanwhile stays deleted and an edit made meanwhile is never overwritten unseen.
 */

export type RecordRestoreDeps = Pick<RestoreDeps, 'records' | 'ids' | 'clock'>;

/** A record as read before writing it, with the restore that last wrote it (`rid`). */
export type TodaysRecord = { record: CrmRecord; restoreId?: string };

/** How a record counts, and the change event to store when this attempt changed it. */
export interface RecordRestored {
  outcome: Outcome;
  event?: ChangeEvent;
}

/** Re-reads after a record changed between our read and our write, before giving up on it. */
export const MAX_CONFLICT_RETRIES = 3;

/**
 * Restores one record. A record the plan found different is written at once, on
 * condition that it exists and still differs; any other is compared with `today` (its
 * value read before the round) and written only where it differs, on condition that it
 * still holds what was read. Counts `updated` also when an earlier attempt of this same
 * restore already wrote it (the record's `rid`), so retries count exactly.
 */
export async function restoreRecord(restore: StoredRestore, row: PlannedRecord, today: TodaysRecord | undefined, deps: RecordRestoreDeps): Promise<RecordRestored> {
  if (!row.differs) return restoreIfDifferent(restore, row, today, deps);
  // No read: the write's condition checks that a difference is still there, and the
  // record's values before the write (returned by it) tell what changed.
  const outcome = await deps.records.updateRecord(restore.accountId, restore.objectType, row.id, { set: row.values }, { onlyIfDifferent: true, restoreId: restore.id });
  if (outcome.status === 'UPDATED') return { outcome: 'updated', event: restoreEvent(restore, row.id, diff(outcome.before, row.values), deps) };
  if (outcome.status === 'MISSING') return { outcome: 'missing' };
  // Nothing differs any more: edited back meanwhile, or written by an earlier attempt
  // of this restore. The read tells which.
  return restoreIfDifferent(restore, row, await readOne(restore, row.id, deps), deps);
}

/** Writes the properties that differ from `current`, re-reading on a conflict, a few times at most. */
async function restoreIfDifferent(restore: StoredRestore, row: PlannedRecord, current: TodaysRecord | undefined, deps: RecordRestoreDeps): Promise<RecordRestored> {
  for (let attempt = 0; attempt <= MAX_CONFLICT_RETRIES; attempt += 1) {
    if (!current) return { outcome: 'missing' };
    const changes = diff(current.record, row.values);
    if (changes.length === 0) return alreadyRestored(restore, row, current, deps);
    const outcome = await deps.records.updateRecord(restore.accountId, restore.objectType, row.id, changesOf(changes), {
      expect: Object.fromEntries(changes.map((change) => [change.property, change.from])),
      restoreId: restore.id,
    });
    if (outcome.status === 'UPDATED') return { outcome: 'updated', event: restoreEvent(restore, row.id, changes, deps) };
    if (outcome.status === 'MISSING') return { outcome: 'missing' };
    // CONFLICT: someone edited the record between our read and our write; read it again.
    current = await readOne(restore, row.id, deps);
  }
  return { outcome: 'failed' };
}

/**
 * A record that already holds the backed-up values: unchanged, unless this restore
 * wrote them in an attempt that died before storing its change event. Then it counts
 * as updated and gets its event now, unless one exists; the values it had before are
 * lost with that attempt, so the event lists the restored values with an empty `from`.
 */
async function alreadyRestored(restore: StoredRestore, row: PlannedRecord, current: TodaysRecord, deps: RecordRestoreDeps): Promise<RecordRestored> {
  if (current.restoreId !== restore.id) return { outcome: 'unchanged' };
  if (await hasRestoreEvent(restore, row.id, deps)) return { outcome: 'updated' };
  const changes = restore.properties.map((property) => ({ property, from: '', to: row.values[property] ?? '' }));
  return { outcome: 'updated', event: restoreEvent(restore, row.id, changes, deps) };
}

function changesOf(changes: PlannedChange[]): { set: Record<string, string> } {
  return { set: Object.fromEntries(changes.map((change) => [change.property, change.to])) };
}

async function readOne(restore: StoredRestore, recordId: string, deps: RecordRestoreDeps): Promise<TodaysRecord | undefined> {
  return (await deps.records.getRecordsWithRestoreId(restore.accountId, restore.objectType, [recordId])).get(recordId);
}
