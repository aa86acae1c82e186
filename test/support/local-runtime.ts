import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalRuntime, type LocalRuntime, type LocalRuntimeOptions } from '../../local/runtime.ts';
import { DEMO_USERS } from '../../local/identity.ts';
import { awsCallRecorder } from './aws-calls.ts';

export interface TestRuntime extends LocalRuntime {
  dataDir: string;
  /** A bearer token for a demo user, by email. */
  tokenFor(email: string): Promise<string>;
  /** Calls the HTTP API as a demo user (anonymously with `as: null`). */
  api(method: string, path: string, options?: { as?: string | null; body?: unknown; headers?: Record<string, string> }): Promise<ApiResponse>;
  /** Stops the runtime and deletes its data directory. */
  destroy(): Promise<void>;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  body: any;
}

/** Starts a local runtime on a free port in a fresh temporary DATA_DIR, with little demo data. */
export async function startTestRuntime(options: Partial<LocalRuntimeOptions> = {}): Promise<TestRuntime> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'crm-backup-test-')));
  const runtime = await startLocalRuntime({ port: 0, recordsPerType: 40, retryDelayMs: 10, onAwsCall: awsCallRecorder(options.reauthenticateDownloads ? 'optional' : 'required'), ...options, dataDir });
  const tokens = new Map<string, string>();
  const tokenFor = async (email: string) => {
    const user = DEMO_USERS.find((candidate) => candidate.email === email);
    if (!user) throw new Error(`No demo user ${email}`);
    if (!tokens.has(email)) tokens.set(email, await runtime.issuer.signIn(user));
    return tokens.get(email)!;
  };
  return {
    ...runtime,
    dataDir,
    tokenFor,
    async api(method, path, { as = 'admin@acme.example', body, headers = {} } = {}) {
      const response = await fetch(`${runtime.url}${path}`, {
        method,
        redirect: 'manual',
        headers: {
          ...(as ? { authorization: `Bearer ${await tokenFor(as)}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON: keep the text
      }
      return { status: response.status, headers: response.headers, body: parsed };
    },
    async destroy() {
      await runtime.stop();
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
