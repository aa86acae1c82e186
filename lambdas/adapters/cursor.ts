import { createHash } from 'node:crypto';
import { z } from 'zod';
import { InvalidCursorError } from '#core/errors.ts';

/**
 * Opaque page cursors: base64url JSON of a sort-key position and a binding to what it
 * pages. They hold no partition keys: the partition is always rebuilt from the
 * caller's own account.
 *
 * Every cursor is checked whole before any query runs (issue 13, findings 3 and 4):
 * exactly the fields its list writes, of the right types and in range, keys no longer
 * than DynamoDB accepts, and the binding of this list, account and object type or
 * record. Anything else is a 400 INVALID_CURSOR, never a slow scan or a 500.
 */

/** What a cursor pages: one list of one account, within one object type or record where the list has one. */
export interface CursorScope {
  list: 'records' | 'change-events' | 'backups' | 'restores' | 'imports' | 'audit-log';
  accountId: string;
  within?: string;
}

/** DynamoDB refuses a sort key (or a key condition on one) over 1,024 bytes with an error that would be a 500. */
export const MAX_SORT_KEY_BYTES = 1024;
/** Longer than any cursor we write (a 1 KB key, base64url): refused before decoding. */
const MAX_CURSOR_CHARS = 2048;

/** A sort key as a cursor may carry it: a non-empty string DynamoDB accepts as a key. */
export const sortKey = z.string().min(1).refine((key) => Buffer.byteLength(key, 'utf8') <= MAX_SORT_KEY_BYTES);

/** A sort key that must start with `prefix` (the item kind a list pages). */
export function sortKeyWithPrefix(prefix: string) {
  return sortKey.refine((key) => key.startsWith(prefix));
}

export function encodeCursor(scope: CursorScope, position: Record<string, string | number>): string {
  return Buffer.from(JSON.stringify({ ...position, b: binding(scope) }), 'utf8').toString('base64url');
}

/**
 * The position inside a cursor, if the cursor was written for `scope` and every field
 * fits `position` (a zod shape without the binding; extra fields are refused).
 */
export function decodeCursor<T extends z.ZodRawShape>(cursor: string, scope: CursorScope, position: T): z.infer<z.ZodObject<T>> {
  if (cursor.length === 0 || cursor.length > MAX_CURSOR_CHARS || !/^[\w-]+$/.test(cursor)) throw new InvalidCursorError();
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError();
  }
  const parsed = z.strictObject({ ...position, b: z.literal(binding(scope)) }).safeParse(value);
  if (!parsed.success) throw new InvalidCursorError();
  const { b: _binding, ...fields } = parsed.data as Record<string, unknown>;
  return fields as z.infer<z.ZodObject<T>>;
}

/**
 * A digest of the scope: a cursor replayed on another list, object type, record or
 * account no longer matches. Not a secret: forging one only pages your own data, and
 * every field is checked anyway; the binding turns a mix-up into a clear 400.
 */
function binding(scope: CursorScope): string {
  return createHash('sha256').update(JSON.stringify([scope.list, scope.accountId, scope.within ?? ''])).digest('base64url').slice(0, 16);
}
