import type { Account, ChangeEvent, ChangeStamp, ChangeWindow, CrmRecord, ObjectType, Page } from '../model.ts';

export interface ObjectTypeWithCount extends ObjectType {
  records: number;
}

/** A page of one segment of an object type, read in storage order. */
export interface SegmentPage {
  records: CrmRecord[];
  /** Where to resume this segment; absent when the segment is exhausted. */
  resumeAfter?: string;
}

/** What an update should do to a record's properties. Blank values are removed. */
export interface RecordChange {
  set: Record<string, string>;
}

export interface UpdateOptions {
  /** Apply only if every listed property still holds this value ("" = blank): optimistic concurrency. */
  expect?: Record<string, string>;
  /**
   * Apply only if at least one property of the change differs from the record's value
   * today, so that a write which would change nothing does not happen (CONFLICT then).
   */
  onlyIfDifferent?: boolean;
  /**
   * Kept on the record by the same write: the change event that describes it, less its
   * `to` values (the record holds them). Whoever later finds the record with its values
   * in place can store that event again, with the same id and time, so an event lost
   * with a crash between the write and the event's own write is never lost for good,
   * nor stored twice.
   */
  stamp?: ChangeStamp;
}

/** A record as read, with the stamp its last stamped change left on it. */
export interface StampedRecord {
  record: CrmRecord;
  stamp?: ChangeStamp;
}

/** The outcome of a conditional update. */
export type UpdateOutcome =
  | { status: 'UPDATED'; before: CrmRecord; after: CrmRecord }
  | { status: 'MISSING' }
  /** The record exists but did not meet the condition (`expect`, or `onlyIfDifferent` with nothing to change). */
  | { status: 'CONFLICT' };

/**
 * The CRM data plane: accounts, object types with their property definitions, records
 * and their change events. Every call is scoped by account id: there is no way to
 * name a record without naming its account, which is how tenants stay apart.
 *
 * Records of one object type are spread over `segmentCount` segments so that big
 * types can be read (and written) in parallel without a hot partition.
 */
export interface RecordStore {
  readonly segmentCount: number;

  getAccount(accountId: string): Promise<Account | undefined>;
  putAccount(account: Account): Promise<void>;

  listObjectTypes(accountId: string): Promise<ObjectTypeWithCount[]>;
  getObjectType(accountId: string, objectType: string): Promise<ObjectTypeWithCount | undefined>;
  putObjectType(accountId: string, objectType: ObjectType): Promise<void>;

  /** One page of records for people and scripts, `limit` at most; cursor opaque. */
  listRecords(accountId: string, objectType: string, options: { limit: number; cursor?: string }): Promise<Page<CrmRecord>>;
  /** One page of one segment, for exports: resumable from `resumeAfter`. */
  readSegmentPage(
    accountId: string,
    objectType: string,
    segment: number,
    options: { limit: number; resumeAfter?: string },
  ): Promise<SegmentPage>;
  getRecord(accountId: string, objectType: string, recordId: string): Promise<CrmRecord | undefined>;
  /** Reads many records at once; ids that do not exist are absent from the result. */
  getRecords(accountId: string, objectType: string, recordIds: string[]): Promise<Map<string, CrmRecord>>;
  /**
   * Like getRecords, with the stamp of each record's last change (`UpdateOptions.stamp`),
   * when it has one. With `properties`, each record holds only those (the stamp whole):
   * a caller that compares a few properties reads no more than them.
   */
  getStampedRecords(accountId: string, objectType: string, recordIds: string[], options?: { properties?: string[] }): Promise<Map<string, StampedRecord>>;
  /** Writes new records (seeding, imports); overwrites records with the same id. */
  putRecords(accountId: string, objectType: string, records: CrmRecord[]): Promise<void>;
  /** Changes properties of an existing record; never creates one. */
  updateRecord(accountId: string, objectType: string, recordId: string, change: RecordChange, options?: UpdateOptions): Promise<UpdateOutcome>;
  /** Deletes a record; answers what it was, or undefined if it did not exist. */
  deleteRecord(accountId: string, objectType: string, recordId: string): Promise<CrmRecord | undefined>;

  /**
   * Stores change events. Idempotent: an event's key is its record, time and id, so
   * storing the same event again (a retry, a recovery from a stamp) keeps one.
   */
  appendChangeEvents(events: ChangeEvent[]): Promise<void>;
  /** Change events of an account, newest first; of one record when `recordId` is given. */
  listChangeEvents(accountId: string, options: { recordId?: string; limit: number; cursor?: string }): Promise<Page<ChangeEvent>>;

  /**
   * Partitions of an account's change history that `readChangeWindow` reads, each on its
   * own (0 to changePartitions - 1): every event is in exactly one.
   */
  readonly changePartitions: number;
  /**
   * One page of the UPDATED events of one history partition that fall in `window`
   * (time, object type, actor and/or source), oldest first. `resumeAfter` is opaque:
   * pass the previous page's to go on; the last page has none. A page may be empty
   * and still have more after it.
   */
  readChangeWindow(accountId: string, window: ChangeWindow, partition: number, options: { limit: number; resumeAfter?: string }): Promise<ChangeWindowPage>;
}

export interface ChangeWindowPage {
  events: ChangeEvent[];
  resumeAfter?: string;
}
