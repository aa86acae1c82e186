import { DeleteCommand, GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SourceConnection, SourceConnections } from '#core/ports/source-connections.ts';
import { sendDocumentCommand } from './aws-errors.ts';

const STORE = 'The data source settings';

/**
 * Each account's connected CRM in the app table: `SOURCE#<account>` / `CONNECTION`, the
 * token only as ciphertext. A partition of its own, so IAM can fence it by its leading
 * key like the TOTP state (infra/function-grants.ts): only the functions that call the
 * source read it, and only the one that connects a source writes it.
 */
export class DynamoDbSourceConnections implements SourceConnections {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;

  constructor(client: DynamoDBDocumentClient, tableName: string) {
    this.client = client;
    this.tableName = tableName;
  }

  async get(accountId: string): Promise<SourceConnection | undefined> {
    const { Item } = await sendDocumentCommand(this.client, new GetCommand({ TableName: this.tableName, Key: key(accountId), ConsistentRead: true }), STORE);
    if (!Item) return undefined;
    const { pk: _pk, sk: _sk, ...connection } = Item;
    return connection as SourceConnection;
  }

  async put(connection: SourceConnection): Promise<void> {
    await sendDocumentCommand(this.client, new PutCommand({ TableName: this.tableName, Item: { ...key(connection.accountId), ...connection } }), STORE);
  }

  async delete(accountId: string): Promise<boolean> {
    const { Attributes } = await sendDocumentCommand(this.client, new DeleteCommand({ TableName: this.tableName, Key: key(accountId), ReturnValues: 'ALL_OLD' }), STORE);
    return Attributes !== undefined;
  }
}

function key(accountId: string): { pk: string; sk: string } {
  return { pk: `SOURCE#${accountId}`, sk: 'CONNECTION' };
}
