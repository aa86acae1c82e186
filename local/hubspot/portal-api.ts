import { batchError, errorReply, missingScopes, notFound, validationError, type BatchError, type HubSpotReply } from './errors.ts';
import type { DataSensitivity, HubSpotObjectType, PortalSettings, TokenGrant } from './model.ts';
import { nextLocalMidnight, utcOffsetMs, type PortalRateLimiter } from './rate-limits.ts';
import {
  applyUpdate,
  checkUpdate,
  invalidPropertiesMessage,
  liveProperties,
  presentRecord,
  problemDetails,
  sensitivityOf,
  type PublicObject,
} from './records.ts';
import { highlySensitive, requireScope } from './scopes.ts';
import type { HubSpotStore } from './store.ts';

/** One admitted request to a portal: the token's grant, the time, the path without `/hubspot`. */
export interface RequestContext {
  portal: PortalSettings;
  grant: TokenGrant;
  now: Date;
  url: URL;
  method: string;
  body: Buffer;
}

/** A failure a test asked for on chosen records. */
export interface InjectedFailure {
  operation: 'read' | 'update';
  category: string;
  message: string;
}

/** HubSpot's page size limits: 100 per page and per batch, 50 when history is asked for (HUBSPOT.md §2, §3, §10). */
const MAX_PAGE = 100;
const MAX_PAGE_WITH_HISTORY = 50;
const DEFAULT_PAGE = 10;

/**
 * The endpoints of HubSpot's API the stand-in serves, over one portal's store. Each
 * method answers exactly what HubSpot answers (docs/hubspot-stand-in.md), never throws
 * for bad input, and reads or writes only the rows the request names.
 */
export class PortalApi {
  private readonly failures = new Map<string, InjectedFailure>();

  private readonly store: HubSpotStore;
  private readonly limiter: PortalRateLimiter;

  constructor(store: HubSpotStore, limiter: PortalRateLimiter) {
    this.store = store;
    this.limiter = limiter;
  }

  failRecords(portalId: number, objectTypeId: string, ids: string[], failure: InjectedFailure): void {
    for (const id of ids) this.failures.set(`${portalId}/${objectTypeId}/${failure.operation}/${id}`, failure);
  }

  clearFailures(): void {
    this.failures.clear();
  }

  // Records -------------------------------------------------------------------------

  /** `GET /crm/v3/objects/{type}`: one page in id order after the opaque `after`. */
  listRecords(context: RequestContext, typeName: string): HubSpotReply {
    const type = this.objectType(context, typeName);
    if (isReply(type)) return type;
    const requested = listParameter(context.url, 'properties');
    const history = listParameter(context.url, 'propertiesWithHistory') ?? [];
    const refused = requireScope(context.grant, [type.scopes.read, type.scopes.write]) ?? this.refuseSensitiveRead(context, type, [...(requested ?? []), ...history]);
    if (refused) return refused;
    const limit = pageLimit(context.url, history.length ? MAX_PAGE_WITH_HISTORY : MAX_PAGE);
    if (isReply(limit)) return limit;
    const after = afterParameter(context.url);
    if (isReply(after)) return after;
    const archived = context.url.searchParams.get('archived') === 'true';
    const rows = this.store.listRecords(context.portal.portalId, type.objectTypeId, archived, after, limit + 1);
    const defined = liveProperties(type);
    const page = rows.slice(0, limit);
    const results = page.map((record) => presentRecord(type, defined, record, requested, history));
    const next = rows.length > limit ? encodeAfter(page[page.length - 1]!.id) : undefined;
    return { status: 200, body: { results, ...(next ? { paging: { next: { after: next, link: `?after=${next}` } } } : {}) } };
  }

  /** `GET /crm/v3/objects/{type}/{id}`. */
  getRecord(context: RequestContext, typeName: string, id: string): HubSpotReply {
    const type = this.objectType(context, typeName);
    if (isReply(type)) return type;
    const requested = listParameter(context.url, 'properties');
    const history = listParameter(context.url, 'propertiesWithHistory') ?? [];
    const refused =
      requireScope(context.grant, [type.scopes.read, type.scopes.write]) ??
      this.refuseSensitiveRead(context, type, [...(requested ?? []), ...history]) ??
      refuseIdProperty(context.url.searchParams.get('idProperty'));
    if (refused) return refused;
    const failure = this.failure(context, type, 'read', id);
    if (failure) return errorReply(400, failure.category, failure.message);
    const record = this.findRecord(context, type, id, context.url.searchParams.get('archived') === 'true');
    if (!record) return notFound('resource not found');
    return { status: 200, body: presentRecord(type, liveProperties(type), record, requested, history) };
  }

  /** `PATCH /crm/v3/objects/{type}/{id}`: `""` clears, `null` is ignored, read-only and unknown properties are a 400. */
  updateRecord(context: RequestContext, typeName: string, id: string): HubSpotReply {
    const type = this.objectType(context, typeName);
    if (isReply(type)) return type;
    const input = parseJson(context.body);
    if (isReply(input)) return input;
    const properties = propertiesOf(input.json);
    if (!properties) return validationError('Invalid input JSON: "properties" must be an object of property names and values.');
    const refused =
      requireScope(context.grant, [type.scopes.write]) ??
      this.refuseSensitiveWrite(context, type, writtenNames(properties)) ??
      refuseIdProperty(context.url.searchParams.get('idProperty'));
    if (refused) return refused;
    const record = this.findRecord(context, type, id, false);
    if (!record) return notFound('resource not found');
    const failure = this.failure(context, type, 'update', id);
    if (failure) return errorReply(400, failure.category, failure.message);
    const defined = liveProperties(type);
    const problems = checkUpdate(defined, properties);
    if (problems.length) return validationError(invalidPropertiesMessage(problems, context.portal.portalId), { errors: problemDetails(problems) });
    const updated = { ...record, values: applyUpdate(record.values, properties), updatedAt: context.now.getTime() };
    this.store.updateRecordValues(context.portal.portalId, type.objectTypeId, record.id, updated.values, updated.updatedAt);
    return { status: 200, body: presentRecord(type, defined, updated, Object.keys(properties)) };
  }

  /** `DELETE /crm/v3/objects/{type}/{id}`: moves the record to the recycling bin; 204 even when there is nothing to archive, as HubSpot does. */
  archiveRecord(context: RequestContext, typeName: string, id: string): HubSpotReply {
    const type = this.objectType(context, typeName);
    if (isReply(type)) return type;
    const refused = requireScope(context.grant, [type.scopes.write]);
    if (refused) return refused;
    if (/^\d+$/.test(id)) this.store.archiveRecord(context.portal.portalId, type.objectTypeId, Number(id), context.now.getTime());
    return { status: 204 };
  }

  /**
   * `POST /crm/v3/objects/{type}/batch/read`: 200 when every id is found, 207 with
   * `errors` when some are missing or fail, 404 when none is found (HUBSPOT.md §3).
   */
  batchRead(context: RequestContext, typeName: string): HubSpotReply {
    const type = this.objectType(context, typeName);
    if (isReply(type)) return type;
    const input = parseJson(context.body);
    if (isReply(input)) return input;
    const body = input.json;
    const history = stringList(body.propertiesWithHistory) ?? [];
    const requested = stringList(body.properties);
    const inputs = batchInputs(body.inputs, history.length ? MAX_PAGE_WITH_HISTORY : MAX_PAGE);
    if (isReply(inputs)) return inputs;
    const refused =
      requireScope(context.grant, [type.scopes.read, type.scopes.write]) ??
      this.refuseSensitiveRead(context, type, [...(requested ?? []), ...history]) ??
      refuseIdProperty(body.idProperty);
    if (refused) return refused;
    const archived = context.url.searchParams.get('archived') === 'true';
    const startedAt = context.now.toISOString();
    const defined = liveProperties(type);
    const results: PublicObject[] = [];
    const missing: string[] = [];
    const failed = new FailureGroups();
    for (const id of new Set(inputs.map((item) => String((item as { id?: unknown }).id ?? '')))) {
      const failure = this.failure(context, type, 'read', id);
      const record = failure ? undefined : this.findRecord(context, type, id, archived);
      if (failure) failed.add(failure, id);
      else if (!record) missing.push(id);
      else results.push(presentRecord(type, defined, record, requested, history));
    }
    const notFoundMessage = `Could not get some ${type.errorName} objects, they may be deleted or not exist. Check that ids are valid.`;
    if (!results.length && missing.length && failed.isEmpty())
      return errorReply(404, 'OBJECT_NOT_FOUND', notFoundMessage, { context: { ids: missing } });
    const errors = [...(missing.length ? [batchError('OBJECT_NOT_FOUND', notFoundMessage, { ids: missing })] : []), ...failed.errors()];
    return batchReply(results, errors, startedAt, context.now);
  }

  /**
   * `POST /crm/v3/objects/{type}/batch/update`: each input is written whole or not at
   * all; failures (missing or archived ids, unknown or read-only properties, injected
   * failures) come back in `errors` of a 207, as HubSpot answers since 2020
   * (changelog "Simplifying batch update response codes for CRM v3 APIs").
   */
  batchUpdate(context: RequestContext, typeName: string): HubSpotReply {
    const type = this.objectType(context, typeName);
    if (isReply(type)) return type;
    const input = parseJson(context.body);
    if (isReply(input)) return input;
    const inputs = batchInputs(input.json.inputs, MAX_PAGE);
    if (isReply(inputs)) return inputs;
    const updates: Array<{ id: string; properties: Record<string, unknown> }> = [];
    for (const item of inputs) {
      const { id, properties } = item as { id?: unknown; properties?: unknown };
      const values = propertiesOf({ properties });
      if (typeof id !== 'string' || !values) return validationError('Invalid input JSON: every input needs an "id" string and a "properties" object.');
      updates.push({ id, properties: values });
    }
    const duplicates = [...new Set(updates.map((update) => update.id).filter((id, index, ids) => ids.indexOf(id) !== index))];
    if (duplicates.length) return validationError(`Duplicate IDs found in batch input: [${duplicates.join(', ')}]. IDs must be unique`);
    const refused =
      requireScope(context.grant, [type.scopes.write]) ??
      this.refuseSensitiveWrite(context, type, updates.flatMap((update) => writtenNames(update.properties)));
    if (refused) return refused;

    const startedAt = context.now.toISOString();
    const defined = liveProperties(type);
    const results: PublicObject[] = [];
    const missing: string[] = [];
    const failed = new FailureGroups();
    const invalid: BatchError[] = [];
    this.store.transaction(() => {
      for (const update of updates) {
        const record = this.findRecord(context, type, update.id, false);
        const failure = this.failure(context, type, 'update', update.id);
        if (!record) {
          missing.push(update.id);
          continue;
        }
        if (failure) {
          failed.add(failure, update.id);
          continue;
        }
        const problems = checkUpdate(defined, update.properties);
        if (problems.length) {
          invalid.push(batchError('VALIDATION_ERROR', invalidPropertiesMessage(problems, context.portal.portalId), { ids: [update.id] }, problemDetails(problems)));
          continue;
        }
        const written = { ...record, values: applyUpdate(record.values, update.properties), updatedAt: context.now.getTime() };
        this.store.updateRecordValues(context.portal.portalId, type.objectTypeId, record.id, written.values, written.updatedAt);
        results.push(presentRecord(type, defined, written, Object.keys(update.properties)));
      }
    });
    const errors = [
      ...(missing.length
        ? [batchError('OBJECT_NOT_FOUND', `Could not update some ${type.errorName} objects, they may be deleted or not exist. Check that ids are valid.`, { ids: missing })]
        : []),
      ...failed.errors(),
      ...invalid,
    ];
    return batchReply(results, errors, startedAt, context.now);
  }

  // Definitions ---------------------------------------------------------------------

  /**
   * `GET /crm/v3/properties/{type}`: one sensitivity level per call, `non_sensitive`
   * unless `dataSensitivity` says otherwise (HUBSPOT.md §4); `archived=true` gives only
   * archived definitions. Any object read scope will do; sensitive scopes are not needed
   * for definitions (HubSpot's sensitive data guide).
   */
  listProperties(context: RequestContext, typeName: string): HubSpotReply {
    const type = this.objectType(context, typeName);
    if (isReply(type)) return type;
    const anyRead = this.store.objectTypes(context.portal.portalId).flatMap((candidate) => [candidate.scopes.read, candidate.scopes.write]);
    if (!anyRead.some((scope) => context.grant.scopes.includes(scope))) return missingScopes([type.scopes.read]);
    const sensitivity = context.url.searchParams.get('dataSensitivity') ?? 'non_sensitive';
    if (!['non_sensitive', 'sensitive', 'highly_sensitive'].includes(sensitivity))
      return validationError(`Invalid dataSensitivity "${sensitivity}": use non_sensitive, sensitive or highly_sensitive.`);
    const archived = context.url.searchParams.get('archived') === 'true';
    const names = listParameter(context.url, 'properties');
    const results = type.properties.filter(
      (property) => property.archived === archived && property.dataSensitivity === (sensitivity as DataSensitivity) && (!names || names.includes(property.name)),
    );
    return { status: 200, body: { results } };
  }

  /** `GET /crm-object-schemas/v3/schemas` (and `/crm/v3/schemas`): custom objects only, with every property definition. */
  listSchemas(context: RequestContext): HubSpotReply {
    const refused = requireScope(context.grant, ['crm.schemas.custom.read', 'crm.objects.custom.read']);
    if (refused) return refused;
    const archived = context.url.searchParams.get('archived') === 'true';
    const results = archived ? [] : this.store.objectTypes(context.portal.portalId).filter((type) => type.custom).map(toSchema);
    return { status: 200, body: { results } };
  }

  getSchema(context: RequestContext, typeName: string): HubSpotReply {
    const refused = requireScope(context.grant, ['crm.schemas.custom.read', 'crm.objects.custom.read']);
    if (refused) return refused;
    const type = this.findType(context.portal.portalId, typeName);
    if (!type?.custom) return notFound(`Unable to find object schema ${typeName}`);
    return { status: 200, body: toSchema(type) };
  }

  // Conversations and account -------------------------------------------------------

  /** `GET /conversations/v3/conversations/threads`: `PublicThread`s in id order, paged like CRM lists. */
  listThreads(context: RequestContext): HubSpotReply {
    const refused = requireScope(context.grant, ['conversations.read']);
    if (refused) return refused;
    const limit = pageLimit(context.url, MAX_PAGE);
    if (isReply(limit)) return limit;
    const after = afterParameter(context.url);
    if (isReply(after)) return after;
    const archived = context.url.searchParams.get('archived') === 'true';
    const rows = this.store.listThreads(context.portal.portalId, archived, after, limit + 1);
    const page = rows.slice(0, limit);
    const next = rows.length > limit ? encodeAfter(Number(page[page.length - 1]!.id)) : undefined;
    return { status: 200, body: { results: page, ...(next ? { paging: { next: { after: next, link: `?after=${next}` } } } : {}) } };
  }

  /** `GET /account-info/v3/details` (`PortalInformationResponse`). */
  accountDetails(context: RequestContext): HubSpotReply {
    const refused = requireScope(context.grant, ['oauth']);
    if (refused) return refused;
    const { portal } = context;
    const offset = utcOffsetMs(context.now.getTime(), portal.timeZone);
    const hours = Math.floor(Math.abs(offset) / 3_600_000);
    const minutes = Math.floor((Math.abs(offset) % 3_600_000) / 60_000);
    return {
      status: 200,
      body: {
        portalId: portal.portalId,
        accountType: portal.accountType,
        timeZone: portal.timeZone,
        companyCurrency: portal.companyCurrency,
        additionalCurrencies: [],
        utcOffset: `${offset < 0 ? '-' : '+'}${String(hours).padStart(2, '0')}:${String(minutes).padStart(2, '0')}`,
        utcOffsetMilliseconds: offset,
        uiDomain: portal.uiDomain,
        dataHostingLocation: portal.dataHostingLocation,
      },
    };
  }

  /** `GET /account-info/v3/api-usage/daily/private-apps` (`ApiUsage`). */
  dailyApiUsage(context: RequestContext): HubSpotReply {
    const refused = requireScope(context.grant, ['oauth']);
    if (refused) return refused;
    const usage = this.limiter.dailyUsage(context.portal);
    return {
      status: 200,
      body: {
        results: [
          {
            name: 'private-apps-api-calls-daily',
            usageLimit: usage.usageLimit,
            currentUsage: usage.currentUsage,
            collectedAt: context.now.toISOString(),
            fetchStatus: 'SUCCESS',
            resetsAt: nextLocalMidnight(context.now.getTime(), context.portal.timeZone).toISOString(),
          },
        ],
      },
    };
  }

  // Helpers -------------------------------------------------------------------------

  /** An object type by objectTypeId (`0-1`, `2-…`), path name, custom `p_<name>` or fully qualified name. */
  private findType(portalId: number, name: string): HubSpotObjectType | undefined {
    return this.store
      .objectTypes(portalId)
      .find((type) => type.objectTypeId === name || type.name === name || (type.custom && (name === `p_${type.name}` || name === type.fullyQualifiedName)));
  }

  private objectType(context: RequestContext, name: string): HubSpotObjectType | HubSpotReply {
    return this.findType(context.portal.portalId, name) ?? validationError(`Unable to infer object type from: ${name}`);
  }

  private findRecord(context: RequestContext, type: HubSpotObjectType, id: string, archived: boolean) {
    if (!/^\d{1,15}$/.test(id)) return undefined;
    const record = this.store.getRecord(context.portal.portalId, type.objectTypeId, Number(id));
    return record && record.archived === archived ? record : undefined;
  }

  private failure(context: RequestContext, type: HubSpotObjectType, operation: InjectedFailure['operation'], id: string) {
    return this.failures.get(`${context.portal.portalId}/${type.objectTypeId}/${operation}/${id}`);
  }

  /** Values of sensitive properties need the type's sensitive read scope (highly sensitive ones their own). */
  private refuseSensitiveRead(context: RequestContext, type: HubSpotObjectType, names: string[]): HubSpotReply | undefined {
    const { sensitive, highlySensitive: highly } = sensitivityOf(liveProperties(type), names);
    if (highly) return requireScope(context.grant, [highlySensitive(type.scopes.sensitiveRead)]);
    if (sensitive) return requireScope(context.grant, [type.scopes.sensitiveRead, highlySensitive(type.scopes.sensitiveRead)]);
    return undefined;
  }

  private refuseSensitiveWrite(context: RequestContext, type: HubSpotObjectType, names: string[]): HubSpotReply | undefined {
    const { sensitive, highlySensitive: highly } = sensitivityOf(liveProperties(type), names);
    if (highly) return requireScope(context.grant, [highlySensitive(type.scopes.sensitiveWrite)]);
    if (sensitive) return requireScope(context.grant, [type.scopes.sensitiveWrite, highlySensitive(type.scopes.sensitiveWrite)]);
    return undefined;
  }
}

/** Errors of injected failures, one entry per (category, message) with its ids. */
class FailureGroups {
  private readonly groups = new Map<string, { failure: InjectedFailure; ids: string[] }>();

  add(failure: InjectedFailure, id: string): void {
    const key = `${failure.category}\u0000${failure.message}`;
    const group = this.groups.get(key) ?? { failure, ids: [] };
    group.ids.push(id);
    this.groups.set(key, group);
  }

  isEmpty(): boolean {
    return this.groups.size === 0;
  }

  errors(): BatchError[] {
    return [...this.groups.values()].map(({ failure, ids }) => batchError(failure.category, failure.message, { ids }));
  }
}

function isReply(value: unknown): value is HubSpotReply {
  return typeof value === 'object' && value !== null && 'status' in value && typeof (value as HubSpotReply).status === 'number' && !Array.isArray(value);
}

/** `BatchResponseSimplePublicObject` (200) or `...WithErrors` (207). */
function batchReply(results: PublicObject[], errors: BatchError[], startedAt: string, now: Date): HubSpotReply {
  const body = { status: 'COMPLETE', results, requestedAt: startedAt, startedAt, completedAt: now.toISOString() };
  return errors.length ? { status: 207, body: { ...body, numErrors: errors.reduce((sum, error) => sum + (error.context.ids?.length ?? 1), 0), errors } } : { status: 200, body };
}

/** A list parameter sent repeated (`properties=a&properties=b`, the client) or comma-separated (`properties=a,b`, the docs). */
function listParameter(url: URL, name: string): string[] | undefined {
  const values = url.searchParams.getAll(name);
  if (!values.length) return undefined;
  return values.flatMap((value) => value.split(',')).map((value) => value.trim()).filter(Boolean);
}

/** `limit`: 10 when absent; above the maximum HubSpot gives the maximum (documented behaviour above 100 is unconfirmed). */
function pageLimit(url: URL, max: number): number | HubSpotReply {
  const raw = url.searchParams.get('limit');
  if (raw === null) return Math.min(DEFAULT_PAGE, max);
  const limit = Number(raw);
  if (!Number.isInteger(limit) || limit < 1) return validationError(`Invalid limit "${raw}": use a whole number from 1 to ${max}.`);
  return Math.min(limit, max);
}

/**
 * The cursor is the last id served, base64 with its `=` percent-encoded, as HubSpot's
 * own cursors look (`NTI1Cg%3D%3D`). Clients must pass it back untouched; one that
 * decodes it once is accepted too.
 */
export function encodeAfter(id: number): string {
  return encodeURIComponent(Buffer.from(`${id}\n`).toString('base64'));
}

function afterParameter(url: URL): number | HubSpotReply {
  const raw = url.searchParams.get('after');
  if (raw === null || raw === '') return 0;
  let text = raw;
  try {
    if (text.includes('%')) text = decodeURIComponent(text);
  } catch {
    // not percent-encoded after all: read it as it is
  }
  const decoded = Buffer.from(text, 'base64').toString('utf8').trim();
  if (!/^\d{1,15}$/.test(decoded)) return validationError(`Invalid after "${raw}": pass the paging.next.after of the previous page unchanged.`);
  return Number(decoded);
}

/** The body as a JSON object, wrapped so that a body with a `status` field is never mistaken for a reply. */
function parseJson(body: Buffer): { json: Record<string, unknown> } | HubSpotReply {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return validationError('Invalid input JSON: the body must be a JSON object.');
    return { json: value as Record<string, unknown> };
  } catch (error) {
    return validationError(`Invalid input JSON: ${(error as Error).message}`);
  }
}

function propertiesOf(input: unknown): Record<string, unknown> | undefined {
  const properties = (input as { properties?: unknown }).properties;
  return typeof properties === 'object' && properties !== null && !Array.isArray(properties) ? (properties as Record<string, unknown>) : undefined;
}

function writtenNames(properties: Record<string, unknown>): string[] {
  return Object.entries(properties)
    .filter(([, value]) => value !== null)
    .map(([name]) => name);
}

function stringList(value: unknown): string[] | undefined {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : undefined;
}

/** `inputs` of a batch call: an array of at most `max` (HubSpot's 400 body otherwise). */
function batchInputs(value: unknown, max: number): unknown[] | HubSpotReply {
  if (!Array.isArray(value)) return validationError('Invalid input JSON: "inputs" must be an array.');
  if (value.length > max)
    return validationError(`The maximum number of inputs supported in a batch is ${max}. Please reduce the number of items and try again`);
  return value;
}

/** Reads by a unique property (`idProperty`) are HubSpot's; the stand-in serves record ids only, and says so. */
function refuseIdProperty(value: unknown): HubSpotReply | undefined {
  return value === null || value === undefined || value === '' || value === 'hs_object_id'
    ? undefined
    : validationError(`idProperty "${String(value)}" is not supported by the HubSpot stand-in: use record ids.`);
}

function toSchema(type: HubSpotObjectType) {
  return {
    id: type.objectTypeId.split('-')[1],
    objectTypeId: type.objectTypeId,
    name: type.name,
    fullyQualifiedName: type.fullyQualifiedName,
    labels: type.labels,
    metaType: 'PORTAL_SPECIFIC',
    primaryDisplayProperty: type.primaryDisplayProperty,
    secondaryDisplayProperties: [],
    requiredProperties: [type.primaryDisplayProperty],
    searchableProperties: [type.primaryDisplayProperty],
    properties: type.properties.filter((property) => !property.archived),
    associations: [{ id: '1', name: `${type.name}_to_contact`, fromObjectTypeId: type.objectTypeId, toObjectTypeId: '0-1' }],
    archived: false,
    createdAt: type.createdAt,
    updatedAt: type.createdAt,
  };
}
