import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { StoredAlertSettings } from '#core/alert-model.ts';
import type { AlertSettingsRepository } from '#core/ports/alert-settings-repository.ts';
import { sendDocumentCommand } from './aws-errors.ts';

/** Alert thresholds in the app table: `ACCOUNT#<id>` / `ALERT_SETTINGS`, the settings whole. */
export class DynamoDbAlertSettings implements AlertSettingsRepository {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;

  constructor(client: DynamoDBDocumentClient, tableName: string) {
    this.client = client;
    this.tableName = tableName;
  }

  async getAlertSettings(accountId: string): Promise<StoredAlertSettings | undefined> {
    const { Item } = await sendDocumentCommand(this.client, new GetCommand({ TableName: this.tableName, Key: key(accountId) }), 'The settings store');
    return Item?.settings as StoredAlertSettings | undefined;
  }

  async putAlertSettings(settings: StoredAlertSettings): Promise<void> {
    await sendDocumentCommand(this.client, new PutCommand({ TableName: this.tableName, Item: { ...key(settings.accountId), settings } }), 'The settings store');
  }
}

function key(accountId: string): { pk: string; sk: string } {
  return { pk: `ACCOUNT#${accountId}`, sk: 'ALERT_SETTINGS' };
}
