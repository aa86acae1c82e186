import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { TotpSecrets, TotpState } from '#core/ports/totp-secrets.ts';
import { rethrowTransient, sendConditionalWrite } from './aws-errors.ts';

/**
 * Per-user TOTP state in the app table: `USER#<userId>` / `TOTP`. The secret is
 * stored only as ciphertext; replay protection and the failure counter are
 * conditional writes on the same item.
 */
export class DynamoDbTotpSecrets implements TotpSecrets {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;

  constructor(client: DynamoDBDocumentClient, tableName: string) {
    this.client = client;
    this.tableName = tableName;
  }

  async get(userId: string): Promise<TotpState | undefined> {
    try {
      const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: key(userId), ConsistentRead: true }));
      if (!Item) return undefined;
      const { pk: _pk, sk: _sk, ...state } = Item;
      return state as TotpState;
    } catch (error) {
      return rethrowTransient(error, 'The authenticator store');
    }
  }

  async enrol(state: TotpState): Promise<boolean> {
    return sendConditionalWrite(
      this.client,
      new PutCommand({ TableName: this.tableName, Item: { ...key(state.userId), ...state }, ConditionExpression: 'attribute_not_exists(pk)' }),
      'The authenticator store',
    );
  }

  async acceptTimeStep(userId: string, timeStep: number): Promise<boolean> {
    return sendConditionalWrite(
      this.client,
      new UpdateCommand({
        TableName: this.tableName,
        Key: key(userId),
        UpdateExpression: 'SET lastTimeStep = :step, failures = :zero REMOVE lockedUntil',
        ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(lastTimeStep) OR lastTimeStep < :step)',
        ExpressionAttributeValues: { ':step': timeStep, ':zero': 0 },
      }),
      'The authenticator store',
    );
  }

  async recordFailure(userId: string, update: { failures: number; lockedUntil?: string }): Promise<void> {
    await sendConditionalWrite(
      this.client,
      new UpdateCommand({
        TableName: this.tableName,
        Key: key(userId),
        UpdateExpression: update.lockedUntil ? 'SET failures = :failures, lockedUntil = :until' : 'SET failures = :failures REMOVE lockedUntil',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':failures': update.failures, ...(update.lockedUntil ? { ':until': update.lockedUntil } : {}) },
      }),
      'The authenticator store',
    );
  }
}

function key(userId: string) {
  return { pk: `USER#${userId}`, sk: 'TOTP' };
}
