import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { sendConditionalWrite, sendDocumentCommand } from '../aws-errors.ts';
import type { BudgetState, BudgetStore } from './request-budget.ts';

/** How long a portal's budget item outlives its last use (DynamoDB TTL): a day and a bit, past any daily reset. */
const TTL_SECONDS = 36 * 3600;

/**
 * Each HubSpot portal's shared request budget (request-budget.ts) in the app table:
 * `HUBSPOT#<portalId>` / `BUDGET`, written only on condition of the version read, so of
 * two Lambdas taking the same slot exactly one succeeds and the other reads again.
 * Keyed by portal, not account: the portal's budget is one, whoever calls it.
 */
export class DynamoDbBudgetStore implements BudgetStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;

  constructor(client: DynamoDBDocumentClient, tableName: string) {
    this.client = client;
    this.tableName = tableName;
  }

  async read(portalId: number): Promise<BudgetState | undefined> {
    const { Item } = await sendDocumentCommand(
      this.client,
      new GetCommand({ TableName: this.tableName, Key: key(portalId), ConsistentRead: true }),
      'The HubSpot request budget',
    );
    return Item ? { next: Item.next, intervalMs: Item.intervalMs, version: Item.version, ...(Item.dayEndsAt ? { dayEndsAt: Item.dayEndsAt } : {}) } : undefined;
  }

  write(portalId: number, state: BudgetState, fromVersion: number | undefined): Promise<boolean> {
    return sendConditionalWrite(
      this.client,
      new PutCommand({
        TableName: this.tableName,
        Item: { ...key(portalId), ...state, ttl: Math.ceil(Math.max(state.next, state.dayEndsAt ?? 0) / 1000) + TTL_SECONDS },
        ...(fromVersion === undefined
          ? { ConditionExpression: 'attribute_not_exists(pk)' }
          : { ConditionExpression: '#version = :from', ExpressionAttributeNames: { '#version': 'version' }, ExpressionAttributeValues: { ':from': fromVersion } }),
      }),
      'The HubSpot request budget',
    );
  }
}

function key(portalId: number): { pk: string; sk: string } {
  return { pk: `HUBSPOT#${portalId}`, sk: 'BUDGET' };
}
