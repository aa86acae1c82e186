import type { WebConfig } from './auth.ts';

/** An error answered by the API: its code and the sentence to show as it is. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown>;

  constructor(status: number, code: string, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** Calls `/v1/...` with the bearer token; every non-2xx becomes an ApiError with the API's sentence. */
export class Api {
  private readonly config: WebConfig;
  private readonly token: () => string | undefined;
  private readonly onUnauthorized: () => void;

  constructor(config: WebConfig, token: () => string | undefined, onUnauthorized: () => void) {
    this.config = config;
    this.token = token;
    this.onUnauthorized = onUnauthorized;
  }

  get<T>(path: string, signal?: AbortSignal): Promise<T> {
    return this.request<T>('GET', path, undefined, signal);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  put<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PUT', path, body);
  }

  async request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const token = this.token();
    let response: Response;
    try {
      response = await fetch(`${this.config.apiUrl}${path}`, {
        method,
        signal,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      if (signal?.aborted) throw error;
      throw new ApiError(0, 'NETWORK_ERROR', 'The service could not be reached; check your connection and try again.');
    }
    const text = await response.text();
    let parsed: any;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (response.ok) return parsed as T;
    const { code = 'HTTP_ERROR', message = `The service answered HTTP ${response.status}.`, ...details } = (parsed?.error ?? {}) as Record<string, any>;
    if (response.status === 401 && code !== 'REAUTH_REQUIRED' && code !== 'REAUTH_FAILED') this.onUnauthorized();
    throw new ApiError(response.status, String(code), String(message), details);
  }
}
