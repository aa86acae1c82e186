import { randomUUID } from 'node:crypto';

/**
 * HubSpot's error bodies, as its API sends them (docs/hubspot-stand-in.md lists the
 * source of each). Every error the stand-in answers is one of these, always with
 * `Content-Type: application/json`: the official client parses error bodies by content
 * type, and without it throws an Error with no `code`, which it never retries.
 */

/** A response the stand-in writes: status, JSON body, extra headers. */
export interface HubSpotReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** `Error` of HubSpot's OpenAPI specs: `{status, message, correlationId, category, ...}`. */
export function errorReply(status: number, category: string, message: string, extra: Record<string, unknown> = {}, headers?: Record<string, string>): HubSpotReply {
  return { status, body: { status: 'error', message, correlationId: randomUUID(), ...extra, category }, headers };
}

/** 401 for a missing, unknown or revoked token (hubspot-api-nodejs#432, hubspot-api-ruby#181). */
export function invalidAuthentication(): HubSpotReply {
  return errorReply(
    401,
    'INVALID_AUTHENTICATION',
    'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview',
    {},
    { 'X-HubSpot-Auth-Failure': '401 Unauthorized' },
  );
}

/** 401 for a token past its expiry (airbyte#74726). */
export function expiredAuthentication(expiredAt: Date, now: Date): HubSpotReply {
  const seconds = Math.max(0, Math.floor((now.getTime() - expiredAt.getTime()) / 1000));
  return errorReply(
    401,
    'EXPIRED_AUTHENTICATION',
    `The OAuth token used to make this call expired ${seconds} second(s) ago.`,
    { context: { 'expire time': [expiredAt.toUTCString()] } },
    { 'X-HubSpot-Auth-Failure': '401 Unauthorized' },
  );
}

/** 403 naming the scopes of which one is needed (hubspot-api-nodejs#268, #50). */
export function missingScopes(requiredScopes: string[]): HubSpotReply {
  return errorReply(403, 'MISSING_SCOPES', "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes.", {
    errors: [{ message: 'One or more of the following scopes are required.', context: { requiredScopes } }],
    links: { scopes: 'https://developers.hubspot.com/scopes' },
  });
}

export function validationError(message: string, extra: Record<string, unknown> = {}): HubSpotReply {
  return errorReply(400, 'VALIDATION_ERROR', message, extra);
}

export function notFound(message = 'Resource not found'): HubSpotReply {
  return errorReply(404, 'OBJECT_NOT_FOUND', message);
}

/** The 429 bodies of HubSpot's usage guide; `policyName` is what the client's retry reads. */
export function rateLimited(policy: 'TEN_SECONDLY_ROLLING' | 'DAILY', headers: Record<string, string>): HubSpotReply {
  return {
    status: 429,
    headers,
    body: {
      status: 'error',
      message: policy === 'DAILY' ? 'You have reached your daily limit.' : 'You have reached your ten_secondly_rolling limit.',
      errorType: 'RATE_LIMIT',
      correlationId: randomUUID(),
      policyName: policy,
      requestId: randomUUID().replaceAll('-', ''),
    },
  };
}

/** One entry of a batch response's `errors` (`StandardError` in the client's models). */
export interface BatchError {
  status: 'error';
  category: string;
  message: string;
  context: Record<string, string[]>;
  errors: Array<{ message: string; code?: string; context?: Record<string, string[]> }>;
  links: Record<string, string>;
}

export function batchError(category: string, message: string, context: Record<string, string[]>, errors: BatchError['errors'] = []): BatchError {
  return { status: 'error', category, message, context, errors, links: {} };
}
