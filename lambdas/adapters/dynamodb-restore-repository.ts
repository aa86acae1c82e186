import { GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Page } from '#core/model.ts';
import type { ImportLog, RestorePatch, RestoreRepository } from '#core/ports/restore-repository.ts';
import type { ImportEntry, RestoreStatus, SegmentProgress, StoredPlan, StoredRestore } from '#core/restore-model.ts';
import { sendConditionalWrite, sendDocumentCommand } from './aws-errors.ts';
import { decodeCursor, encodeCursor, sortKeyWithPrefix, type CursorScope } from './cursor.ts';
import { updateIfStatus } from './update-if-status.ts';

/**
 * Plans, restores, segment progress and imports in the app table, under the account's
 * partition `ACCOUNT#<id>`: sk `PLAN#<planId>` (TTL at its expiry), `RESTORE#<id>`,
 * `RPROG#<restoreId>#<segment>` (one item per segment, so parallel batches never
 * contend), `IMPORT#<id>`. Ids are time-ordered, so reverse Queries list newest first.
 */
export class DynamoDbRestoreRepository implements RestoreRepository, ImportLog {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;

  constructor(client: DynamoDBDocumentClient, tableName: string) {
    this.client = client;
    this.tableName = tableName;
  }

  async putPlan(plan: StoredPlan): Promise<void> {
    await this.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: partition(plan.accountId), sk: `PLAN#${plan.id}`, plan, ttl: Math.ceil(Date.parse(plan.expiresAt) / 1000) },
      }),
    );
  }

  async getPlan(accountId: string, planId: string): Promise<StoredPlan | undefined> {
    // Consistent: the planning step reads the checkpoint the API or its previous run just wrote.
    const { Item } = await this.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: partition(accountId), sk: `PLAN#${planId}` }, ConsistentRead: true }),
    );
    return Item?.plan as StoredPlan | undefined;
  }

  async savePlan(plan: StoredPlan, fromRecords?: number): Promise<boolean> {
    return sendConditionalWrite(
      this.client,
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: partition(plan.accountId), sk: `PLAN#${plan.id}`, plan, ttl: Math.ceil(Date.parse(plan.expiresAt) / 1000) },
        ConditionExpression: `#plan.#status = :planning${fromRecords === undefined ? '' : ' AND #plan.#records = :from'}`,
        ExpressionAttributeNames: { '#plan': 'plan', '#status': 'status', ...(fromRecords === undefined ? {} : { '#records': 'recordsInBackup' }) },
        ExpressionAttributeValues: { ':planning': 'PLANNING', ...(fromRecords === undefined ? {} : { ':from': fromRecords }) },
      }),
      'The restore store',
    );
  }

  async claimPlanCheck(accountId: string, planId: string, at: string, staleBefore: string): Promise<boolean> {
    return sendConditionalWrite(
      this.client,
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: partition(accountId), sk: `PLAN#${planId}` },
        // Beside `plan`, not in it: it is bookkeeping, never part of the plan's view.
        // A checkpoint (a whole-item put) drops it, which only makes the next check due.
        UpdateExpression: 'SET planCheckedAt = :at',
        ConditionExpression: '#plan.#status = :planning AND (attribute_not_exists(planCheckedAt) OR planCheckedAt < :staleBefore)',
        ExpressionAttributeNames: { '#plan': 'plan', '#status': 'status' },
        ExpressionAttributeValues: { ':at': at, ':staleBefore': staleBefore, ':planning': 'PLANNING' },
      }),
      'The restore store',
    );
  }

  async createRestore(restore: StoredRestore): Promise<void> {
    await sendConditionalWrite(
      this.client,
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: partition(restore.accountId), sk: `RESTORE#${restore.id}`, ...restore },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
      'The restore store',
    );
  }

  async getRestore(accountId: string, restoreId: string): Promise<StoredRestore | undefined> {
    const { Item } = await this.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: partition(accountId), sk: `RESTORE#${restoreId}` }, ConsistentRead: true }),
    );
    return Item ? toRestore(Item) : undefined;
  }

  async listRestores(accountId: string, options: { limit: number; cursor?: string }): Promise<Page<StoredRestore>> {
    const page = await this.listPrefix({ list: 'restores', accountId }, 'RESTORE#', options);
    return { items: page.items.map(toRestore), nextCursor: page.nextCursor };
  }

  async updateRestore(accountId: string, restoreId: string, patch: RestorePatch, fromStatuses: RestoreStatus[]): Promise<boolean> {
    return updateIfStatus(this.client, { TableName: this.tableName, Key: { pk: partition(accountId), sk: `RESTORE#${restoreId}` } }, patch, fromStatuses, 'The restore store');
  }

  async claimNotification(accountId: string, restoreId: string, at: string): Promise<boolean> {
    return sendConditionalWrite(
      this.client,
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: partition(accountId), sk: `RESTORE#${restoreId}` },
        UpdateExpression: 'SET notifiedAt = :at',
        ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(notifiedAt)',
        ExpressionAttributeValues: { ':at': at },
      }),
      'The restore store',
    );
  }

  async getSegmentProgress(accountId: string, restoreId: string, segment: number): Promise<SegmentProgress | undefined> {
    const { Item } = await this.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: partition(accountId), sk: progressKey(restoreId, segment) }, ConsistentRead: true }),
    );
    return Item ? toProgress(Item) : undefined;
  }

  async saveSegmentProgress(accountId: string, restoreId: string, segment: number, progress: SegmentProgress, fromIndex: number): Promise<boolean> {
    return sendConditionalWrite(
      this.client,
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: partition(accountId), sk: progressKey(restoreId, segment), restoreId, segment, ...progress },
        ConditionExpression: fromIndex === 0 ? 'attribute_not_exists(pk) OR #cursor.#index = :from' : '#cursor.#index = :from',
        ExpressionAttributeNames: { '#cursor': 'cursor', '#index': 'index' },
        ExpressionAttributeValues: { ':from': fromIndex },
      }),
      'The restore store',
    );
  }

  async listSegmentProgress(accountId: string, restoreId: string): Promise<SegmentProgress[]> {
    const items: SegmentProgress[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': partition(accountId), ':prefix': `RPROG#${restoreId}#` },
          ExclusiveStartKey,
          ConsistentRead: true,
        }),
      );
      items.push(...(page.Items ?? []).map(toProgress));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return items;
  }

  async put(entry: ImportEntry): Promise<void> {
    await this.send(new PutCommand({ TableName: this.tableName, Item: { pk: partition(entry.accountId), sk: `IMPORT#${entry.id}`, entry } }));
  }

  async list(accountId: string, options: { limit: number; cursor?: string }): Promise<Page<ImportEntry>> {
    const page = await this.listPrefix({ list: 'imports', accountId }, 'IMPORT#', options);
    return { items: page.items.map((item) => item.entry as ImportEntry), nextCursor: page.nextCursor };
  }

  /** A reverse page of the account's items under one sort-key prefix. */
  private async listPrefix(scope: CursorScope, prefix: string, options: { limit: number; cursor?: string }) {
    const accountId = scope.accountId;
    const after = options.cursor !== undefined ? decodeCursor(options.cursor, scope, { k: sortKeyWithPrefix(prefix) }).k : undefined;
    const { Items = [], LastEvaluatedKey } = await this.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': partition(accountId), ':prefix': prefix },
        // The cursor holds only the sort key; the partition is always the caller's own.
        ExclusiveStartKey: after ? { pk: partition(accountId), sk: after } : undefined,
        ScanIndexForward: false,
        Limit: options.limit,
      }),
    );
    return {
      items: Items as Array<Record<string, any>>,
      nextCursor: LastEvaluatedKey ? encodeCursor(scope, { k: String(LastEvaluatedKey.sk) }) : undefined,
    };
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  private async send(command: any): Promise<any> {
    return sendDocumentCommand(this.client, command, 'The restore store');
  }
}

function partition(accountId: string): string {
  return `ACCOUNT#${accountId}`;
}

function progressKey(restoreId: string, segment: number): string {
  return `RPROG#${restoreId}#${String(segment).padStart(5, '0')}`;
}

function toRestore(item: Record<string, any>): StoredRestore {
  const { pk: _pk, sk: _sk, ...restore } = item;
  return restore as StoredRestore;
}

function toProgress(item: Record<string, any>): SegmentProgress {
  return {
    cursor: item.cursor,
    counts: item.counts,
    ahead: item.ahead ?? {},
    ...(item.failures?.length ? { failures: item.failures } : {}),
    ...(item.conflicts?.length ? { conflicts: item.conflicts } : {}),
  };
}
