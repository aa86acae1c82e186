import { SourceReconnectRequiredError, SourceScopesMissingError, StepFailedError, TransientError } from '#core/errors.ts';
import { HubSpotClient } from './hubspot-client.ts';
import { rateLimitHeaders, type RequestBudget } from './request-budget.ts';

/** Where HubSpot's API is (tests and the local runtime point it at the stand-in). */
export const HUBSPOT_API_URL = 'https://api.hubapi.com';

/** Attempts of one request that HubSpot answered with a 5xx or not at all, before it counts as unavailable. */
const SERVER_ERROR_ATTEMPTS = 4;
/** Waits after a 5xx grow by this much per attempt (the client's own figure, HUBSPOT.md §7). */
const SERVER_ERROR_WAIT_MS = 200;
/** Window 429s in a row (each followed by a longer shared back-off, up to a window) before a request gives up. */
const RATE_LIMITED_ATTEMPTS = 30;

/** What an answer is made of, whichever way it was asked (a typed call's HttpInfo, or apiRequest's Response read). */
export interface HubSpotAnswer<T> {
  httpStatusCode: number;
  headers: Record<string, string>;
  data: T;
}

/** A refusal of HubSpot's that is not about tokens, scopes, limits or availability: the caller decides (a 404 of a batch read). */
export class HubSpotRequestError extends Error {
  readonly status: number;
  readonly category: string | undefined;

  constructor(status: number, category: string | undefined, message: string) {
    super(message);
    this.name = 'HubSpotRequestError';
    this.status = status;
    this.category = category;
  }
}

export interface HubSpotApiOptions {
  /** The private app's (or Service Key's) token: held in memory only, never logged. */
  accessToken: string;
  baseUrl: string;
  budget: RequestBudget;
  sleep: (ms: number) => Promise<void>;
}

/**
 * The official client, and the one way every call to HubSpot is made: through the
 * portal's shared budget (request-budget.ts), with HubSpot's refusals turned into errors
 * a person understands.
 *
 * The client's own retries and limiter are off, on purpose (HUBSPOT.md §7): its
 * `numberOfApiCallRetries` waits 10 s × attempt after each window 429, per process,
 * and never retries a daily 429 nor anything asked through `apiRequest`; its Bottleneck
 * limiter paces one process only; and both are process-wide settings that each
 * `new Client()` resets. The client here (hubspot-client.ts) has neither, and `call`
 * does what they would not: pace all Lambdas of a portal together, back off from a window 429 for everyone, stop at a daily 429, and
 * retry 5xx answers (and answers without a body, which the client cannot parse) a
 * few times.
 */
export class HubSpotApi {
  readonly client: HubSpotClient;
  private readonly options: HubSpotApiOptions;

  constructor(options: HubSpotApiOptions) {
    this.options = options;
    this.client = new HubSpotClient({ accessToken: options.accessToken, basePath: options.baseUrl });
  }

  /** One request, paced, retried while HubSpot is busy or briefly unavailable; `send` is called once per attempt. */
  async call<T>(send: () => Promise<HubSpotAnswer<T>>): Promise<T> {
    let serverErrors = 0;
    let rateLimited = 0;
    for (;;) {
      await this.options.budget.take();
      let answer: HubSpotAnswer<T>;
      try {
        answer = await send();
      } catch (error) {
        const refusal = refusalOf(error);
        if (refusal.headers) await this.options.budget.observe(rateLimitHeaders(refusal.headers));
        if (refusal.status === 429) {
          if (refusal.body?.policyName === 'DAILY') throw await this.options.budget.endDay();
          rateLimited += 1;
          if (rateLimited >= RATE_LIMITED_ATTEMPTS) {
            throw new TransientError(`HubSpot kept answering that the portal's rate limit is reached (its other integrations may be using the budget), ${rateLimited} times in a row`);
          }
          await this.options.budget.backOff(rateLimited, Number(refusal.headers?.['x-hubspot-ratelimit-interval-milliseconds']) || undefined);
          continue;
        }
        if (refusal.status === undefined || refusal.status >= 500) {
          serverErrors += 1;
          if (serverErrors >= SERVER_ERROR_ATTEMPTS) {
            throw new TransientError(`HubSpot is temporarily unavailable (${refusal.status ? `it answered ${refusal.status}` : 'no usable answer'}, ${serverErrors} times)`, { cause: error });
          }
          await this.options.sleep(SERVER_ERROR_WAIT_MS * serverErrors);
          continue;
        }
        throw translate(refusal);
      }
      await this.options.budget.observe(rateLimitHeaders(answer.headers));
      return answer.data;
    }
  }

  /**
   * A request the typed client has no method for (properties with `dataSensitivity`,
   * threads, account info), answered like the typed ones: data on 2xx, an
   * ApiException-like refusal otherwise (`apiRequest` itself never throws on 4xx/5xx).
   */
  async request<T>(options: { method?: string; path: string; qs?: Record<string, string | number | boolean | undefined>; body?: unknown }): Promise<T> {
    const qs = Object.fromEntries(Object.entries(options.qs ?? {}).filter(([, value]) => value !== undefined).map(([name, value]) => [name, String(value)]));
    return this.call(async () => {
      const response = await this.client.apiRequest({ method: options.method ?? 'GET', path: options.path, qs, ...(options.body !== undefined ? { body: options.body } : {}) });
      const headers: Record<string, string> = {};
      response.headers.forEach((value, name) => (headers[name] = value));
      const text = await response.text();
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = undefined;
      }
      if (response.status >= 400) throw Object.assign(new Error(`HubSpot answered ${response.status}`), { code: response.status, body, headers });
      return { httpStatusCode: response.status, headers, data: body as T };
    });
  }
}

interface Refusal {
  status?: number;
  body?: { category?: string; message?: string; policyName?: string; errors?: Array<{ context?: { requiredScopes?: string[] } }> };
  headers?: Record<string, string>;
}

/** The parts of a failed call: an ApiException of a typed call, our refusal of `request`, or an Error without a status (no answer, a body the client could not parse). */
function refusalOf(error: unknown): Refusal {
  const candidate = error as { code?: unknown; body?: unknown; headers?: unknown };
  if (typeof candidate?.code !== 'number') return {};
  return {
    status: candidate.code,
    body: typeof candidate.body === 'object' && candidate.body !== null ? (candidate.body as Refusal['body']) : undefined,
    headers: typeof candidate.headers === 'object' && candidate.headers !== null ? lowerCased(candidate.headers as Record<string, string>) : undefined,
  };
}

/** A refusal as the error the rest of the service understands. */
function translate(refusal: Refusal): Error {
  const { status, body } = refusal;
  if (status === 401) {
    const expired = body?.category === 'EXPIRED_AUTHENTICATION';
    return new SourceReconnectRequiredError(
      `HubSpot ${expired ? 'says the token crm-backup was connected with has expired' : 'no longer accepts the token crm-backup was connected with (its private app was deleted, or the token rotated)'}: reconnect HubSpot on the Data source page (or with "crm-backup source connect") with a current token.`,
      { source: 'hubspot' },
    );
  }
  if (status === 403 && body?.category === 'MISSING_SCOPES') {
    const missingScopes = body.errors?.flatMap((error) => error.context?.requiredScopes ?? []) ?? [];
    return new SourceScopesMissingError(
      `The HubSpot token lacks a scope this needs: ${missingScopes.length ? `grant ${missingScopes.join(' or ')}` : 'HubSpot did not say which'} to the private app, then reconnect HubSpot.`,
      { source: 'hubspot', missingScopes },
    );
  }
  return new HubSpotRequestError(status ?? 0, body?.category, `HubSpot refused a request (${status}${body?.category ? ` ${body.category}` : ''}): ${body?.message ?? 'no reason given'}`);
}

function lowerCased(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), String(value)]));
}

/** An unexpected refusal, when it reaches a step: readable, and not retried. */
export function asStepFailure(error: unknown): unknown {
  return error instanceof HubSpotRequestError ? new StepFailedError(error.message, { cause: error }) : error;
}
