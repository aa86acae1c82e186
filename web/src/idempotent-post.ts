// Shared with the CLI (cli/crm-backup.ts): it lives with the page, the stricter of the two runtimes, so it imports nothing and uses only what browsers and Node 24 both have.

/** The header the API reads (API.md, "Safe retries"). */
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';

/** Tries of one user action in all, and the longest wait between two. */
const ATTEMPTS = 3;
const LONGEST_WAIT_MS = 5_000;

/**
 * Sends one user action's POST with its own Idempotency-Key, and sends it again with the
 * same key when the answer was lost (the connection failed), the service was busy (503),
 * or the first try is still running (409 IDEMPOTENCY_KEY_IN_USE): with the key, the
 * service runs the action at most once and answers a retry with the first response.
 * Any other answer is the action's answer. `send` makes the request with the key given.
 */
export async function postOnce(send: (key: string) => Promise<Response>, sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))): Promise<Response> {
  const key = crypto.randomUUID();
  for (let attempt = 1; ; attempt += 1) {
    let response: Response;
    try {
      response = await send(key);
    } catch (error) {
      if (attempt >= ATTEMPTS || (error as Error).name === 'AbortError') throw error;
      await sleep(1_000);
      continue;
    }
    if (attempt >= ATTEMPTS || !(await worthRetrying(response))) return response;
    await sleep(Math.min(LONGEST_WAIT_MS, Math.max(1, Number(response.headers.get('retry-after')) || 1) * 1_000));
  }
}

async function worthRetrying(response: Response): Promise<boolean> {
  if (response.status === 503) return true;
  if (response.status !== 409) return false;
  const body = (await response
    .clone()
    .json()
    .catch(() => undefined)) as { error?: { code?: string } } | undefined;
  return body?.error?.code === 'IDEMPOTENCY_KEY_IN_USE';
}
