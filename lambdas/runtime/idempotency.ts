import { IdempotencyAlreadyInProgressError, IdempotencyConfig, IdempotencyValidationError, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ValidationError } from '#core/errors.ts';
import { json, type ApiRequest, type ApiResult, type Route } from './http.ts';

/** The request header a client sends once per user action (API.md, "Safe retries"). */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
/** How long a key answers with its first response: a retry comes within seconds, a day covers a laptop closed overnight. */
export const IDEMPOTENCY_WINDOW_SECONDS = 24 * 60 * 60;
/** UUIDs, ULIDs and the like: printable, no spaces, at most 255 characters (Stripe's limit). */
const KEY_FORMAT = /^[\x21-\x7e]{1,255}$/;

/** Runs a POST that starts work at most once per caller and key (lambdas/service/catalog.ts, IDEMPOTENT_ROUTES). */
export interface IdempotentRequests {
  run(request: ApiRequest, route: Route): Promise<ApiResult>;
}

/** A refusal or failure: answered as it is, and not kept, so that the same key may try again. */
class NotKept extends Error {
  readonly result: ApiResult;

  constructor(result: ApiResult) {
    super(`Not kept: ${result.statusCode}`);
    this.result = result;
  }
}

/**
 * Powertools Idempotency over the app table. A request with an `Idempotency-Key` header:
 *
 * 1. is identified by (user, route, path parameters, key): the same key from another
 *    user, or for another route or resource, is another request. The record lives in the
 *    caller's account partition (`ACCOUNT#<a>` / `IDEMPOTENCY#<hash>`), with the table's TTL;
 * 2. the first time, runs and keeps its answer if it is a 2xx (status, headers, body) for
 *    24 hours; a refusal or failure is not kept, so a retry with the same key runs again;
 * 3. again within 24 hours with the same body: answers the kept response, with
 *    `Idempotency-Replayed: true`, and does nothing else (no second plan, audit entry,
 *    TOTP check or execution);
 * 4. again with another body: 422 `IDEMPOTENCY_KEY_REUSED`; while the first is still
 *    running: 409 `IDEMPOTENCY_KEY_IN_USE` with Retry-After.
 *
 * Only hashes of the key and of the body are stored, never the body (it may hold a
 * TOTP code or a confirmation token). Without the header a request runs as before.
 */
export class DynamoDbIdempotentRequests implements IdempotentRequests {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;

  constructor(client: DynamoDBClient, tableName: string) {
    this.client = client;
    this.tableName = tableName;
  }

  async run(request: ApiRequest, route: Route): Promise<ApiResult> {
    const key = request.event.headers?.[IDEMPOTENCY_KEY_HEADER];
    if (key === undefined) return route(request);
    if (!KEY_FORMAT.test(key))
      throw new ValidationError('Idempotency-Key: must be 1 to 255 printable characters without spaces (a UUID per user action).', { field: 'Idempotency-Key' });

    const config = new IdempotencyConfig({
      eventKeyJmesPath: 'request',
      payloadValidationJmesPath: 'body',
      expiresAfterSeconds: IDEMPOTENCY_WINDOW_SECONDS,
      throwOnNoIdempotencyKey: true,
    });
    // A Lambda killed mid-request leaves an in-progress record: it expires with the invocation.
    config.registerLambdaContext(request.context);
    const persistenceStore = new DynamoDBPersistenceLayer({
      tableName: this.tableName,
      keyAttr: 'pk',
      sortKeyAttr: 'sk',
      staticPkValue: `ACCOUNT#${request.caller.accountId}`,
      expiryAttr: 'ttl',
      awsSdkV3Client: this.client,
    });
    let ran = false;
    const once = makeIdempotent(
      async (_identity: unknown) => {
        ran = true;
        const result = await route(request);
        if ((result.statusCode ?? 200) >= 300) throw new NotKept(result);
        return result;
      },
      { persistenceStore, config, keyPrefix: 'IDEMPOTENCY' },
    );
    try {
      const identity = {
        request: { user: request.caller.userId, route: request.event.routeKey, params: request.params, key },
        body: request.body ?? null,
      };
      const result = (await once(identity)) as ApiResult;
      return ran ? result : { ...result, headers: { ...result.headers, 'idempotency-replayed': 'true' } };
    } catch (error) {
      if (error instanceof NotKept) return error.result;
      if (error instanceof IdempotencyValidationError)
        return json(422, { error: { code: 'IDEMPOTENCY_KEY_REUSED', message: 'This Idempotency-Key was already used with a different request body: send a new key for a new action.' } });
      if (error instanceof IdempotencyAlreadyInProgressError)
        return json(409, { error: { code: 'IDEMPOTENCY_KEY_IN_USE', message: 'A request with this Idempotency-Key is still being processed: try again in a moment.' } }, { 'retry-after': '2' });
      throw error;
    }
  }
}
