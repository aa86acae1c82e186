import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type { Account, ChangeEvent, ChangeStamp, ChangeWindow, CrmRecord, ObjectType, Page } from '#core/model.ts';
import type {
  ChangeWindowPage,
  ObjectTypeWithCount,
  RecordChange,
  RecordStore,
  SegmentPage,
  StampedRecord,
  UpdateOptions,
  UpdateOutcome,
} from '#core/ports/record-store.ts';
import { isConditionFailed, isItemTooLarge, rethrowTransient, sendDocumentCommand } from './aws-errors.ts';
import { z } from 'zod';
import { decodeCursor, encodeCursor, sortKey, type CursorScope } from './cursor.ts';

/**
 * Records of one object type are write-sharded over this many partitions
 * (`R#<account>#<type>#<segment>`). One DynamoDB partition serves ~3,000 reads and
 * ~1,000 writes a second; 16 of them let an export read 16 segments in parallel and a
 * restore write at ~16k/s without a hot key. Changing it re-homes every record.
 */
export const RECORD_SEGMENTS = 16;

const BATCH_GET_LIMIT = 100;
const BATCH_WRITE_LIMIT = 25;

interface RecordItem {
  pk: string;
  sk: string;
  /** Property values; blanks are absent rather than stored as "". */
  p: Record<string, string>;
  /** The stamp of the last stamped change (UpdateOptions.stamp), written with it. */
  st?: ChangeStamp;
}

/** The CRM data plane in one DynamoDB table (keys: see ARCHITECTURE.md). */
export class DynamoDbRecordStore implements RecordStore {
  readonly segmentCount = RECORD_SEGMENTS;
  /** The feed index's partitions, one per record segment, and the single one events went to before. */
  readonly changePartitions = RECORD_SEGMENTS + 1;
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;

  constructor(client: DynamoDBDocumentClient, tableName: string) {
    this.client = client;
    this.tableName = tableName;
  }

  async getAccount(accountId: string): Promise<Account | undefined> {
    const { Item } = await this.send(new GetCommand({ TableName: this.tableName, Key: { pk: accountKey(accountId), sk: 'ACCOUNT' } }), 'The account store');
    return Item ? { id: Item.id, name: Item.name, tier: Item.tier } : undefined;
  }

  async putAccount(account: Account): Promise<void> {
    await this.send(new PutCommand({ TableName: this.tableName, Item: { pk: accountKey(account.id), sk: 'ACCOUNT', ...account } }), 'The account store');
  }

  async listObjectTypes(accountId: string): Promise<ObjectTypeWithCount[]> {
    const items = await this.queryAll({
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': accountKey(accountId), ':prefix': 'OT#' },
    });
    return items.map(toObjectType);
  }

  async getObjectType(accountId: string, objectType: string): Promise<ObjectTypeWithCount | undefined> {
    const { Item } = await this.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: accountKey(accountId), sk: `OT#${objectType}` } }),
      'The object type store',
    );
    return Item ? toObjectType(Item) : undefined;
  }

  async putObjectType(accountId: string, objectType: ObjectType): Promise<void> {
    // Keeps the record counter when a definition is rewritten.
    await this.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: accountKey(accountId), sk: `OT#${objectType.name}` },
        UpdateExpression: 'SET #def = :def, #records = if_not_exists(#records, :zero)',
        ExpressionAttributeNames: { '#def': 'definition', '#records': 'records' },
        ExpressionAttributeValues: { ':def': objectType, ':zero': 0 },
      }),
      'The object type store',
    );
  }

  async listRecords(accountId: string, objectType: string, options: { limit: number; cursor?: string }): Promise<Page<CrmRecord>> {
    const scope: CursorScope = { list: 'records', accountId, within: objectType };
    // `k` is empty at a segment boundary: the next page starts that segment.
    let { s: segment, k: resumeAfter } =
      options.cursor !== undefined
        ? decodeCursor(options.cursor, scope, { s: z.number().int().min(0).max(this.segmentCount - 1), k: z.union([z.literal(''), sortKey]) })
        : { s: 0, k: '' };
    const items: CrmRecord[] = [];
    while (segment < this.segmentCount && items.length < options.limit) {
      const page = await this.readSegmentPage(accountId, objectType, segment, {
        limit: options.limit - items.length,
        resumeAfter: resumeAfter || undefined,
      });
      items.push(...page.records);
      if (page.resumeAfter) {
        resumeAfter = page.resumeAfter;
      } else {
        segment += 1;
        resumeAfter = '';
      }
    }
    if (segment >= this.segmentCount) return { items };
    // Segment boundary with nothing read from the next one yet: resume at its start.
    return { items, nextCursor: encodeCursor(scope, { s: segment, k: resumeAfter }) };
  }

  async readSegmentPage(
    accountId: string,
    objectType: string,
    segment: number,
    options: { limit: number; resumeAfter?: string },
  ): Promise<SegmentPage> {
    const pk = recordPartition(accountId, objectType, segment);
    const { Items = [], LastEvaluatedKey } = await this.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': pk },
        ExclusiveStartKey: options.resumeAfter ? { pk, sk: options.resumeAfter } : undefined,
        Limit: options.limit,
      }),
      'The record store',
    );
    return {
      records: (Items as RecordItem[]).map(toRecord),
      resumeAfter: LastEvaluatedKey ? String(LastEvaluatedKey.sk) : undefined,
    };
  }

  async getRecord(accountId: string, objectType: string, recordId: string): Promise<CrmRecord | undefined> {
    const { Item } = await this.send(
      new GetCommand({ TableName: this.tableName, Key: recordKey(accountId, objectType, recordId, this.segmentCount) }),
      'The record store',
    );
    return Item ? toRecord(Item as RecordItem) : undefined;
  }

  async getRecords(accountId: string, objectType: string, recordIds: string[]): Promise<Map<string, CrmRecord>> {
    const items = await this.batchGetRecordItems(accountId, objectType, recordIds);
    return new Map(items.map((item) => [item.sk, toRecord(item)]));
  }

  async getStampedRecords(accountId: string, objectType: string, recordIds: string[], { properties }: { properties?: string[] } = {}): Promise<Map<string, StampedRecord>> {
    const items = await this.batchGetRecordItems(accountId, objectType, recordIds, properties && projectionOf(properties));
    return new Map(items.map((item) => [item.sk, item.st ? { record: toRecord(item), stamp: item.st } : { record: toRecord(item) }]));
  }

  async putRecords(accountId: string, objectType: string, records: CrmRecord[]): Promise<void> {
    await this.batchWriteItems(
      records.map((record) => toItem(accountId, objectType, record, this.segmentCount)),
      'The record store',
    );
    await this.addToCount(accountId, objectType, records.length);
  }

  async updateRecord(
    accountId: string,
    objectType: string,
    recordId: string,
    change: RecordChange,
    options: UpdateOptions = {},
  ): Promise<UpdateOutcome> {
    if (Object.keys(change.set).length === 0) {
      const current = await this.getRecord(accountId, objectType, recordId);
      return current ? { status: 'UPDATED', before: current, after: current } : { status: 'MISSING' };
    }
    try {
      const { Attributes } = await this.client.send(new UpdateCommand(this.updateInput(accountId, objectType, recordId, change, options)));
      const before = toRecord(Attributes as RecordItem);
      const after: CrmRecord = { id: recordId, properties: { ...before.properties } };
      for (const [property, value] of Object.entries(change.set)) after.properties[property] = value;
      return { status: 'UPDATED', before, after };
    } catch (error) {
      if (options.stamp && isItemTooLarge(error)) {
        // The values before, kept beside the record's own, would take it past DynamoDB's
        // 400 KB: keep only which properties changed, and say so (an event rebuilt from
        // this stamp has its `from`s cut, like an event too large to store).
        const before = Object.fromEntries(Object.keys(options.stamp.before).map((property) => [property, '']));
        return this.updateRecord(accountId, objectType, recordId, change, { ...options, stamp: { ...options.stamp, before, truncated: true } });
      }
      if (!isConditionFailed(error)) rethrowTransient(error, 'The record store');
      const exists = await this.getRecord(accountId, objectType, recordId);
      return exists ? { status: 'CONFLICT' } : { status: 'MISSING' };
    }
  }

  /**
   * One UpdateItem: set (or, for "", remove) each property, keep the stamp, on condition
   * that the record exists, still holds every `expect`ed value and, with onlyIfDifferent,
   * does not already hold all the new ones.
   */
  private updateInput(accountId: string, objectType: string, recordId: string, change: RecordChange, options: UpdateOptions) {
    const names: Record<string, string> = { '#pk': 'pk', '#p': 'p' };
    const values: Record<string, unknown> = {};
    const sets: string[] = [];
    const removes: string[] = [];
    // "The record already holds this value", per property of the change (for onlyIfDifferent).
    const holds: string[] = [];
    Object.entries(change.set).forEach(([property, value], index) => {
      names[`#s${index}`] = property;
      if (value === '') {
        removes.push(`#p.#s${index}`);
        holds.push(`attribute_not_exists(#p.#s${index})`);
      } else {
        values[`:s${index}`] = value;
        sets.push(`#p.#s${index} = :s${index}`);
        holds.push(`#p.#s${index} = :s${index}`);
      }
    });
    if (options.stamp) {
      names['#st'] = 'st';
      values[':st'] = options.stamp;
      sets.push('#st = :st');
    }
    const conditions = ['attribute_exists(#pk)'];
    Object.entries(options.expect ?? {}).forEach(([property, value], index) => {
      names[`#e${index}`] = property;
      if (value === '') {
        conditions.push(`attribute_not_exists(#p.#e${index})`);
      } else {
        values[`:e${index}`] = value;
        conditions.push(`#p.#e${index} = :e${index}`);
      }
    });
    if (options.onlyIfDifferent && holds.length) conditions.push(`NOT (${holds.join(' AND ')})`);
    return {
      TableName: this.tableName,
      Key: recordKey(accountId, objectType, recordId, this.segmentCount),
      UpdateExpression: [sets.length ? `SET ${sets.join(', ')}` : '', removes.length ? `REMOVE ${removes.join(', ')}` : ''].filter(Boolean).join(' '),
      ConditionExpression: conditions.join(' AND '),
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: Object.keys(values).length ? values : undefined,
      ReturnValues: 'ALL_OLD' as const,
    };
  }

  async deleteRecord(accountId: string, objectType: string, recordId: string): Promise<CrmRecord | undefined> {
    const { Attributes } = await this.send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: recordKey(accountId, objectType, recordId, this.segmentCount),
        ReturnValues: 'ALL_OLD',
      }),
      'The record store',
    );
    if (!Attributes) return undefined;
    await this.addToCount(accountId, objectType, -1);
    return toRecord(Attributes as RecordItem);
  }

  async appendChangeEvents(events: ChangeEvent[]): Promise<void> {
    await this.batchWriteItems(
      events.map((event) => ({
        pk: `CE#${event.accountId}#${event.recordId}`,
        sk: `${event.occurredAt}#${event.id}`,
        gsi1pk: feedPartition(event.accountId, segmentOf(event.recordId, this.segmentCount)),
        gsi1sk: `${event.occurredAt}#${event.id}`,
        event,
      })),
      'The change event store',
    );
  }

  async listChangeEvents(accountId: string, options: { recordId?: string; limit: number; cursor?: string }): Promise<Page<ChangeEvent>> {
    // One record's events and the account's feed are different lists: a cursor serves the one it came from.
    const scope: CursorScope = { list: 'change-events', accountId, within: options.recordId };
    const after = options.cursor !== undefined ? decodeCursor(options.cursor, scope, { k: sortKey }).k : undefined;
    if (options.recordId !== undefined) {
      const page = await this.queryEventsNewestFirst({ pk: `CE#${accountId}#${options.recordId}` }, options.limit, after);
      return { items: page.events.map((entry) => entry.event), nextCursor: page.more && page.events.length ? encodeCursor(scope, { k: page.events.at(-1)!.sk }) : undefined };
    }
    // The account's feed is spread over one index partition per record segment (one
    // partition would cap a big restore's events at ~1,000 writes/s), plus the single
    // partition events were written to before. Sort keys (time#id) are unique across
    // them, so one position serves as the cursor: every partition is read after it and
    // the newest `limit` of the merge form the page.
    const partitions = [...Array.from({ length: this.segmentCount }, (_, shard) => feedPartition(accountId, shard)), `CE#${accountId}`];
    const pages = await Promise.all(partitions.map((gsi1pk) => this.queryEventsNewestFirst({ gsi1pk }, options.limit, after)));
    const merged = pages.flatMap((page) => page.events).sort((a, b) => (a.sk < b.sk ? 1 : a.sk > b.sk ? -1 : 0));
    const events = merged.slice(0, options.limit);
    const more = merged.length > options.limit || pages.some((page) => page.more);
    return { items: events.map((entry) => entry.event), nextCursor: more && events.length ? encodeCursor(scope, { k: events.at(-1)!.sk }) : undefined };
  }

  /**
   * A window of the history is a key range of each feed partition (`gsi1sk` is
   * `<time>#<id>`), so what is read grows with the account's events in the window,
   * never with the table: the object type, actor and source are filters over that
   * range. A dedicated index per actor or source was the alternative; it would cost a
   * second index write on every edit of every record, for a read that runs rarely.
   */
  async readChangeWindow(accountId: string, window: ChangeWindow, partition: number, options: { limit: number; resumeAfter?: string }): Promise<ChangeWindowPage> {
    const gsi1pk = partition < this.segmentCount ? feedPartition(accountId, partition) : `CE#${accountId}`;
    const names: Record<string, string> = { '#pk': 'gsi1pk', '#sk': 'gsi1sk', '#e': 'event', '#type': 'objectType', '#kind': 'kind' };
    const values: Record<string, unknown> = { ':pk': gsi1pk, ':from': window.from, ':to': `${window.to}#~`, ':type': window.objectType, ':updated': 'UPDATED' };
    const filters = ['#e.#type = :type', '#e.#kind = :updated'];
    if (window.actor !== undefined) {
      names['#actor'] = 'actor';
      values[':actor'] = window.actor;
      filters.push('#e.#actor = :actor');
    }
    if (window.source !== undefined) {
      names['#source'] = 'source';
      values[':source'] = window.source;
      filters.push('#e.#source = :source');
    }
    const { Items = [], LastEvaluatedKey } = await this.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: 'gsi1',
        // ISO times order as text; `~` sorts after every event id, so events at `to` are in.
        KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
        FilterExpression: filters.join(' AND '),
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ExclusiveStartKey: options.resumeAfter ? windowPosition.parse(JSON.parse(options.resumeAfter)) : undefined,
        Limit: options.limit,
      }),
      'The change event store',
    );
    return {
      events: (Items as Array<{ event: ChangeEvent }>).map((item) => item.event),
      // An index's position names the table's key too; the service keeps it, never a request.
      resumeAfter: LastEvaluatedKey ? JSON.stringify(LastEvaluatedKey) : undefined,
    };
  }

  /** One page of one change-event partition (the table's, or the feed index's), newest first. */
  private async queryEventsNewestFirst(
    partition: { pk: string } | { gsi1pk: string },
    limit: number,
    after: string | undefined,
  ): Promise<{ events: Array<{ sk: string; event: ChangeEvent }>; more: boolean }> {
    const [pkName, pk, skName, indexName] = 'pk' in partition ? ['pk', partition.pk, 'sk', undefined] : ['gsi1pk', partition.gsi1pk, 'gsi1sk', 'gsi1'];
    const { Items = [], LastEvaluatedKey } = await this.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: indexName,
        KeyConditionExpression: after ? `#pk = :pk AND #sk < :after` : '#pk = :pk',
        ExpressionAttributeNames: after ? { '#pk': pkName, '#sk': skName } : { '#pk': pkName },
        ExpressionAttributeValues: { ':pk': pk, ...(after ? { ':after': after } : {}) },
        ScanIndexForward: false,
        Limit: limit,
      }),
      'The change event store',
    );
    const events = (Items as Array<Record<string, unknown> & { event: ChangeEvent }>).map((item) => ({ sk: String(item[skName]), event: item.event }));
    return { events, more: LastEvaluatedKey !== undefined };
  }

  private async addToCount(accountId: string, objectType: string, delta: number): Promise<void> {
    if (delta === 0) return;
    await this.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: accountKey(accountId), sk: `OT#${objectType}` },
        UpdateExpression: 'ADD #records :delta',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#records': 'records' },
        ExpressionAttributeValues: { ':delta': delta },
      }),
      'The object type store',
    );
  }

  /** BatchGetItem in chunks of 100, retrying unprocessed keys with backoff. */
  private async batchGetRecordItems(accountId: string, objectType: string, recordIds: string[], projection?: Projection): Promise<RecordItem[]> {
    const items: RecordItem[] = [];
    const unique = [...new Set(recordIds)];
    for (let start = 0; start < unique.length; start += BATCH_GET_LIMIT) {
      let keys: Array<Record<string, unknown>> | undefined = unique
        .slice(start, start + BATCH_GET_LIMIT)
        .map((id) => recordKey(accountId, objectType, id, this.segmentCount));
      for (let attempt = 0; keys && keys.length > 0; attempt += 1) {
        if (attempt > 0) await backoff(attempt);
        const result = await this.send(new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys, ...projection } } }), 'The record store');
        items.push(...((result.Responses?.[this.tableName] ?? []) as RecordItem[]));
        keys = result.UnprocessedKeys?.[this.tableName]?.Keys;
      }
    }
    return items;
  }

  /** BatchWriteItem puts in chunks of 25, retrying unprocessed items with backoff. */
  private async batchWriteItems(items: object[], what: string): Promise<void> {
    for (let start = 0; start < items.length; start += BATCH_WRITE_LIMIT) {
      let requests: Array<Record<string, unknown>> | undefined = items
        .slice(start, start + BATCH_WRITE_LIMIT)
        .map((Item) => ({ PutRequest: { Item } }));
      for (let attempt = 0; requests && requests.length > 0; attempt += 1) {
        if (attempt > 0) await backoff(attempt);
        const result = await this.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: requests } }), what);
        requests = result.UnprocessedItems?.[this.tableName];
      }
    }
  }

  private async queryAll(input: ConstructorParameters<typeof QueryCommand>[0]): Promise<Array<Record<string, unknown>>> {
    const items: Array<Record<string, unknown>> = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.send(new QueryCommand({ ...input, ExclusiveStartKey }), 'The account store');
      items.push(...(page.Items ?? []));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return items;
  }

  /** Sends a document-client command, turning throttling into TransientError. */
  // The document client's per-command overloads do not survive a generic wrapper, hence `any`.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  private async send(command: any, what: string): Promise<any> {
    return sendDocumentCommand(this.client, command, what);
  }

}

function accountKey(accountId: string): string {
  return `A#${accountId}`;
}

/** Which segment a record lives in: a stable hash of its id (FNV-1a). */
export function segmentOf(recordId: string, segmentCount: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < recordId.length; i += 1) {
    hash ^= recordId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % segmentCount;
}

function recordPartition(accountId: string, objectType: string, segment: number): string {
  return `R#${accountId}#${objectType}#${String(segment).padStart(2, '0')}`;
}

/** Where a window's page of the feed index ends: the index's key and the table's. */
const windowPosition = z.strictObject({ pk: z.string(), sk: z.string(), gsi1pk: z.string(), gsi1sk: z.string() });

/** The index partition of an account's change-event feed that holds the events of one record segment. */
function feedPartition(accountId: string, shard: number): string {
  return `CE#${accountId}#feed-${shard}`;
}

function recordKey(accountId: string, objectType: string, recordId: string, segmentCount: number) {
  return { pk: recordPartition(accountId, objectType, segmentOf(recordId, segmentCount)), sk: recordId };
}

function toItem(accountId: string, objectType: string, record: CrmRecord, segmentCount: number): RecordItem {
  const p: Record<string, string> = {};
  for (const [name, value] of Object.entries(record.properties)) if (value !== '') p[name] = value;
  return { ...recordKey(accountId, objectType, record.id, segmentCount), p };
}

type Projection = { ProjectionExpression: string; ExpressionAttributeNames: Record<string, string> };

/**
 * A record's key, stamp and the given properties only. DynamoDB bills the whole item
 * either way; what it saves is the answer's size and the client's work unmarshalling
 * it, which is most of what reading a record costs the caller.
 */
function projectionOf(properties: string[]): Projection {
  // DynamoDB refuses a name the expression does not use, so `#p` only with a property.
  const names: Record<string, string> = { '#sk': 'sk', '#st': 'st', ...(properties.length ? { '#p': 'p' } : {}) };
  properties.forEach((property, index) => (names[`#p${index}`] = property));
  return { ProjectionExpression: ['#sk', '#st', ...properties.map((_, index) => `#p.#p${index}`)].join(', '), ExpressionAttributeNames: names };
}

function toRecord(item: RecordItem): CrmRecord {
  return { id: item.sk, properties: { ...(item.p ?? {}) } };
}

function toObjectType(item: Record<string, any>): ObjectTypeWithCount {
  return { ...(item.definition as ObjectType), records: Number(item.records ?? 0) };
}

async function backoff(attempt: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 25 * 2 ** attempt)));
}
