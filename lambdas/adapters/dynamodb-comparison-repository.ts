import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ComparisonKey, StoredComparison } from '#core/compare-model.ts';
import type { ComparisonRepository } from '#core/ports/comparison-repository.ts';
import { sendConditionalWrite, sendDocumentCommand } from './aws-errors.ts';

const WHAT = 'The comparison store';

/**
 * Comparisons in the app table, under the account's partition `ACCOUNT#<id>`: sk
 * `COMPARISON#<id>` (the comparison whole, its checkpoints replacing it), and
 * `COMPARE#<backup>#<with>#<type>` pointing at the latest comparison for that key. Both
 * have a TTL at the comparison's expiry (the first of its backups' expiries).
 */
export class DynamoDbComparisonRepository implements ComparisonRepository {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;

  constructor(client: DynamoDBDocumentClient, tableName: string) {
    this.client = client;
    this.tableName = tableName;
  }

  async createComparison(comparison: StoredComparison): Promise<void> {
    await sendConditionalWrite(
      this.client,
      new PutCommand({ TableName: this.tableName, Item: this.item(comparison), ConditionExpression: 'attribute_not_exists(pk)' }),
      WHAT,
    );
  }

  async getComparison(accountId: string, comparisonId: string): Promise<StoredComparison | undefined> {
    // Consistent: a step resumes from the checkpoint the previous one just wrote.
    const { Item } = await sendDocumentCommand(
      this.client,
      new GetCommand({ TableName: this.tableName, Key: { pk: partition(accountId), sk: comparisonSortKey(comparisonId) }, ConsistentRead: true }),
      WHAT,
    );
    return Item?.comparison as StoredComparison | undefined;
  }

  async saveComparison(comparison: StoredComparison, fromVersion: number): Promise<boolean> {
    return sendConditionalWrite(
      this.client,
      new PutCommand({
        TableName: this.tableName,
        Item: this.item(comparison),
        ConditionExpression: '#c.#status = :comparing AND #c.#version = :from',
        ExpressionAttributeNames: { '#c': 'comparison', '#status': 'status', '#version': 'version' },
        ExpressionAttributeValues: { ':comparing': 'COMPARING', ':from': fromVersion },
      }),
      WHAT,
    );
  }

  async claimComparisonCheck(accountId: string, comparisonId: string, at: string, staleBefore: string): Promise<boolean> {
    return sendConditionalWrite(
      this.client,
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: partition(accountId), sk: comparisonSortKey(comparisonId) },
        // Beside `comparison`, not in it: a checkpoint drops it, which only makes the next check due.
        UpdateExpression: 'SET checkedAt = :at',
        ConditionExpression: '#c.#status = :comparing AND (attribute_not_exists(checkedAt) OR checkedAt < :staleBefore)',
        ExpressionAttributeNames: { '#c': 'comparison', '#status': 'status' },
        ExpressionAttributeValues: { ':at': at, ':staleBefore': staleBefore, ':comparing': 'COMPARING' },
      }),
      WHAT,
    );
  }

  async findLatest(accountId: string, key: ComparisonKey): Promise<string | undefined> {
    const { Item } = await sendDocumentCommand(
      this.client,
      new GetCommand({ TableName: this.tableName, Key: { pk: partition(accountId), sk: latestSortKey(key) }, ConsistentRead: true }),
      WHAT,
    );
    return Item?.comparisonId as string | undefined;
  }

  async setLatest(accountId: string, key: ComparisonKey, comparisonId: string, replacing: string | undefined, expiresAt: string): Promise<boolean> {
    return sendConditionalWrite(
      this.client,
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: partition(accountId), sk: latestSortKey(key), comparisonId, ttl: ttlOf(expiresAt) },
        ...(replacing === undefined
          ? { ConditionExpression: 'attribute_not_exists(pk)' }
          : { ConditionExpression: 'comparisonId = :replacing', ExpressionAttributeValues: { ':replacing': replacing } }),
      }),
      WHAT,
    );
  }

  private item(comparison: StoredComparison): Record<string, unknown> {
    return { pk: partition(comparison.accountId), sk: comparisonSortKey(comparison.id), comparison, ttl: ttlOf(comparison.expiresAt) };
  }
}

function partition(accountId: string): string {
  return `ACCOUNT#${accountId}`;
}

function comparisonSortKey(comparisonId: string): string {
  return `COMPARISON#${comparisonId}`;
}

function latestSortKey(key: ComparisonKey): string {
  return `COMPARE#${key.backupId}#${key.with}#${key.objectType}`;
}

function ttlOf(iso: string): number {
  return Math.ceil(Date.parse(iso) / 1000);
}
