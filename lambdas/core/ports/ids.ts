import { randomBytes } from 'node:crypto';

/** Makes ids; injected so that tests can predict them. */
export interface IdGenerator {
  /** A new id that sorts after every id made before it by this generator, e.g. `bk_0mf3k2x9a7c1e5`. */
  next(prefix: string): string;
}

/**
 * Time-ordered ids: milliseconds in base 36, then random bits. Sorting by id is sorting
 * by creation time, which lets DynamoDB list "newest first" from the sort key alone.
 */
export function timeOrderedIds(clock: { now(): Date }): IdGenerator {
  return {
    next(prefix) {
      const time = clock.now().getTime().toString(36).padStart(9, '0');
      return `${prefix}_${time}${randomBytes(6).toString('hex')}`;
    },
  };
}
