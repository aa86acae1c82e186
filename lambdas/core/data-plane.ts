import type { Caller } from './caller.ts';
import { stampedEvent, storableChanges } from './change-events.ts';
import { EditConflictError, NotFoundError, ValidationError } from './errors.ts';
import { isRestorable, type ChangeEvent, type ChangeStamp, type CrmRecord, type ObjectType, type Page } from './model.ts';
import type { Clock } from './ports/clock.ts';
import type { IdGenerator } from './ports/ids.ts';
import type { ObjectTypeWithCount, RecordStore } from './ports/record-store.ts';

/**
 * The CRM data plane as any user of an account sees it: object types, records,
 * edits and the change events they leave. Backups read this data; restores write it.
 */

export interface DataPlaneDeps {
  records: RecordStore;
  clock: Clock;
  ids: IdGenerator;
}

export interface ObjectTypeSummary extends ObjectTypeWithCount {
  restorable: boolean;
}

/** Lists the caller's account's object types with their record counts. */
export async function listObjectTypes(caller: Caller, deps: DataPlaneDeps): Promise<{ items: ObjectTypeSummary[] }> {
  const types = await deps.records.listObjectTypes(caller.accountId);
  return { items: types.map((type) => ({ ...type, restorable: isRestorable(type) })) };
}

/** Loads an object type of the caller's account, or 404. */
export async function requireObjectType(accountId: string, name: string, records: RecordStore): Promise<ObjectTypeWithCount> {
  const objectType = await records.getObjectType(accountId, name);
  if (!objectType) throw new NotFoundError(`Object type "${name}"`);
  return objectType;
}

/** A page of records; every property of the type appears, blanks as "". */
export async function listRecords(
  caller: Caller,
  objectTypeName: string,
  page: { limit: number; cursor?: string },
  deps: DataPlaneDeps,
): Promise<Page<CrmRecord>> {
  const objectType = await requireObjectType(caller.accountId, objectTypeName, deps.records);
  const result = await deps.records.listRecords(caller.accountId, objectType.name, page);
  return { ...result, items: result.items.map((record) => withEveryProperty(record, objectType)) };
}

/** One record, or 404. */
export async function getRecord(caller: Caller, objectTypeName: string, recordId: string, deps: DataPlaneDeps): Promise<CrmRecord> {
  const objectType = await requireObjectType(caller.accountId, objectTypeName, deps.records);
  const record = await deps.records.getRecord(caller.accountId, objectType.name, recordId);
  if (!record) throw new NotFoundError(`Record "${recordId}"`);
  return withEveryProperty(record, objectType);
}

/**
 * Edits a record as a user.
 *
 * Primary course:
 *  1. Check every named property exists and may be written by people.
 *  2. Write only the values that differ, on condition that the record still exists
 *     and nobody changed those properties since we read them; the write stamps the
 *     record with its USER change event (less the new values, which the record holds).
 *  3. Store that change event: each property's before and after.
 * Alternate course: nothing differs, because this is a retry of an edit whose answer
 *  was lost (the function died after its write): the event, rebuilt from the stamp the
 *  edit left, is stored again under the same key, so the edit has exactly one event
 *  whether or not the first attempt stored it.
 */
export async function updateRecord(
  caller: Caller,
  objectTypeName: string,
  recordId: string,
  properties: Record<string, string>,
  deps: DataPlaneDeps,
): Promise<CrmRecord> {
  const objectType = await requireObjectType(caller.accountId, objectTypeName, deps.records);
  for (const name of Object.keys(properties)) {
    const definition = objectType.properties.find((property) => property.name === name);
    if (!definition) {
      throw new ValidationError(`"${name}" is not a property of ${objectType.pluralLabel.toLowerCase()}.`, { field: `properties.${name}` });
    }
    if (definition.readOnly || definition.calculated) {
      throw new ValidationError(`"${name}" is ${definition.calculated ? 'calculated' : 'read-only'} and cannot be edited.`, {
        field: `properties.${name}`,
      });
    }
  }
  const target = { accountId: caller.accountId, objectType: objectType.name, recordId };
  const current = (await deps.records.getStampedRecords(caller.accountId, objectType.name, [recordId])).get(recordId);
  if (!current) throw new NotFoundError(`Record "${recordId}"`);
  const changes = Object.entries(properties)
    .map(([property, to]) => ({ property, from: current.record.properties[property] ?? '', to }))
    .filter((change) => change.from !== change.to);
  if (changes.length === 0) {
    if (isRetryOf(current.stamp, caller, properties)) await deps.records.appendChangeEvents([stampedEvent(target, current.stamp!, current.record.properties)]);
    return withEveryProperty(current.record, objectType);
  }

  const stamp: ChangeStamp = {
    eventId: deps.ids.next('ce'),
    at: deps.clock.now().toISOString(),
    source: 'USER',
    actor: actorOf(caller),
    before: Object.fromEntries(changes.map((change) => [change.property, change.from])),
  };
  const outcome = await deps.records.updateRecord(
    caller.accountId,
    objectType.name,
    recordId,
    { set: Object.fromEntries(changes.map((change) => [change.property, change.to])) },
    { expect: stamp.before, stamp },
  );
  if (outcome.status === 'MISSING') throw new NotFoundError(`Record "${recordId}"`);
  if (outcome.status === 'CONFLICT') {
    throw new EditConflictError('The record changed while you were editing it; load it again and retry.');
  }
  await deps.records.appendChangeEvents([stampedEvent(target, stamp, outcome.after.properties)]);
  return withEveryProperty(outcome.after, objectType);
}

/**
 * Whether the record's last change is this caller's edit of (some of) these very
 * properties, already in place: a retry of an edit whose answer was lost.
 */
function isRetryOf(stamp: ChangeStamp | undefined, caller: Caller, properties: Record<string, string>): boolean {
  return stamp?.source === 'USER' && stamp.actor === actorOf(caller) && Object.keys(stamp.before).every((property) => property in properties);
}

/**
 * Deletes a record (it can come back through import, never through a restore), then
 * stores its DELETED change event. Unlike an edit, a deletion leaves no record to carry
 * a stamp: should the function die between the two writes, the deletion has no event
 * (a retry answers 404). Closing that would take the two writes in one transaction
 * (DynamoDB's TransactWriteItems), which the local stand-in does not offer, or a log
 * of deletions to replay (docs/reliability.md, "Exactly one change event per change").
 */
export async function deleteRecord(caller: Caller, objectTypeName: string, recordId: string, deps: DataPlaneDeps): Promise<void> {
  const objectType = await requireObjectType(caller.accountId, objectTypeName, deps.records);
  const deleted = await deps.records.deleteRecord(caller.accountId, objectType.name, recordId);
  if (!deleted) throw new NotFoundError(`Record "${recordId}"`);
  const changes = Object.entries(deleted.properties).map(([property, from]) => ({ property, from, to: '' }));
  await deps.records.appendChangeEvents([
    {
      id: deps.ids.next('ce'),
      accountId: caller.accountId,
      objectType: objectType.name,
      recordId,
      source: 'USER',
      actor: actorOf(caller),
      kind: 'DELETED',
      changes: storableChanges(changes),
      occurredAt: deps.clock.now().toISOString(),
    },
  ]);
}

/** Change events of the account, newest first, optionally of one record. */
export async function listChangeEvents(
  caller: Caller,
  query: { recordId?: string; limit: number; cursor?: string },
  deps: DataPlaneDeps,
): Promise<Page<ChangeEvent>> {
  return deps.records.listChangeEvents(caller.accountId, query);
}

/** Fills in every defined property, so that clients see blanks as "" rather than absent. */
export function withEveryProperty(record: CrmRecord, objectType: ObjectType): CrmRecord {
  const properties: Record<string, string> = {};
  for (const property of objectType.properties) properties[property.name] = record.properties[property.name] ?? '';
  return { id: record.id, properties };
}

/** How change events name a person: their email, or their user id when the token has none. */
function actorOf(caller: Caller): string {
  return caller.email || caller.userId;
}
