import type { AnomalyCheck } from './alert-model.ts';

/**
 * The shapes the domain works with. Plain data: what is stored, what the API answers,
 * what state machines pass between steps.
 */

export type Tier = 'starter' | 'professional' | 'enterprise';

/** A CRM account (a tenant). */
export interface Account {
  id: string;
  name: string;
  tier: Tier;
}

export type PropertyType = 'string' | 'number' | 'date' | 'datetime' | 'enumeration' | 'bool' | 'phone' | 'email' | 'text';

/** A property definition of an object type. */
export interface PropertyDefinition {
  /** Internal name: the CSV header and the key in `record.properties`. */
  name: string;
  label: string;
  type: PropertyType;
  /** Set by the CRM, never by users or restores. */
  readOnly: boolean;
  /** Derived from other data (a rollup, a score): cannot be restored. */
  calculated: boolean;
  /** Holds personal or secret data: included in backups, flagged in the UI. */
  sensitive: boolean;
}

/** An object type of an account: a standard one (contacts, deals...) or a custom one. */
export interface ObjectType {
  /** Internal name: `contacts`, or a custom object's name like `p_vehicles`. */
  name: string;
  label: string;
  pluralLabel: string;
  custom: boolean;
  properties: PropertyDefinition[];
}

/** Conversations are backed up but cannot be restored (PRODUCT.md, Restore 1). */
export const NON_RESTORABLE_OBJECT_TYPES: ReadonlySet<string> = new Set(['conversations']);

export function isRestorable(objectType: Pick<ObjectType, 'name'>): boolean {
  return !NON_RESTORABLE_OBJECT_TYPES.has(objectType.name);
}

/** A property a restore may write: neither read-only nor calculated. */
export function isRestorableProperty(property: PropertyDefinition): boolean {
  return !property.readOnly && !property.calculated;
}

/** A CRM record: an id and string property values; a blank is `""`. */
export interface CrmRecord {
  id: string;
  properties: Record<string, string>;
}

/** Who made a change to a record. */
export type ChangeSource = 'USER' | 'RESTORE';

/**
 * Who a revert looks for in the change history: people and integrations sign their
 * changes with a source. IMPORT and INTEGRATION are named by sources that write them
 * (a connected CRM's history, an import); the built-in CRM writes USER and RESTORE.
 */
export const CHANGE_SOURCES = ['USER', 'IMPORT', 'INTEGRATION', 'RESTORE'] as const;
export type ChangeSourceName = (typeof CHANGE_SOURCES)[number];

/**
 * A slice of an account's change history: one object type's property changes made in
 * [from, to] (ISO times, both included) by one actor, one source, or one actor through
 * one source. At least one of `actor` and `source` is set.
 */
export interface ChangeWindow {
  objectType: string;
  actor?: string;
  source?: ChangeSourceName;
  from: string;
  to: string;
}

/** One record change, kept so that workflows can react (and re-enrol on restores). */
export interface ChangeEvent {
  id: string;
  accountId: string;
  objectType: string;
  recordId: string;
  source: ChangeSource;
  /** The restore that made the change, when `source` is RESTORE. */
  restoreId?: string;
  /** When that restore is an UNDO: the restore it takes back. */
  undoOf?: string;
  /** When that restore is a REVERT: what it takes back. */
  revertOf?: string;
  actor: string;
  kind: 'UPDATED' | 'DELETED';
  /** `truncated`: the values were shortened so the event fits in storage (change-events.ts); the record holds them whole. */
  changes: Array<{ property: string; from: string; to: string; truncated?: boolean }>;
  occurredAt: string;
}

/**
 * What a change leaves on the record it changed, in the same single-item write: its
 * change event less the `to` values, which the record itself holds. It makes a change
 * event recoverable after a crash between the record's write and the event's: the
 * event is rebuilt from the record, with the same id and time, and stored again
 * idempotently (ARCHITECTURE.md, "Exactly one change event per change").
 */
export interface ChangeStamp {
  /** The change event's id. */
  eventId: string;
  /** When the change was made: the event's `occurredAt`. */
  at: string;
  source: ChangeSource;
  actor: string;
  /** The restore (or undo, or revert) that made the change. */
  restoreId?: string;
  /** An undo's: the restore it takes back. */
  undoOf?: string;
  /** A revert's: what it takes back. */
  revertOf?: string;
  /** The value each changed property held before ("" = blank); the event's `from`s. */
  before: Record<string, string>;
  /** The values before were too large to keep beside the record's own (DynamoDB's 400 KB per item): `before` names the properties, with "". */
  truncated?: true;
}

/** A page of a list, with an opaque cursor for the next page. */
export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

export type BackupStatus = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'EXPIRED';

/** One object type's part of a backup (API.md, "A backup"). */
export interface BackupObject {
  objectType: string;
  /** Records exported so far (final once the backup SUCCEEDED). */
  records: number;
  /** Name of its CSV inside the zip; absent for a type with no records. */
  file?: string;
  /** SHA-256 (hex) of the CSV's bytes, as the manifest lists it. */
  sha256?: string;
  /** Uncompressed CSV size in bytes. */
  bytes?: number;
  status?: 'PENDING' | 'EXPORTING' | 'EXPORTED';
}

/** A backup of one account, as the API answers it and the app table keeps it. */
export interface Backup {
  id: string;
  accountId: string;
  status: BackupStatus;
  trigger: 'api' | 'schedule';
  /** Email of the super admin who asked, or `schedule`. */
  requestedBy: string;
  createdAt: string;
  completedAt?: string;
  /** completedAt + 14 days: after it the API answers 410 and S3 lifecycle has deleted the file. */
  expiresAt?: string;
  /** Size of the zip in bytes. */
  sizeBytes?: number;
  objects?: BackupObject[];
  /** Why it failed, in words a person understands. */
  error?: string;
  /** S3 key of the zip (never shown: downloads go through presigned URLs). */
  zipKey?: string;
  /** The comparison with the previous backup after it SUCCEEDED: the history's badge. */
  anomalyCheck?: AnomalyCheck;
}

/** What the backup state machine hands its steps: which backup (the execution name is its id). */
export interface BackupRef {
  accountId: string;
  backupId: string;
}

/** `manifest.json` inside every backup zip (API.md, "The zip"). */
export interface BackupManifest {
  accountId: string;
  backupId: string;
  completedAt: string;
  files: Array<{ name: string; objectType: string; records: number; bytes: number; sha256: string }>;
}

/** Backups can be downloaded, and restored from, for this long after completion. */
export const BACKUP_RETENTION_DAYS = 14;
