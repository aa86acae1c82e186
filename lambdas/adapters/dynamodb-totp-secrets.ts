import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AttemptClaim, PendingReplacement, TotpSecrets, TotpState } from '#core/ports/totp-secrets.ts';
import { isConditionFailed, rethrowTransient, sendConditionalWrite } from './aws-errors.ts';

const STORE = 'The authenticator store';

/**
 * Per-user TOTP state in the app table: `USER#<userId>` / `TOTP`. The secret is
 * stored only as ciphertext; replay protection, the attempt window and the
 * enrolment's confirmation are conditional writes on the same item.
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
      return rethrowTransient(error, STORE);
    }
  }

  async enrol(state: TotpState): Promise<boolean> {
    return sendConditionalWrite(
      this.client,
      new PutCommand({
        TableName: this.tableName,
        Item: { ...key(state.userId), ...state },
        ConditionExpression: 'attribute_not_exists(pk) OR attribute_exists(pendingConfirmation)',
      }),
      STORE,
    );
  }

  /**
   * Two conditional updates, each atomic: `ADD attempts 1` inside an open window while
   * fewer than the limit were claimed, or a new window when none is open. A refused
   * one is followed by a fresh read: someone else moved the window, and the next try
   * takes the other branch, or finds the window full. Failures never write, so they
   * cannot undo a window another request just filled.
   */
  async claimAttempt(userId: string, options: { now: Date; windowMs: number; maxAttempts: number }): Promise<AttemptClaim> {
    const now = options.now.toISOString();
    for (let round = 0; round < 4; round += 1) {
      const state = await this.get(userId);
      if (!state) return { claimed: false, retryAfter: now };
      // ISO 8601 UTC strings of one format compare like the times they name.
      const open = state.attemptsResetAt !== undefined && state.attemptsResetAt > now;
      if (open && (state.attempts ?? 0) >= options.maxAttempts) return { claimed: false, retryAfter: state.attemptsResetAt! };
      const claimed = open ? await this.addAttempt(userId, now, options.maxAttempts) : await this.openWindow(userId, now, new Date(options.now.getTime() + options.windowMs).toISOString());
      if (claimed) return claimed;
    }
    const state = await this.get(userId);
    return { claimed: false, retryAfter: state?.attemptsResetAt ?? now };
  }

  async acceptTimeStep(userId: string, timeStep: number): Promise<boolean> {
    return sendConditionalWrite(
      this.client,
      new UpdateCommand({
        TableName: this.tableName,
        Key: key(userId),
        UpdateExpression: 'SET lastTimeStep = :step REMOVE attempts, attemptsResetAt',
        ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(pendingConfirmation) AND (attribute_not_exists(lastTimeStep) OR lastTimeStep < :step)',
        ExpressionAttributeValues: { ':step': timeStep },
      }),
      STORE,
    );
  }

  async confirm(userId: string, confirmation: { tokenHash: string; timeStep: number; confirmedAt: string }): Promise<boolean> {
    return sendConditionalWrite(
      this.client,
      new UpdateCommand({
        TableName: this.tableName,
        Key: key(userId),
        UpdateExpression: 'SET lastTimeStep = :step, confirmedAt = :at REMOVE pendingConfirmation, attempts, attemptsResetAt',
        ConditionExpression: 'pendingConfirmation.tokenHash = :hash AND (attribute_not_exists(lastTimeStep) OR lastTimeStep < :step)',
        ExpressionAttributeValues: { ':step': confirmation.timeStep, ':at': confirmation.confirmedAt, ':hash': confirmation.tokenHash },
      }),
      STORE,
    );
  }

  async requestReplacement(userId: string, replacement: PendingReplacement): Promise<boolean> {
    return sendConditionalWrite(
      this.client,
      new UpdateCommand({
        TableName: this.tableName,
        Key: key(userId),
        UpdateExpression: 'SET pendingReplacement = :replacement',
        ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(pendingConfirmation)',
        ExpressionAttributeValues: { ':replacement': replacement },
      }),
      STORE,
    );
  }

  async confirmReplacement(userId: string, confirmation: { tokenHash: string; timeStep: number; confirmedAt: string }): Promise<boolean> {
    return sendConditionalWrite(
      this.client,
      new UpdateCommand({
        TableName: this.tableName,
        Key: key(userId),
        // The replacement's own ciphertext, copied within the write that checks its token: no read in between.
        UpdateExpression: 'SET encryptedSecret = pendingReplacement.encryptedSecret, lastTimeStep = :step, confirmedAt = :at REMOVE pendingReplacement, attempts, attemptsResetAt',
        ConditionExpression: 'pendingReplacement.tokenHash = :hash',
        ExpressionAttributeValues: { ':step': confirmation.timeStep, ':at': confirmation.confirmedAt, ':hash': confirmation.tokenHash },
      }),
      STORE,
    );
  }

  private async addAttempt(userId: string, now: string, maxAttempts: number): Promise<AttemptClaim | undefined> {
    const updated = await this.updateReturning(
      new UpdateCommand({
        TableName: this.tableName,
        Key: key(userId),
        UpdateExpression: 'ADD attempts :one',
        ConditionExpression: 'attemptsResetAt > :now AND attempts < :max',
        ExpressionAttributeValues: { ':one': 1, ':now': now, ':max': maxAttempts },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return updated && { claimed: true, attempt: Number(updated.attempts), windowEndsAt: String(updated.attemptsResetAt) };
  }

  private async openWindow(userId: string, now: string, until: string): Promise<AttemptClaim | undefined> {
    const updated = await this.updateReturning(
      new UpdateCommand({
        TableName: this.tableName,
        Key: key(userId),
        UpdateExpression: 'SET attempts = :one, attemptsResetAt = :until',
        ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(attemptsResetAt) OR attemptsResetAt <= :now)',
        ExpressionAttributeValues: { ':one': 1, ':now': now, ':until': until },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return updated && { claimed: true, attempt: 1, windowEndsAt: until };
  }

  /** The item after a conditional update, or undefined when the condition refused it. */
  private async updateReturning(command: UpdateCommand): Promise<Record<string, unknown> | undefined> {
    try {
      return (await this.client.send(command)).Attributes ?? {};
    } catch (error) {
      if (isConditionFailed(error)) return undefined;
      return rethrowTransient(error, STORE);
    }
  }
}

function key(userId: string) {
  return { pk: `USER#${userId}`, sk: 'TOTP' };
}
