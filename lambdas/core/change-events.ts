import { createHash } from 'node:crypto';
import type { ChangeEvent, ChangeStamp } from './model.ts';

/**
 * Bytes of `from`/`to` values (as JSON) one change event keeps whole. A DynamoDB item is
 * at most 400 KB and an EventBridge entry at most 256 KB, and one record may hold 400 KB:
 * an event with its old and new values could be neither stored nor published, and the
 * write it describes would be left without one.
 */
export const CHANGE_EVENT_VALUE_BYTES = 200 * 1024;

/**
 * The changes as an event can store and publish them. Primary course: 1. Measure every
 * `from` and `to` as JSON text. 2. Within CHANGE_EVENT_VALUE_BYTES, keep them whole.
 * 3. Beyond it, shorten each value to an equal share of the budget (never splitting a
 * character) and mark its change `truncated: true`; the record keeps the full value.
 */
export function storableChanges(changes: ChangeEvent['changes']): ChangeEvent['changes'] {
  const total = changes.reduce((sum, change) => sum + jsonBytes(change.from) + jsonBytes(change.to), 0);
  if (total <= CHANGE_EVENT_VALUE_BYTES) return changes;
  const share = Math.floor(CHANGE_EVENT_VALUE_BYTES / (2 * Math.max(1, changes.length)));
  return changes.map((change) => {
    const from = shorten(change.from, share);
    const to = shorten(change.to, share);
    return from === change.from && to === change.to ? change : { ...change, from, to, truncated: true };
  });
}

/** Bytes of a string inside a JSON document (escapes included, quotes not). */
function jsonBytes(text: string): number {
  return Buffer.byteLength(JSON.stringify(text), 'utf8') - 2;
}

/** The longest prefix of `text` that takes at most `bytes` as JSON, never splitting a character. */
function shorten(text: string, bytes: number): string {
  if (jsonBytes(text) <= bytes) return text;
  let kept = '';
  let used = 0;
  for (const character of text) {
    const size = jsonBytes(character);
    if (used + size > bytes) break;
    kept += character;
    used += size;
  }
  return kept;
}

/**
 * The change event a stamped change describes: the stamp's id, time, source and actor,
 * each stamped property's value before, and its value now (`after`, the record's own
 * values, which a stamp does not repeat). Built the same way when the change is made
 * and when a retry finds it made, so both store the same event under the same key.
 */
export function stampedEvent(target: { accountId: string; objectType: string; recordId: string }, stamp: ChangeStamp, after: Record<string, string>): ChangeEvent {
  const changes = Object.entries(stamp.before).map(([property, from]) => ({ property, from, to: after[property] ?? '' }));
  return {
    id: stamp.eventId,
    accountId: target.accountId,
    objectType: target.objectType,
    recordId: target.recordId,
    source: stamp.source,
    ...(stamp.restoreId ? { restoreId: stamp.restoreId } : {}),
    ...(stamp.undoOf ? { undoOf: stamp.undoOf } : {}),
    ...(stamp.revertOf ? { revertOf: stamp.revertOf } : {}),
    actor: stamp.actor,
    kind: 'UPDATED',
    changes: stamp.truncated ? changes.map((change) => ({ ...change, truncated: true })) : storableChanges(changes),
    occurredAt: stamp.at,
  };
}

/**
 * The id of the change event of a restore's write to one record at one moment: derived
 * from what it records, so that every attempt that rebuilds it names the same event.
 */
export function restoreEventId(restoreId: string, recordId: string, at: string): string {
  return `ce_${createHash('sha256').update(`${restoreId}\n${recordId}\n${at}`).digest('hex').slice(0, 32)}`;
}
