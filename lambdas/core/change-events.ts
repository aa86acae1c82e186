import type { ChangeEvent } from './model.ts';

/**
 * Bytes of `from`/`to` text one change event keeps whole. A DynamoDB item is at most
 * 400 KB, and a record may hold that much: an event with a record's old and new values
 * could not be stored, and the write it describes would be left without one.
 */
export const CHANGE_EVENT_VALUE_BYTES = 300 * 1024;

/**
 * The changes as an event can store them. Primary course: 1. Count the UTF-8 bytes of
 * every `from` and `to`. 2. Within CHANGE_EVENT_VALUE_BYTES, keep them whole. 3. Beyond
 * it, shorten each value to an equal share of the budget (on a code point boundary)
 * and mark its change `truncated: true`; the record itself keeps the full value.
 */
export function storableChanges(changes: ChangeEvent['changes']): ChangeEvent['changes'] {
  const total = changes.reduce((sum, change) => sum + Buffer.byteLength(change.from, 'utf8') + Buffer.byteLength(change.to, 'utf8'), 0);
  if (total <= CHANGE_EVENT_VALUE_BYTES) return changes;
  const share = Math.floor(CHANGE_EVENT_VALUE_BYTES / (2 * Math.max(1, changes.length)));
  return changes.map((change) => {
    const from = shorten(change.from, share);
    const to = shorten(change.to, share);
    return from === change.from && to === change.to ? change : { ...change, from, to, truncated: true };
  });
}

/** The longest prefix of `text` that fits in `bytes` of UTF-8, never splitting a character. */
function shorten(text: string, bytes: number): string {
  if (Buffer.byteLength(text, 'utf8') <= bytes) return text;
  let kept = '';
  let used = 0;
  for (const character of text) {
    const size = Buffer.byteLength(character, 'utf8');
    if (used + size > bytes) break;
    kept += character;
    used += size;
  }
  return kept;
}
