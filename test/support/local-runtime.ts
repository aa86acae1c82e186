import { mkdtemp, rm } from 'node:fs/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalRuntime, type LocalRuntime, type LocalRuntimeOptions } from '../../local/runtime.ts';
import { DEMO_USERS } from '../../local/identity.ts';
import { LOCAL_CREDENTIALS } from '#runtime/clients.ts';
import { demoAccounts, demoRecord } from '../../local/demo-data.ts';
import { awsCallRecorder } from './aws-calls.ts';
import { registerSecret, TOTP_SECRET } from './log-capture.ts';
import { RESERVED_NAMES } from '#runtime/http.ts';

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
  const recordsPerType = options.recordsPerType ?? 40;
  const runtime = await startLocalRuntime({ port: 0, recordsPerType, retryDelayMs: 10, onAwsCall: awsCallRecorder(options.reauthenticateDownloads ? 'optional' : 'required'), ...options, dataDir });
  registerSensitiveValues(await runtime.banner(), recordsPerType);
  const tokens = new Map<string, string>();
  const tokenFor = async (email: string) => {
    const user = DEMO_USERS.find((candidate) => candidate.email === email);
    if (!user) throw new Error(`No demo user ${email}`);
    if (!tokens.has(email)) tokens.set(email, await runtime.issuer.signIn(user));
    registerSecret('a bearer token', tokens.get(email));
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
      registerTotpCode(new URL(path, runtime.url).searchParams.get('totp') ?? undefined);
      registerRequestSecrets(body, parsed, response.headers);
      return { status: response.status, headers: response.headers, body: parsed };
    },
    async destroy() {
      await runtime.stop();
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * What the log capture must never find (test/support/log-capture.ts): the demo TOTP
 * secrets, the local credentials, and the demo records' values that are long enough to be
 * told apart from ids and words of the service's own sentences.
 */
function registerSensitiveValues(banner: string, recordsPerType: number): void {
  for (const [, secret] of banner.matchAll(/secret (\w+)/g)) registerSecret(TOTP_SECRET, secret);
  registerSecret('the local secret access key', LOCAL_CREDENTIALS.secretAccessKey);
  for (const { account, objectTypes, records } of demoAccounts(recordsPerType)) {
    for (const type of objectTypes) {
      for (let index = 0; index < (records[type.name] ?? 0); index += 1) {
        for (const value of Object.values(demoRecord(account.id, objectTypes, type, index).properties)) {
          if (value.length >= 10 && /[\s@]/.test(value.trim())) registerSecret(`a value of a ${type.name} record`, value);
        }
      }
    }
  }
}

/** A `totp` a request sends, when it could be a code: the fuzzer sends ids and other strings there too. */
function registerTotpCode(value: unknown): void {
  if (typeof value === 'string' && /^\d{6}$/.test(value)) registerSecret('a TOTP code', value);
}

/** Codes and values a request sends, and the secrets and links an answer gives. */
function registerRequestSecrets(body: unknown, answer: unknown, headers: Headers): void {
  const sent = (typeof body === 'string' ? safeJson(body) : body) as { totp?: string; token?: string; properties?: Record<string, string> } | undefined;
  registerTotpCode(sent?.totp);
  registerSecret('the token of an emailed confirmation link', sent?.token);
  // A record's values (PATCH); a plan's list of property names is not one, nor a value
  // that is also a reserved name (refusals quote the name, never the value).
  if (!Array.isArray(sent?.properties))
    for (const value of Object.values(sent?.properties ?? {})) if (!RESERVED_NAMES.has(value)) registerSecret('a record value', value);
  const got = answer as { secret?: string; otpauthUri?: string; url?: string } | undefined;
  if (got && typeof got === 'object') {
    registerSecret(TOTP_SECRET, got.secret);
    registerSecret('an otpauth URI', got.otpauthUri);
    registerSecret('a presigned URL', got.url);
  }
  registerSecret('a presigned URL', headers.get('location') ?? undefined);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The Idempotency-Key records of an account in the app table (lambdas/runtime/idempotency.ts): one per keyed action. */
export async function idempotencyRecords(runtime: LocalRuntime, accountId: string): Promise<Array<Record<string, unknown>>> {
  const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: runtime.config.region, endpoint: runtime.config.local!.dynamodb, credentials: LOCAL_CREDENTIALS }));
  const { Items } = await client.send(
    new QueryCommand({
      TableName: runtime.config.appTableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': `ACCOUNT#${accountId}`, ':prefix': 'IDEMPOTENCY#' },
      ConsistentRead: true,
    }),
  );
  return Items ?? [];
}
