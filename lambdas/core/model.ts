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

/** One record change, kept so that workflows can react (and re-enrol on restores). */
export interface ChangeEvent {
  id: string;
  accountId: string;
  objectType: string;
  recordId: string;
  source: ChangeSource;
  /** The restore that made the change, when `source` is RESTORE. */
  restoreId?: string;
  actor: string;
  kind: 'UPDATED' | 'DELETED';
  changes: Array<{ property: string; from: string; to: string }>;
  occurredAt: string;
}

/** A page of a list, with an opaque cursor for the next page. */
export interface Page<T> {
  items: T[];
  nextCursor?: string;
}
