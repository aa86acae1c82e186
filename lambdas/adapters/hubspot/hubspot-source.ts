import { StepFailedError, ValidationError } from '#core/errors.ts';
import type { CrmRecord } from '#core/model.ts';
import { takeBackChanges, takenBack, type AppliedChange, type ApplyRequest, type DataSource, type RecordTarget, type SourceObjectType, type SourcePage, type StreamPosition } from '#core/ports/data-source.ts';
import type { Conflict, PlannedChange } from '#core/restore-model.ts';
import { diff } from '#core/restores/restore-policy.ts';
import { asStepFailure, HubSpotRequestError, type HubSpotApi } from './hubspot-api.ts';
import { BUDGET_SHARE, type PortalLimits } from './request-budget.ts';
import {
  CONVERSATIONS,
  customType,
  STANDARD_TYPES,
  THREAD_PROPERTIES,
  toPropertyDefinition,
  type HubSpotPropertyJson,
  type HubSpotTypeRef,
} from './hubspot-object-types.ts';

/** HubSpot's most records per list page and per batch call (HUBSPOT.md §2-3). */
export const HUBSPOT_BATCH = 100;
/**
 * Longest path and query a list request may have. HubSpot answers 414 to long URLs
 * without saying where the limit is (HUBSPOT.md §2); proxies commonly stop at 8 KB.
 * Past this, the properties that do not fit are read with a batch read (names in the
 * body) for the page's ids.
 */
export const MAX_LIST_URL_BYTES = 6000;

/**
 * About how long HubSpot takes to answer a batch call of 100 (assumed; the stand-in
 * answers at once): with the budget's pace it sizes `applyConcurrency`.
 */
const BATCH_ANSWER_MS = 300;
/** A restore apply invocation's requests in flight: its next round's batch read while this round's batch update runs. */
const REQUESTS_PER_APPLY = 2;

export interface HubSpotSourceOptions {
  api: HubSpotApi;
  /** The portal's rate limit as last seen: the budget every call is paced by. */
  limits: PortalLimits;
  portalId: number;
  /** The API's base URL (its path counts towards the URL length). */
  baseUrl: string;
  maxListUrlBytes?: number;
}

type PublicObject = { id: string; properties: Record<string, string | null> };
type BatchAnswer = { results: PublicObject[]; errors?: Array<{ category?: string; message?: string; context?: { ids?: string[] } }> };

/**
 * A HubSpot portal as a data source, on the official client (HubSpotApi: every call
 * paced by the portal's shared budget).
 *
 * - Object types: the standard ones, every custom object (schemas API) and
 *   conversations (threads: backed up, never restored); properties of every
 *   sensitivity (`dataSensitivity` through `apiRequest`, since the client hides it).
 * - Reading: one stream per type (HubSpot pages with a single opaque `after`), 100
 *   records a page with every property; properties that do not fit in the URL are
 *   read for the page's ids with one batch read.
 * - Restoring: today's values in one batch read, then one batch update of the records
 *   that still differ (`""` clears); a 207's errors are per-record failures, a record
 *   archived or deleted is missing. HubSpot has no conditional write
 *   (`conditionalWrites: false`): a record edited between the read and the write is
 *   overwritten, as HubSpot's own restore does. HubSpot keeps the property history.
 */
export class HubSpotSource implements DataSource {
  readonly kind = 'hubspot';
  readonly streams = 1;
  readonly conditionalWrites = false;
  /**
   * Apply invocations at once: as many as keep the portal's budget busy (its pace ×
   * HubSpot's answer time ÷ each invocation's requests in flight; Professional: 3). The
   * budget paces every call whatever this is: more invocations would only wait in it.
   */
  readonly applyConcurrency: number;
  private readonly options: HubSpotSourceOptions;
  private customTypes: Promise<HubSpotTypeRef[]> | undefined;
  private readonly definitions = new Map<string, Promise<SourceObjectType>>();

  constructor(options: HubSpotSourceOptions) {
    this.options = options;
    const requestsPerMs = (options.limits.perWindow * BUDGET_SHARE) / options.limits.windowMs;
    this.applyConcurrency = Math.max(1, Math.ceil((requestsPerMs * BATCH_ANSWER_MS) / REQUESTS_PER_APPLY));
  }

  private get api(): HubSpotApi {
    return this.options.api;
  }

  async listObjectTypes(): Promise<SourceObjectType[]> {
    const refs = [...STANDARD_TYPES, CONVERSATIONS, ...(await this.customs())];
    return Promise.all(refs.map((ref) => this.definition(ref)));
  }

  async getObjectType(name: string): Promise<SourceObjectType | undefined> {
    const ref = await this.findRef(name);
    return ref ? this.definition(ref) : undefined;
  }

  async readPage(objectType: string, properties: string[], position: StreamPosition): Promise<SourcePage> {
    const ref = await this.requireRef(objectType);
    try {
      return ref === CONVERSATIONS ? await this.threadPage(position.resumeAfter) : await this.recordPage(ref, properties, position.resumeAfter);
    } catch (error) {
      throw asStepFailure(error);
    }
  }

  async readRecords(objectType: string, ids: string[], properties: string[]): Promise<Map<string, CrmRecord>> {
    const ref = await this.requireRef(objectType);
    if (ref === CONVERSATIONS) throw new ValidationError('Conversations cannot be read by id, nor restored.', { field: 'objectType' });
    const found = new Map<string, CrmRecord>();
    for (let start = 0; start < ids.length; start += HUBSPOT_BATCH) {
      for (const record of await this.batchRead(ref, ids.slice(start, start + HUBSPOT_BATCH), properties)) found.set(record.id, record);
    }
    return found;
  }

  async applyChanges(request: ApplyRequest, writeAllowed: Promise<void> = Promise.resolve()): Promise<AppliedChange[]> {
    const ref = await this.requireRef(request.objectType);
    if (ref === CONVERSATIONS) throw new ValidationError('Conversations cannot be restored.', { field: 'objectType' });
    // 100 records at a time, a round being bigger: each batch update comes right after
    // the batch read its records are compared with.
    const applied: AppliedChange[] = [];
    for (let start = 0; start < request.records.length; start += HUBSPOT_BATCH) {
      applied.push(...(await this.applyBatch(ref, request.objectType, request.records.slice(start, start + HUBSPOT_BATCH), writeAllowed)));
    }
    return applied;
  }

  /** Up to 100 records: one batch read, then one batch update of those that differ. */
  private async applyBatch(ref: HubSpotTypeRef, objectType: string, targets: RecordTarget[], writeAllowed: Promise<void>): Promise<AppliedChange[]> {
    const properties = [...new Set(targets.flatMap((target) => Object.keys(target.values)))];
    const today = await this.readRecords(objectType, targets.map((target) => target.id), properties);
    await writeAllowed;
    const applied = new Map<string, AppliedChange>();
    const writes: Array<{ id: string; changes: PlannedChange[]; conflicts: Conflict[] }> = [];
    for (const target of targets) {
      const current = today.get(target.id);
      // No conditional writes: a change taken back is compared with the read just made, so
      // an edit in the second between this read and the batch update would be overwritten.
      const { changes, conflicts } = !current ? { changes: [], conflicts: [] } : target.ifUnchanged ? takeBackChanges(target, current.properties) : { changes: diff(current, target.values), conflicts: [] };
      if (!current) applied.set(target.id, { id: target.id, outcome: 'missing' });
      else if (changes.length === 0) applied.set(target.id, takenBack(target.id, [], conflicts));
      else writes.push({ id: target.id, changes, conflicts });
    }
    if (writes.length) {
      const inputs = writes.map((write) => ({ id: write.id, properties: Object.fromEntries(write.changes.map((change) => [change.property, change.to])) }));
      const answer = await this.batchUpdate(ref, inputs);
      const changesOf = new Map(writes.map((write) => [write.id, write]));
      for (const result of answer.results) {
        const write = changesOf.get(result.id);
        if (write) applied.set(result.id, takenBack(result.id, write.changes, write.conflicts));
      }
      for (const error of answer.errors ?? []) {
        for (const id of error.context?.ids ?? []) {
          if (!changesOf.has(id)) continue;
          // Archived or deleted between the read and the write: missing, as a restore never re-creates records.
          applied.set(id, error.category === 'OBJECT_NOT_FOUND' ? { id, outcome: 'missing' } : { id, outcome: 'failed', reason: refusalReason(error) });
        }
      }
    }
    return targets.map((target) => applied.get(target.id) ?? { id: target.id, outcome: 'failed', reason: 'HubSpot did not say whether it updated this record.' });
  }

  // Object types ---------------------------------------------------------------------

  private customs(): Promise<HubSpotTypeRef[]> {
    this.customTypes ??= this.api
      .call(() => this.api.client.crm.schemas.coreApi.getAllWithHttpInfo(false))
      // `objectTypeId` is optional in the client's model; a schema is always answered with one, and its id is the fallback.
      .then((answer) => answer.results.map((schema) => customType({ name: schema.name, objectTypeId: schema.objectTypeId ?? schema.id, labels: schema.labels })));
    this.customTypes.catch(() => (this.customTypes = undefined));
    return this.customTypes;
  }

  private async findRef(name: string): Promise<HubSpotTypeRef | undefined> {
    const known = [...STANDARD_TYPES, CONVERSATIONS].find((ref) => ref.name === name);
    if (known || !name.startsWith('p_')) return known;
    return (await this.customs()).find((ref) => ref.name === name);
  }

  private async requireRef(name: string): Promise<HubSpotTypeRef> {
    const ref = await this.findRef(name);
    if (!ref) throw new StepFailedError(`The HubSpot portal has no object type "${name}" any more.`);
    return ref;
  }

  /** A type's definition: every property of every sensitivity level it can hold, archived definitions left out. */
  private definition(ref: HubSpotTypeRef): Promise<SourceObjectType> {
    let definition = this.definitions.get(ref.name);
    if (!definition) {
      definition = this.readDefinition(ref);
      definition.catch(() => this.definitions.delete(ref.name));
      this.definitions.set(ref.name, definition);
    }
    return definition;
  }

  private async readDefinition(ref: HubSpotTypeRef): Promise<SourceObjectType> {
    const base = { name: ref.name, label: ref.label, pluralLabel: ref.pluralLabel, custom: ref.custom };
    if (ref === CONVERSATIONS) return { ...base, properties: THREAD_PROPERTIES };
    const levels = ref.holdsSensitive ? ['non_sensitive', 'sensitive', 'highly_sensitive'] : ['non_sensitive'];
    const answers = await Promise.all(
      levels.map((dataSensitivity) =>
        this.api.request<{ results: HubSpotPropertyJson[] }>({ path: `/crm/v3/properties/${encodeURIComponent(ref.pathType)}`, qs: { dataSensitivity, archived: false } }),
      ),
    );
    const seen = new Set<string>();
    const properties = answers
      .flatMap((answer) => answer.results)
      .filter((property) => !property.archived && !seen.has(property.name) && seen.add(property.name))
      .map(toPropertyDefinition);
    return { ...base, properties };
  }

  // Reading --------------------------------------------------------------------------

  private async recordPage(ref: HubSpotTypeRef, properties: string[], after: string | undefined): Promise<SourcePage> {
    const [inUrl, ...rest] = this.propertyGroups(ref, properties, after);
    const page = await this.api.call(() =>
      this.api.client.crm.objects.basicApi.getPageWithHttpInfo(ref.pathType, HUBSPOT_BATCH, after, inUrl, undefined, undefined, false),
    );
    let records = page.results.map(toRecord);
    const others = rest.flat();
    if (others.length && records.length) {
      const more = new Map((await this.batchRead(ref, records.map((record) => record.id), others)).map((record) => [record.id, record]));
      // A record archived between the two reads is left out, as if the page had been read a moment later.
      records = records.filter((record) => more.has(record.id)).map((record) => ({ id: record.id, properties: { ...record.properties, ...more.get(record.id)!.properties } }));
    }
    const next = page.paging?.next?.after;
    return next ? { records, resumeAfter: next } : { records };
  }

  /**
   * The properties that fit in a list request's URL, then the rest (read by batch read).
   * Counts the path, the fixed parameters and `&properties=<name>` per name, encoded.
   */
  private propertyGroups(ref: HubSpotTypeRef, properties: string[], after: string | undefined): string[][] {
    const max = this.options.maxListUrlBytes ?? MAX_LIST_URL_BYTES;
    const base = new URL(this.options.baseUrl).pathname.length + `/crm/v3/objects/${encodeURIComponent(ref.pathType)}?limit=100&archived=false`.length + (after ? `&after=${encodeURIComponent(after)}`.length : 0);
    let bytes = base;
    const inUrl: string[] = [];
    const rest: string[] = [];
    for (const name of properties) {
      const cost = `&properties=${encodeURIComponent(name)}`.length;
      if (rest.length === 0 && bytes + cost <= max) {
        inUrl.push(name);
        bytes += cost;
      } else {
        rest.push(name);
      }
    }
    return rest.length ? [inUrl, rest] : [inUrl];
  }

  private async threadPage(after: string | undefined): Promise<SourcePage> {
    const page = await this.api.request<{ results: Array<Record<string, unknown>>; paging?: { next?: { after?: string } } }>({
      path: '/conversations/v3/conversations/threads',
      qs: { limit: HUBSPOT_BATCH, after, archived: false },
    });
    const records = page.results.map((thread) => ({
      id: String(thread.id),
      properties: Object.fromEntries(THREAD_PROPERTIES.filter((property) => thread[property.name] !== undefined && thread[property.name] !== null).map((property) => [property.name, String(thread[property.name])])),
    }));
    const next = page.paging?.next?.after;
    return next ? { records, resumeAfter: next } : { records };
  }

  /**
   * Up to 100 records by id, not archived; absent ones are left out (a 207's errors, or a
   * 404 when none is found). Batch calls go through `apiRequest` and come back as plain
   * JSON: the typed batchApi turns every record into the client's models (a Date per
   * timestamp, a copy per property map) that are dropped at once, which was 40 % of what
   * a restore allocated and a quarter of its CPU (docs/hubspot.md).
   */
  private async batchRead(ref: HubSpotTypeRef, ids: string[], properties: string[]): Promise<CrmRecord[]> {
    try {
      const answer = await this.api.request<{ results: PublicObject[] }>({
        method: 'POST',
        path: `/crm/v3/objects/${encodeURIComponent(ref.pathType)}/batch/read`,
        qs: { archived: false },
        body: { properties, propertiesWithHistory: [], inputs: ids.map((id) => ({ id })) },
      });
      return answer.results.map(toRecord);
    } catch (error) {
      if (error instanceof HubSpotRequestError && error.status === 404) return [];
      throw asStepFailure(error);
    }
  }

  private async batchUpdate(ref: HubSpotTypeRef, inputs: Array<{ id: string; properties: Record<string, string> }>): Promise<BatchAnswer> {
    try {
      // A 207 is an answer, not a refusal: the errors are in its body (HUBSPOT.md §3).
      return await this.api.request<BatchAnswer>({ method: 'POST', path: `/crm/v3/objects/${encodeURIComponent(ref.pathType)}/batch/update`, body: { inputs } });
    } catch (error) {
      throw asStepFailure(error);
    }
  }
}

/** A HubSpot record as ours: its values, with HubSpot's `null` (no value) left out as a blank. */
function toRecord(object: PublicObject): CrmRecord {
  const properties: Record<string, string> = {};
  for (const [name, value] of Object.entries(object.properties ?? {})) if (value !== null && value !== undefined && value !== '') properties[name] = String(value);
  return { id: object.id, properties };
}

/** Why HubSpot refused one record of a batch update, in its words, kept short enough to list. */
function refusalReason(error: { category?: string; message?: string }): string {
  const message = error.message ?? 'no reason given';
  return `HubSpot refused the update (${error.category ?? 'ERROR'}): ${message.length > 500 ? `${message.slice(0, 500)}…` : message}`;
}
