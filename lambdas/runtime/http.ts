import middy from '@middy/core';
import type { APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { z } from 'zod';
import { callerFromClaims, type Caller } from '#core/caller.ts';
import {
  BackupDamagedError,
  BackupExpiredError,
  BackupNotReadyError,
  ClientError,
  ComparisonExpiredError,
  ComparisonNotReadyError,
  ConfirmationExpiredError,
  EditConflictError,
  EmailRequiredError,
  ForbiddenError,
  InvalidConfirmationError,
  InvalidCursorError,
  NotFoundError,
  PayloadTooLargeError,
  PlanExpiredError,
  PlanNotReadyError,
  QuotaExceededError,
  ReauthFailedError,
  ReauthRequiredError,
  NothingToUndoError,
  RestoreInProgressError,
  SourceInUseError,
  ChangeHistoryUnavailableError,
  SourceLimitReachedError,
  SourceReconnectRequiredError,
  SourceScopesMissingError,
  TotpAlreadyEnrolledError,
  TransientError,
  UnauthorizedError,
  ValidationError,
} from '#core/errors.ts';
import type { BusinessMetric } from '#core/ports/metrics.ts';
import { IDEMPOTENT_ROUTES } from '#service/catalog.ts';
import type { IdempotentRequests } from './idempotency.ts';
import { workKeysOf, loggedError, observed, type Telemetry } from './telemetry.ts';

export type ApiEvent = APIGatewayProxyEventV2WithJWTAuthorizer;
export type ApiResult = Exclude<APIGatewayProxyResultV2, string>;

/** What a route sees: the verified caller and the parsed parts of the request. */
export interface ApiRequest {
  caller: Caller;
  params: Record<string, string>;
  query: Record<string, string>;
  /** The JSON body, parsed; undefined when there is none. */
  body: unknown;
  event: ApiEvent;
  /** The Lambda context: a route that does long work reads its remaining time here. */
  context: Context;
}

export type Route = (request: ApiRequest) => Promise<ApiResult>;

/** Bodies are small JSON documents; anything bigger is a mistake or an attack. */
export const MAX_BODY_BYTES = 64 * 1024;

/**
 * Deepest nesting of arrays and objects a body may have. Ours need two levels; a
 * limit keeps every later step (parsing, the reserved-name check, zod) cheap whatever
 * the body, where 32,000 levels of `[` used to cost seconds before the 400.
 */
export const MAX_JSON_DEPTH = 32;

/**
 * Builds an HTTP API Lambda from its routes, keyed by API Gateway's `routeKey`
 * (`"GET /v1/backups/{id}"`): API Gateway already matched the path, so dispatch is a
 * lookup. Traces, logs and metrics come first (telemetry.ts); one middleware turns every
 * thrown error into the API.md error shape and logs one line per request; the routes
 * in IDEMPOTENT_ROUTES (catalog.ts) run through `deps.idempotency`.
 */
export function httpApi(routes: Record<string, Route>, deps: { telemetry: Telemetry; idempotency: IdempotentRequests }) {
  const { telemetry, idempotency } = deps;
  return middy<ApiEvent, ApiResult, Error, Context>()
    .use(observed<ApiEvent, ApiResult>(telemetry))
    .use(requestLog(telemetry))
    .handler(async (event, context) => {
      const route = routes[event.routeKey];
      if (!route) return json(404, { error: { code: 'NOT_FOUND', message: `No such endpoint: ${event.routeKey}` } });
      const caller = callerFromClaims(event.requestContext.authorizer?.jwt?.claims as Record<string, unknown> | undefined);
      telemetry.logger.appendKeys({ accountId: caller.accountId, ...pathIdKeys(event.routeKey, event.pathParameters ?? {}) });
      const run: Route = IDEMPOTENT_ROUTES.has(event.routeKey) ? (request) => idempotency.run(request, route) : route;
      return run({
        caller,
        params: (event.pathParameters ?? {}) as Record<string, string>,
        query: (event.queryStringParameters ?? {}) as Record<string, string>,
        body: parseJsonBody(event),
        event,
        context,
      });
    });
}

/** Refusals an on-call engineer watches, by the core's refusal. */
const REFUSAL_METRICS = new Map<abstract new (...args: never[]) => ClientError, BusinessMetric>([
  [QuotaExceededError, 'QuotaRefusals'],
  [ReauthFailedError, 'ReauthenticationFailures'],
]);

/**
 * One log line per request (route, status, time, the ids of the work as keys), errors
 * mapped to their answer (a bug logged with its stack), refusals counted. The line names
 * no query, body, header or token: those may hold codes, cursors or record values.
 */
function requestLog(telemetry: Telemetry): middy.MiddlewareObj<ApiEvent, ApiResult, Error, Context, { startedAt?: number }> {
  const { logger } = telemetry;
  type Request = middy.Request<ApiEvent, ApiResult, Error, Context, { startedAt?: number }>;
  const line = (request: Request, response: ApiResult) => ({
    route: request.event.routeKey,
    apiRequestId: request.event.requestContext.requestId,
    status: response.statusCode,
    durationMs: Date.now() - (request.internal.startedAt ?? Date.now()),
  });
  return {
    before: async (request) => {
      request.internal.startedAt = Date.now();
    },
    after: async (request) => {
      const response = request.response ?? json(204, undefined);
      logger.appendKeys({ ...workKeysOf(parsedBody(response)), ...createdIdKey(request.event.routeKey, parsedBody(response)) });
      logger.info('Request', line(request, response));
    },
    onError: async (request) => {
      const { error } = request;
      const response = errorResult(error);
      request.response = response;
      const metric = error instanceof ClientError ? REFUSAL_METRICS.get(error.constructor as new () => ClientError) : undefined;
      if (metric) telemetry.metrics.addMetric(metric, 'Count', 1);
      if (response.statusCode === 500) logger.error('Request failed', { ...line(request, response), error: error as Error });
      else logger.info('Request refused', { ...line(request, response), error: loggedError(error) });
    },
  };
}

/** The ids a route's path names, under the key of what they are. */
function pathIdKeys(routeKey: string, params: Record<string, string | undefined>): Record<string, string> {
  const keys: Record<string, string> = {};
  if (params.planId) keys.planId = params.planId;
  if (params.id && routeKey.includes('/v1/backups/{id}')) keys.backupId = params.id;
  if (params.id && routeKey.includes('/v1/restores/{id}')) keys.restoreId = params.id;
  return keys;
}

/** The `id` of what a POST created, under the key of what it is. */
function createdIdKey(routeKey: string, body: unknown): Record<string, string> {
  const id = typeof body === 'object' && body !== null ? (body as { id?: unknown }).id : undefined;
  if (typeof id !== 'string') return {};
  if (routeKey === 'POST /v1/backups') return { backupId: id };
  if (routeKey === 'POST /v1/backups/{id}/restore-plans') return { planId: id };
  if (routeKey === 'POST /v1/restores') return { restoreId: id };
  return {};
}

function parsedBody(response: ApiResult): unknown {
  if (!response.body || !String(response.headers?.['content-type'] ?? '').startsWith('application/json')) return undefined;
  try {
    return JSON.parse(response.body);
  } catch {
    return undefined;
  }
}

/**
 * How the API answers each refusal of the core: API.md's status and error code, by the
 * error's class. The one place that knows HTTP statuses; a refusal missing here is a
 * bug, answered as a 500 (a test checks that every ClientError of errors.ts is here).
 */
export const REFUSALS = new Map<abstract new (...args: never[]) => ClientError, { status: number; code: string }>([
  [ValidationError, { status: 400, code: 'VALIDATION_ERROR' }],
  [InvalidCursorError, { status: 400, code: 'INVALID_CURSOR' }],
  [InvalidConfirmationError, { status: 400, code: 'INVALID_CONFIRMATION' }],
  [UnauthorizedError, { status: 401, code: 'UNAUTHORIZED' }],
  [ReauthRequiredError, { status: 401, code: 'REAUTH_REQUIRED' }],
  [ReauthFailedError, { status: 401, code: 'REAUTH_FAILED' }],
  [ForbiddenError, { status: 403, code: 'FORBIDDEN' }],
  [NotFoundError, { status: 404, code: 'NOT_FOUND' }],
  [BackupNotReadyError, { status: 409, code: 'BACKUP_NOT_READY' }],
  [BackupDamagedError, { status: 409, code: 'BACKUP_DAMAGED' }],
  [PlanNotReadyError, { status: 409, code: 'PLAN_NOT_READY' }],
  [ComparisonNotReadyError, { status: 409, code: 'COMPARISON_NOT_READY' }],
  [RestoreInProgressError, { status: 409, code: 'RESTORE_IN_PROGRESS' }],
  [NothingToUndoError, { status: 409, code: 'NOTHING_TO_UNDO' }],
  [EditConflictError, { status: 409, code: 'EDIT_CONFLICT' }],
  [TotpAlreadyEnrolledError, { status: 409, code: 'TOTP_ALREADY_ENROLLED' }],
  [EmailRequiredError, { status: 409, code: 'EMAIL_REQUIRED' }],
  [SourceReconnectRequiredError, { status: 409, code: 'SOURCE_RECONNECT_REQUIRED' }],
  [SourceScopesMissingError, { status: 409, code: 'SOURCE_SCOPES_MISSING' }],
  [SourceInUseError, { status: 409, code: 'SOURCE_IN_USE' }],
  [ChangeHistoryUnavailableError, { status: 409, code: 'NO_CHANGE_HISTORY' }],
  [BackupExpiredError, { status: 410, code: 'BACKUP_EXPIRED' }],
  [PlanExpiredError, { status: 410, code: 'PLAN_EXPIRED' }],
  [ComparisonExpiredError, { status: 410, code: 'COMPARISON_EXPIRED' }],
  [ConfirmationExpiredError, { status: 410, code: 'CONFIRMATION_EXPIRED' }],
  [PayloadTooLargeError, { status: 413, code: 'PAYLOAD_TOO_LARGE' }],
  [QuotaExceededError, { status: 429, code: 'QUOTA_EXCEEDED' }],
  [SourceLimitReachedError, { status: 503, code: 'SOURCE_LIMIT_REACHED' }],
]);

/** Maps any error to a response: refusals with their status, code and sentence, others as 500/503 without internals. */
export function errorResult(error: unknown): ApiResult {
  const refusal = error instanceof ClientError ? REFUSALS.get(error.constructor as new () => ClientError) : undefined;
  if (error instanceof ClientError && refusal) {
    const headers: Record<string, string> =
      error instanceof QuotaExceededError || error instanceof SourceLimitReachedError ? { 'retry-after': String(error.retryAfterSeconds) } : {};
    return json(refusal.status, { error: { code: refusal.code, message: error.message, ...error.details } }, headers);
  }
  if (error instanceof TransientError) {
    return json(503, { error: { code: 'SERVICE_UNAVAILABLE', message: 'The service is busy; try again in a moment.' } }, { 'retry-after': '5' });
  }
  return json(500, { error: { code: 'INTERNAL_ERROR', message: 'Something went wrong on our side; nothing was changed. Try again later.' } });
}

/** A JSON response; `cache-control: no-store` because answers hold tenant data. */
export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): ApiResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
    body: body === undefined ? '' : JSON.stringify(body),
  };
}

export function noContent(): ApiResult {
  return { statusCode: 204, headers: { 'cache-control': 'no-store' }, body: '' };
}

export function redirect(location: string): ApiResult {
  return { statusCode: 302, headers: { location, 'cache-control': 'no-store' }, body: '' };
}

function parseJsonBody(event: ApiEvent): unknown {
  if (event.body === undefined || event.body === null || event.body === '') return undefined;
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  if (Buffer.byteLength(text, 'utf8') > MAX_BODY_BYTES) throw new PayloadTooLargeError(MAX_BODY_BYTES);
  refuseDeepNesting(text);
  try {
    return JSON.parse(text);
  } catch {
    throw new ValidationError('The request body is not valid JSON.', { field: 'body' });
  }
}

/**
 * Refuses JSON text nested deeper than MAX_JSON_DEPTH, in one pass over the characters
 * and before anything parses it. Brackets inside strings do not count; text that is
 * not JSON at all is left for JSON.parse to refuse.
 */
function refuseDeepNesting(text: string): void {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index];
    if (inString) {
      if (char === '\\') index += 1;
      else if (char === '"') inString = false;
    } else if (char === '"') {
      inString = true;
    } else if (char === '[' || char === '{') {
      depth += 1;
      if (depth > MAX_JSON_DEPTH) {
        throw new ValidationError(`The request body nests arrays or objects more than ${MAX_JSON_DEPTH} levels deep; no request needs that.`, { field: 'body' });
      }
    } else if (char === ']' || char === '}') {
      depth -= 1;
    }
  }
}

/**
 * Validates input against a zod schema; the first problem becomes a 400 naming the
 * field and the reason in words.
 */
export function parseInput<T>(schema: z.ZodType<T>, value: unknown, where: 'body' | 'query' | 'path' = 'body'): T {
  refuseReservedKeys(value, where);
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = issue.path.map(String).join('.');
  const field = path ? (where === 'body' ? path : `${where}.${path}`) : where;
  throw new ValidationError(`${field}: ${describeIssue(issue)}`, { field });
}

/**
 * Names that mean something to every JavaScript object. JSON.parse makes them ordinary
 * own keys, but copied into a plain object `__proto__` replaces its prototype instead
 * of adding a key (zod's record drops it silently, which made an edit naming it a 200
 * that did nothing), and `constructor`/`prototype` read back as what every object
 * inherits. No property, field or name of ours is one of them.
 */
export const RESERVED_NAMES: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** The sentence for a reserved name, wherever it appears. */
export function reservedNameMessage(name: string): string {
  return `"${name}" is a reserved name; no property or field can be called that.`;
}

/** A name given as a value (a property to restore): a string that is not a reserved name. */
export const safeName = z.string().refine((name) => !RESERVED_NAMES.has(name), { error: (issue) => reservedNameMessage(String(issue.input)) });

/**
 * Refuses a reserved name used as a key anywhere in the input (400 naming the field), before
 * zod builds plain objects from it. Iterative, so a deeply nested input cannot overflow the
 * stack, and linear: each node keeps a link to its parent, and a path is only spelt out for
 * the key refused.
 */
function refuseReservedKeys(value: unknown, where: 'body' | 'query' | 'path'): void {
  interface Node {
    value: unknown;
    key?: string;
    parent?: Node;
  }
  const pending: Node[] = [{ value }];
  while (pending.length > 0) {
    const node = pending.pop()!;
    if (typeof node.value !== 'object' || node.value === null) continue;
    for (const [key, child] of Object.entries(node.value)) {
      if (RESERVED_NAMES.has(key)) {
        const path = [key];
        for (let at: Node | undefined = node; at?.key !== undefined; at = at.parent) path.unshift(at.key);
        const field = where === 'body' ? path.join('.') : `${where}.${path.join('.')}`;
        throw new ValidationError(`${field}: ${reservedNameMessage(key)}`, { field });
      }
      pending.push({ value: child, key, parent: node });
    }
  }
}

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'unrecognized_keys':
      return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((key) => `"${key}"`).join(', ')}.`;
    case 'invalid_type':
      return issue.input === undefined ? 'is required.' : `must be ${article(issue.expected)}.`;
    default:
      return `${issue.message.replace(/\.$/, '')}.`;
  }
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

/**
 * `?limit=&cursor=` as API.md defines them: default 50, at most 500. The cursor is
 * checked where it is read (lambdas/adapters/cursor.ts), so that every bad one, too
 * long included, answers the same 400 INVALID_CURSOR.
 */
export const pageQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(500).default(50),
    cursor: z.string().optional(),
  })
  .loose();
