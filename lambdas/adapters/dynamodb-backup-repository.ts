import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AnomalyCheck } from '#core/alert-model.ts';
import type { BackupObject, BackupStatus, Page } from '#core/model.ts';
import type { BackupPatch, BackupRepository, BackupSchedule, QuotaClaim, QuotaHolder, StoredBackup } from '#core/ports/backup-repository.ts';
import { sendConditionalWrite, sendDocumentCommand } from './aws-errors.ts';
import { decodeCursor, encodeCursor, sortKeyWithPrefix, type CursorScope } from './cursor.ts';
import { updateIfStatus } from './update-if-status.ts';

/** The sparse GSI partition that lists accounts with scheduled backups on. */
const SCHEDULES_PARTITION = 'SCHEDULES';

/** One object type inside the stored `objects` map, with its position in the list. */
type StoredObject = BackupObject & { order: number };

/**
 * Backups, quota and schedule in the app table, under the account's partition:
 * `ACCOUNT#<id>` with sk `BACKUP#<backupId>` (ids are time-ordered, so a reverse
 * Query is "newest first"), `QUOTA` and `SCHEDULE`. Enabled schedules are also in
 * the sparse index partition gsi1pk=`SCHEDULES`, gsi1sk=<accountId>.
 *
 * A backup's object types are a map keyed by type name, so that parallel exports
 * each update their own entry without overwriting the others.
 */
export class DynamoDbBackupRepository implements BackupRepository {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;

  constructor(client: DynamoDBDocumentClient, tableName: string) {
    this.client = client;
    this.tableName = tableName;
  }

  async getBackup(accountId: string, backupId: string): Promise<StoredBackup | undefined> {
    const { Item } = await this.send(
      new GetCommand({ TableName: this.tableName, Key: backupKey(accountId, backupId), ConsistentRead: true }),
    );
    return Item ? toBackup(Item) : undefined;
  }

  async listBackups(accountId: string, options: { limit: number; cursor?: string }): Promise<Page<StoredBackup>> {
    const scope: CursorScope = { list: 'backups', accountId };
    const after = options.cursor !== undefined ? decodeCursor(options.cursor, scope, { k: sortKeyWithPrefix('BACKUP#') }).k : undefined;
    const { Items = [], LastEvaluatedKey } = await this.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': accountPartition(accountId), ':prefix': 'BACKUP#' },
        // The cursor holds only the sort key; the partition is always the caller's own.
        ExclusiveStartKey: after ? { pk: accountPartition(accountId), sk: after } : undefined,
        ScanIndexForward: false,
        Limit: options.limit,
      }),
    );
    return {
      items: Items.map(toBackup),
      nextCursor: LastEvaluatedKey ? encodeCursor(scope, { k: String(LastEvaluatedKey.sk) }) : undefined,
    };
  }

  async createBackup(backup: StoredBackup): Promise<void> {
    const { objects = [], ...rest } = backup;
    await sendConditionalWrite(
      this.client,
      new PutCommand({
        TableName: this.tableName,
        Item: { ...backupKey(backup.accountId, backup.id), type: 'BACKUP', ...rest, objects: toObjectMap(objects) },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
      'The backup store',
    );
  }

  async updateBackup(accountId: string, backupId: string, patch: BackupPatch, fromStatuses: BackupStatus[]): Promise<boolean> {
    const stored = patch.objects === undefined ? patch : { ...patch, objects: toObjectMap(patch.objects) };
    return updateIfStatus(this.client, { TableName: this.tableName, Key: backupKey(accountId, backupId) }, stored, fromStatuses, 'The backup store');
  }

  async setAnomalyCheck(accountId: string, backupId: string, check: AnomalyCheck, from: Array<AnomalyCheck['status'] | 'NONE'>): Promise<boolean> {
    const statuses = from.filter((status) => status !== 'NONE');
    const allowed = [
      ...(from.includes('NONE') ? ['attribute_not_exists(anomalyCheck)'] : []),
      ...(statuses.length ? [`anomalyCheck.#checkStatus IN (${statuses.map((_, index) => `:from${index}`).join(', ')})`] : []),
    ];
    return sendConditionalWrite(
      this.client,
      new UpdateCommand({
        TableName: this.tableName,
        Key: backupKey(accountId, backupId),
        UpdateExpression: 'SET anomalyCheck = :check',
        ConditionExpression: `#status = :succeeded AND (${allowed.join(' OR ')})`,
        ExpressionAttributeNames: { '#status': 'status', ...(statuses.length ? { '#checkStatus': 'status' } : {}) },
        ExpressionAttributeValues: { ':check': check, ':succeeded': 'SUCCEEDED', ...Object.fromEntries(statuses.map((status, index) => [`:from${index}`, status])) },
      }),
      'The backup store',
    );
  }

  async claimNotification(accountId: string, backupId: string, claim: { status: BackupStatus; at: string; staleBefore: string }): Promise<boolean> {
    return sendConditionalWrite(
      this.client,
      new UpdateCommand({
        TableName: this.tableName,
        Key: backupKey(accountId, backupId),
        UpdateExpression: 'SET notifyingAt = :at',
        ConditionExpression:
          'attribute_exists(pk) AND #status = :status AND attribute_not_exists(notifiedAt) AND (attribute_not_exists(notifyingAt) OR notifyingAt < :staleBefore)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':at': claim.at, ':status': claim.status, ':staleBefore': claim.staleBefore },
      }),
      'The backup store',
    );
  }

  async setObjectProgress(accountId: string, backupId: string, object: BackupObject, order: number): Promise<void> {
    await sendConditionalWrite(
      this.client,
      new UpdateCommand({
        TableName: this.tableName,
        Key: backupKey(accountId, backupId),
        UpdateExpression: 'SET #objects.#type = :object',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#objects': 'objects', '#type': object.objectType },
        ExpressionAttributeValues: { ':object': { ...stripUndefined(object), order } },
      }),
      'The backup store',
    );
  }

  async claimQuota(accountId: string, claim: { backupId: string; now: string; nextAllowedAt: string; replacing?: string }): Promise<QuotaClaim> {
    const claimed = await sendConditionalWrite(
      this.client,
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: accountPartition(accountId), sk: 'QUOTA', backupId: claim.backupId, claimedAt: claim.now, nextAllowedAt: claim.nextAllowedAt },
        // ISO 8601 UTC strings of one format compare like the times they name. A take-over
        // names the stale holder: once one caller replaced it, the others' condition fails.
        ConditionExpression: `attribute_not_exists(pk) OR nextAllowedAt <= :now${claim.replacing ? ' OR backupId = :replacing' : ''}`,
        ExpressionAttributeValues: { ':now': claim.now, ...(claim.replacing ? { ':replacing': claim.replacing } : {}) },
      }),
      'The quota store',
    );
    if (claimed) return { claimed: true };
    const holder = await this.getQuota(accountId);
    // The claim vanished between the write and this read (a refund): the caller may simply try again.
    if (!holder) return { claimed: false, nextAllowedAt: claim.now };
    return { claimed: false, nextAllowedAt: holder.nextAllowedAt, heldBy: { backupId: holder.backupId, claimedAt: holder.claimedAt } };
  }

  async getQuota(accountId: string): Promise<QuotaHolder | undefined> {
    const { Item } = await this.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: accountPartition(accountId), sk: 'QUOTA' }, ConsistentRead: true }),
    );
    if (!Item?.backupId || !Item.nextAllowedAt) return undefined;
    return { backupId: String(Item.backupId), claimedAt: String(Item.claimedAt ?? Item.nextAllowedAt), nextAllowedAt: String(Item.nextAllowedAt) };
  }

  async refundQuota(accountId: string, backupId: string): Promise<void> {
    // Refused when another backup holds the claim now (or nobody does): nothing of ours to give back.
    await sendConditionalWrite(
      this.client,
      new DeleteCommand({
        TableName: this.tableName,
        Key: { pk: accountPartition(accountId), sk: 'QUOTA' },
        ConditionExpression: 'backupId = :backupId',
        ExpressionAttributeValues: { ':backupId': backupId },
      }),
      'The quota store',
    );
  }

  async getSchedule(accountId: string): Promise<BackupSchedule> {
    const { Item } = await this.send(new GetCommand({ TableName: this.tableName, Key: { pk: accountPartition(accountId), sk: 'SCHEDULE' } }));
    return Item ? toSchedule(Item) : { accountId, enabled: false };
  }

  async putSchedule(schedule: BackupSchedule): Promise<void> {
    await this.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: accountPartition(schedule.accountId),
          sk: 'SCHEDULE',
          ...stripUndefined(schedule),
          // Only enabled schedules get index keys: the index holds exactly the scheduler's work.
          ...(schedule.enabled ? { gsi1pk: SCHEDULES_PARTITION, gsi1sk: schedule.accountId } : {}),
        },
      }),
    );
  }

  async listEnabledSchedules(): Promise<BackupSchedule[]> {
    const schedules: BackupSchedule[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: 'gsi1',
          KeyConditionExpression: 'gsi1pk = :pk',
          ExpressionAttributeValues: { ':pk': SCHEDULES_PARTITION },
          ExclusiveStartKey,
        }),
      );
      schedules.push(...(page.Items ?? []).map(toSchedule).filter((schedule: BackupSchedule) => schedule.enabled));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return schedules;
  }

  // The document client's per-command overloads do not survive a generic wrapper, hence `any`.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  private async send(command: any): Promise<any> {
    return sendDocumentCommand(this.client, command, 'The backup store');
  }
}

function accountPartition(accountId: string): string {
  return `ACCOUNT#${accountId}`;
}

function backupKey(accountId: string, backupId: string) {
  return { pk: accountPartition(accountId), sk: `BACKUP#${backupId}` };
}

function toObjectMap(objects: BackupObject[]): Record<string, StoredObject> {
  return Object.fromEntries(objects.map((object, order) => [object.objectType, { ...stripUndefined(object), order }]));
}

function toBackup(item: Record<string, any>): StoredBackup {
  const { pk: _pk, sk: _sk, type: _type, objects = {}, ...rest } = item;
  const list = (Object.values(objects) as StoredObject[])
    .sort((a, b) => a.order - b.order)
    .map(({ order: _order, ...object }) => object as BackupObject);
  return { ...(rest as StoredBackup), objects: list };
}

function toSchedule(item: Record<string, any>): BackupSchedule {
  return {
    accountId: String(item.accountId),
    enabled: Boolean(item.enabled),
    ...(item.email ? { email: String(item.email) } : {}),
    ...(item.updatedAt ? { updatedAt: String(item.updatedAt) } : {}),
  };
}

function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T;
}
