import type { HubSpotObjectType, HubSpotProperty, StoredRecord } from './model.ts';

/**
 * How records leave and enter the stand-in: `SimplePublicObject` out (the client's
 * model), `properties` maps in. Pure functions over one object type.
 */

/** `SimplePublicObject`, with times as ISO strings (the client turns them into `Date`s). */
export interface PublicObject {
  id: string;
  properties: Record<string, string | null>;
  propertiesWithHistory?: Record<string, Array<{ value: string; timestamp: string; sourceType: string }>>;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
  archivedAt?: string;
}

/** The properties of a type that records can carry (archived definitions cannot be read or written). */
export function liveProperties(type: HubSpotObjectType): Map<string, HubSpotProperty> {
  return new Map(type.properties.filter((property) => !property.archived).map((property) => [property.name, property]));
}

/**
 * A record as HubSpot answers it: the requested properties (or the type's defaults),
 * plus the create date, modify date and `hs_object_id` always; a defined property
 * without a value is `null`, a name that is not defined is left out (HUBSPOT.md §2).
 * Keys come sorted, as HubSpot sends them.
 */
export function presentRecord(
  type: HubSpotObjectType,
  defined: Map<string, HubSpotProperty>,
  record: StoredRecord,
  requested: readonly string[] | undefined,
  withHistory: readonly string[] = [],
): PublicObject {
  const names = new Set([...(requested ?? type.defaultProperties), type.createdProperty, type.modifiedProperty, 'hs_object_id']);
  const properties: Record<string, string | null> = {};
  for (const name of [...names].sort()) {
    if (!defined.has(name)) continue;
    properties[name] = valueOf(type, record, name);
  }
  const updatedAt = new Date(record.updatedAt).toISOString();
  const presented: PublicObject = {
    id: String(record.id),
    properties,
    createdAt: new Date(record.createdAt).toISOString(),
    updatedAt,
    archived: record.archivedAt !== undefined,
    ...(record.archivedAt !== undefined ? { archivedAt: new Date(record.archivedAt).toISOString() } : {}),
  };
  const history = withHistory.filter((name) => defined.has(name));
  if (history.length) {
    // Only the current value: the stand-in keeps no history (docs/hubspot-stand-in.md).
    presented.propertiesWithHistory = Object.fromEntries(
      history.map((name) => {
        const value = valueOf(type, record, name);
        return [name, value === null ? [] : [{ value, timestamp: updatedAt, sourceType: 'API' }]];
      }),
    );
  }
  return presented;
}

function valueOf(type: HubSpotObjectType, record: StoredRecord, name: string): string | null {
  if (name === 'hs_object_id') return String(record.id);
  if (name === type.createdProperty) return new Date(record.createdAt).toISOString();
  if (name === type.modifiedProperty) return new Date(record.updatedAt).toISOString();
  return record.values[name] ?? null;
}

/** Why one property of an update is refused, in HubSpot's words. */
export interface PropertyProblem {
  name: string;
  code: 'PROPERTY_DOESNT_EXIST' | 'READ_ONLY_VALUE' | 'INVALID_VALUE';
  message: string;
}

/**
 * Checks an update's `properties` against the type: unknown and read-only properties
 * are errors ("Read-only and non-existent properties will result in an error", HubSpot's
 * PATCH description). `null` values are ignored there, so they are not checked.
 */
export function checkUpdate(defined: Map<string, HubSpotProperty>, properties: Record<string, unknown>): PropertyProblem[] {
  const problems: PropertyProblem[] = [];
  for (const [name, value] of Object.entries(properties)) {
    if (value === null) continue;
    const definition = defined.get(name);
    if (!definition) problems.push({ name, code: 'PROPERTY_DOESNT_EXIST', message: `Property "${name}" does not exist` });
    else if (definition.modificationMetadata.readOnlyValue || definition.calculated)
      problems.push({ name, code: 'READ_ONLY_VALUE', message: `"${name}" is a read only property; its value cannot be set.` });
    else if (typeof value === 'object') problems.push({ name, code: 'INVALID_VALUE', message: `${JSON.stringify(value)} is not a valid value for "${name}"` });
  }
  return problems;
}

/** Applies an update: `""` clears, `null` is ignored, anything else is stored as its string. */
export function applyUpdate(values: Record<string, string>, properties: Record<string, unknown>): Record<string, string> {
  const next = { ...values };
  for (const [name, value] of Object.entries(properties)) {
    if (value === null || value === undefined) continue;
    if (value === '') delete next[name];
    else next[name] = String(value);
  }
  return next;
}

/** HubSpot's sentence for refused property values: the list of problems as JSON, as it sends it. */
export function invalidPropertiesMessage(problems: PropertyProblem[], portalId: number): string {
  const items = problems.map((problem) => ({ isValid: false, message: problem.message, error: problem.code, name: problem.name, localizedErrorMessage: problem.message, portalId }));
  return `Property values were not valid: ${JSON.stringify(items)}`;
}

/** The `errors` detail list of a validation error (`ErrorDetail` of the client's models). */
export function problemDetails(problems: PropertyProblem[]) {
  return problems.map((problem) => ({ message: problem.message, code: problem.code, context: { propertyName: [problem.name] } }));
}

/** Whether any of `names` is a sensitive or highly sensitive property (their values need sensitive scopes). */
export function sensitivityOf(defined: Map<string, HubSpotProperty>, names: Iterable<string>): { sensitive: boolean; highlySensitive: boolean } {
  let sensitive = false;
  let highlySensitive = false;
  for (const name of names) {
    const level = defined.get(name)?.dataSensitivity;
    if (level === 'sensitive') sensitive = true;
    if (level === 'highly_sensitive') highlySensitive = true;
  }
  return { sensitive, highlySensitive };
}
