import type { ChangeEvent, ChangeStamp } from '../model.ts';
import type { StampedRecord } from '../ports/record-store.ts';
import type { PlannedChange, PlannedRecord, StoredRestore } from '../restore-model.ts';
import type { RestoreDeps } from './restore-deps.ts';
import { restoreStamp, stampedRestoreEvent } from './restore-events.ts';
import { diff } from './restore-policy.ts';
import type { Outcome } from './segment-progress.ts';

/**
 * How one backed-up record is restored: each chosen property set to its backed-up value
 * where it differs today, with conditional writes only, so that a record deleted
 * meanwhile stays deleted and an edit made meanwhile is never overwritten unseen. Every
 * write stamps the record with its change event (less the new values, which the record
 * holds), so a retry that finds the record already written by this restore stores the
 * same event again rather than none or a second one.
 */

export type RecordRestoreDeps = Pick<RestoreDeps, 'records' | 'clock'>;

/** How a record counts, and the change event to store for it (a retry's too: storing it again keeps one). */
export interface RecordRestored {
  outcome: Outcome;
  event?: ChangeEvent;
}

/** Re-reads after a record changed between our read and our write, before giving up on it. */
export const MAX_CONFLICT_RETRIES = 3;

/**
 * Restores one record. A record the plan found different is written at once, on
 * condition that it still holds what the plan found; any other (or one changed since
 * the plan) is compared with `today` (its value read before the round) and written
 * only where it differs, on condition that it still holds what was read. A record this
 * restore already wrote (its stamp) counts as updated, with its event, so retries
 * count and describe exactly.
 */
export async function restoreRecord(restore: StoredRestore, row: PlannedRecord, today: StampedRecord | undefined, deps: RecordRestoreDeps): Promise<RecordRestored> {
  if (!row.differs || !row.expect) return restoreIfDifferent(restore, row, today, deps);
  // No read: the condition is what the plan found, so the changes are known before the write.
  const written = await write(restore, row, diff({ id: row.id, properties: row.expect }, row.values), row.expect, deps);
  if (written) return written;
  // Changed since the plan, or already written by an earlier attempt: the read tells which.
  return restoreIfDifferent(restore, row, await readOne(restore, row.id, deps), deps);
}

/** Writes the properties that differ from `current`, re-reading on a conflict, a few times at most. */
async function restoreIfDifferent(restore: StoredRestore, row: PlannedRecord, current: StampedRecord | undefined, deps: RecordRestoreDeps): Promise<RecordRestored> {
  for (let attempt = 0; attempt <= MAX_CONFLICT_RETRIES; attempt += 1) {
    if (!current) return { outcome: 'missing' };
    const changes = diff(current.record, row.values);
    if (changes.length === 0) return alreadyRestored(restore, row, current);
    const expect = Object.fromEntries(changes.map((change) => [change.property, change.from]));
    const written = await write(restore, row, changes, expect, deps);
    if (written) return written;
    // CONFLICT: someone edited the record between our read and our write; read it again.
    current = await readOne(restore, row.id, deps);
  }
  return { outcome: 'failed' };
}

/**
 * One conditional write of `changes`, stamped; answers the record's outcome, or
 * undefined when the record no longer held `expect` (a conflict: read it again).
 */
async function write(restore: StoredRestore, row: PlannedRecord, changes: PlannedChange[], expect: Record<string, string>, deps: RecordRestoreDeps): Promise<RecordRestored | undefined> {
  if (changes.length === 0) return undefined;
  const stamp = restoreStamp(restore, row.id, changes, deps);
  const set = Object.fromEntries(changes.map((change) => [change.property, change.to]));
  const outcome = await deps.records.updateRecord(restore.accountId, restore.objectType, row.id, { set }, { expect, stamp });
  if (outcome.status === 'UPDATED') return { outcome: 'updated', event: stampedRestoreEvent(restore, row.id, stamp, row.values) };
  if (outcome.status === 'MISSING') return { outcome: 'missing' };
  return undefined;
}

/**
 * A record that already holds the backed-up values: unchanged, unless this restore
 * wrote them (its stamp is the last on the record) in an attempt that died before it
 * counted them. Then it counts as updated, and its change event, rebuilt from the
 * stamp, is stored again: with the same id and time, so once whether or not the dead
 * attempt stored it.
 */
function alreadyRestored(restore: StoredRestore, row: PlannedRecord, current: StampedRecord): RecordRestored {
  const stamp: ChangeStamp | undefined = current.stamp;
  if (stamp?.restoreId !== restore.id) return { outcome: 'unchanged' };
  return { outcome: 'updated', event: stampedRestoreEvent(restore, row.id, stamp, current.record.properties) };
}

async function readOne(restore: StoredRestore, recordId: string, deps: RecordRestoreDeps): Promise<StampedRecord | undefined> {
  return (await deps.records.getStampedRecords(restore.accountId, restore.objectType, [recordId])).get(recordId);
}
