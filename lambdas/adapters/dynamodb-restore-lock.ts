import { DeleteCommand, GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { LockLostError } from '#core/errors.ts';
import type { LockAcquisition, RestoreLock, RestoreLockState } from '#core/ports/restore-lock.ts';
import { isConditionFailed, rethrowTransient, sendConditionalWrite, sendDocumentCommand } from './aws-errors.ts';

/** A stale lock item is deleted by TTL a day after its lease (it no longer matters by then). */
const TTL_AFTER_LEASE_SECONDS = 24 * 3600;

/**
 * The account's restore lock: item `ACCOUNT#<id>` / `RESTORE_LOCK` in the app table,
 * with the holder (a restore id), the lease's end and a version number. Every change
 * is one conditional write, so two restores can never both hold it.
 */
export class DynamoDbRestoreLock implements RestoreLock {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;

  constructor(client: DynamoDBDocumentClient, tableName: string) {
    this.client = client;
    this.tableName = tableName;
  }

  async acquire(accountId: string, holder: string, lease: { now: number; durationMs: number }): Promise<LockAcquisition> {
    const leaseExpiresAt = lease.now + lease.durationMs;
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key(accountId),
          UpdateExpression: 'SET holder = :holder, leaseExpiresAt = :lease, #ttl = :ttl, version = if_not_exists(version, :zero) + :one',
          // Free, expired (a crashed holder), or already ours (a retried request).
          ConditionExpression: 'attribute_not_exists(pk) OR leaseExpiresAt < :now OR holder = :holder',
          ExpressionAttributeNames: { '#ttl': 'ttl' },
          ExpressionAttributeValues: {
            ':holder': holder,
            ':lease': leaseExpiresAt,
            ':ttl': Math.ceil(leaseExpiresAt / 1000) + TTL_AFTER_LEASE_SECONDS,
            ':now': lease.now,
            ':zero': 0,
            ':one': 1,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { acquired: true, version: Number(Attributes?.version ?? 1) };
    } catch (error) {
      if (!isConditionFailed(error)) rethrowTransient(error, 'The restore lock');
      const current = await this.get(accountId);
      // Released between our write and our read: the caller may simply try again.
      return { acquired: false, holder: current?.holder ?? '', leaseExpiresAt: current?.leaseExpiresAt ?? 0 };
    }
  }

  async renew(accountId: string, holder: string, lease: { now: number; durationMs: number }): Promise<void> {
    const leaseExpiresAt = lease.now + lease.durationMs;
    const renewed = await sendConditionalWrite(
      this.client,
      new UpdateCommand({
        TableName: this.tableName,
        Key: key(accountId),
        UpdateExpression: 'SET leaseExpiresAt = :lease, #ttl = :ttl, version = version + :one',
        // Fencing: only the holder renews; after a takeover this fails and the old holder stops.
        ConditionExpression: 'holder = :holder',
        ExpressionAttributeNames: { '#ttl': 'ttl' },
        ExpressionAttributeValues: { ':holder': holder, ':lease': leaseExpiresAt, ':ttl': Math.ceil(leaseExpiresAt / 1000) + TTL_AFTER_LEASE_SECONDS, ':one': 1 },
      }),
      'The restore lock',
    );
    if (!renewed) throw new LockLostError('The restore lost its lock (its lease ended and the lock was taken or released), so it stopped writing.');
  }

  async release(accountId: string, holder: string): Promise<boolean> {
    return sendConditionalWrite(
      this.client,
      new DeleteCommand({
        TableName: this.tableName,
        Key: key(accountId),
        ConditionExpression: 'holder = :holder',
        ExpressionAttributeValues: { ':holder': holder },
      }),
      'The restore lock',
    );
  }

  async get(accountId: string): Promise<RestoreLockState | undefined> {
    const { Item } = await sendDocumentCommand(this.client, new GetCommand({ TableName: this.tableName, Key: key(accountId), ConsistentRead: true }), 'The restore lock');
    return Item ? { holder: String(Item.holder), leaseExpiresAt: Number(Item.leaseExpiresAt), version: Number(Item.version) } : undefined;
  }
}

function key(accountId: string) {
  return { pk: `ACCOUNT#${accountId}`, sk: 'RESTORE_LOCK' };
}
