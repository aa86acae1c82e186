import { PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Page } from '#core/model.ts';
import type { AuditEntry, AuditLog } from '#core/ports/audit-log.ts';
import { rethrowTransient } from './aws-errors.ts';
import { decodeCursor, encodeCursor, sortKey, type CursorScope } from './cursor.ts';

/**
 * The audit log in the app table: one partition per account (`AUDIT#<account>`),
 * sorted by time then id, so "newest first" is a reverse Query.
 */
export class DynamoDbAuditLog implements AuditLog {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;

  constructor(client: DynamoDBDocumentClient, tableName: string) {
    this.client = client;
    this.tableName = tableName;
  }

  async append(entry: AuditEntry): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          // Deterministic key: a retried step that appends the same entry id writes it once.
          Item: { pk: `AUDIT#${entry.accountId}`, sk: `${entry.occurredAt}#${entry.id}`, entry },
        }),
      );
    } catch (error) {
      rethrowTransient(error, 'The audit log');
    }
  }

  async list(accountId: string, options: { limit: number; cursor?: string }): Promise<Page<AuditEntry>> {
    const scope: CursorScope = { list: 'audit-log', accountId };
    const after = options.cursor !== undefined ? decodeCursor(options.cursor, scope, { k: sortKey }).k : undefined;
    try {
      const { Items = [], LastEvaluatedKey } = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: after ? 'pk = :pk AND sk < :after' : 'pk = :pk',
          ExpressionAttributeValues: { ':pk': `AUDIT#${accountId}`, ...(after ? { ':after': after } : {}) },
          ScanIndexForward: false,
          Limit: options.limit,
        }),
      );
      return {
        items: (Items as Array<{ entry: AuditEntry }>).map((item) => item.entry),
        nextCursor: LastEvaluatedKey ? encodeCursor(scope, { k: String(LastEvaluatedKey.sk) }) : undefined,
      };
    } catch (error) {
      return rethrowTransient(error, 'The audit log');
    }
  }
}
