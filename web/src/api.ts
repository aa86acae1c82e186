import { ApiError, readJsonBody } from './api-error.ts';
import { IDEMPOTENCY_KEY_HEADER, postOnce } from './idempotent-post.ts';
import type { WebConfig } from './auth.ts';

/** Calls `/v1/...` with the bearer token; every non-2xx becomes an ApiError with the API's sentence. */
export class Api {
  private readonly config: WebConfig;
  private readonly token: () => Promise<string | undefined>;
  private readonly onUnauthorized: () => void;

  /** `token` answers a bearer token that is not about to expire (renewing it if needed), or none when signed out. */
  constructor(config: WebConfig, token: () => Promise<string | undefined>, onUnauthorized: () => void) {
    this.config = config;
    this.token = token;
    this.onUnauthorized = onUnauthorized;
  }

  get<T>(path: string, signal?: AbortSignal): Promise<T> {
    return this.request<T>('GET', path, undefined, signal);
  }

  /** One user action: its own Idempotency-Key, sent again with it if the answer was lost or the service busy. */
  post<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  put<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PUT', path, body);
  }

  async request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const token = await this.token();
    const send = (key?: string) =>
      fetch(`${this.config.apiUrl}${path}`, {
        method,
        signal,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(key ? { [IDEMPOTENCY_KEY_HEADER]: key } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    let response: Response;
    try {
      response = method === 'POST' ? await postOnce(send) : await send();
    } catch (error) {
      if (signal?.aborted) throw error;
      throw new ApiError(0, 'NETWORK_ERROR', 'The service could not be reached; check your connection and try again.');
    }
    const answer = await readJsonBody(response);
    if (response.ok) return answer as T;
    const error = ApiError.fromAnswer(response.status, answer, { code: 'HTTP_ERROR', message: `The service answered HTTP ${response.status}.` });
    // A 503 says when to ask again (the local runtime while it starts, a throttled service).
    const retryAfter = Number(response.headers.get('retry-after'));
    if (response.status === 503 && retryAfter > 0) error.details.retryAfterSeconds = retryAfter;
    if (error.status === 401 && error.code !== 'REAUTH_REQUIRED' && error.code !== 'REAUTH_FAILED') this.onUnauthorized();
    throw error;
  }
}
