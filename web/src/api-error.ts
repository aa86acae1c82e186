// Shared with the CLI (cli/crm-backup.ts): it lives with the page, the stricter of the two runtimes, so it imports nothing and uses only what browsers and Node 24 both have.

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

  /**
   * The API's error body `{"error": {"code", "message", ...details}}` as an ApiError.
   * `fallback` stands in for a missing code or sentence: a proxy's HTML page or an
   * empty 502 carries neither, and each caller words that for its own audience.
   */
  static fromAnswer(status: number, body: unknown, fallback: { code: string; message: string }): ApiError {
    const { code = fallback.code, message = fallback.message, ...details } = ((body as { error?: unknown } | undefined)?.error ?? {}) as Record<string, any>;
    return new ApiError(status, String(code), String(message), details);
  }
}

/** An answer's body as JSON; undefined when it is empty or not JSON (an error page from something in between). */
export async function readJsonBody(response: Response): Promise<unknown> {
  const text = await response.text();
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}
