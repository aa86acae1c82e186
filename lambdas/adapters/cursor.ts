import { ValidationError } from '#core/errors.ts';

/**
 * Opaque page cursors. They hold only sort-key positions, never partition keys: the
 * partition is always rebuilt from the caller's own account, so a cursor copied from
 * another tenant can at worst skip ahead in your own data.
 */
export function encodeCursor(position: Record<string, string | number>): string {
  return Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
}

export function decodeCursor<T extends Record<string, string | number>>(cursor: string, shape: { [K in keyof T]: 'string' | 'number' }): T {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
  if (typeof value !== 'object' || value === null) throw invalidCursor();
  for (const [key, type] of Object.entries(shape)) {
    if (typeof (value as Record<string, unknown>)[key] !== type) throw invalidCursor();
  }
  return value as T;
}

function invalidCursor(): ValidationError {
  return new ValidationError('The cursor is not one this API gave out; start again without it.', { field: 'cursor' });
}
