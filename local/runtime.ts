import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Server } from 'node:http';
import type { Context } from 'aws-lambda';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { InvokeStore, InvokeStoreBase } from '@aws/lambda-invoke-store';
import type { Clock } from '#core/ports/clock.ts';
import {
  API_ROUTES,
  EXECUTION_STATUS_RULES,
  FUNCTIONS,
  SCHEDULED_FUNCTIONS,
  STATE_MACHINES,
  aslSubstitutions,
  substituteAsl,
  type FunctionName,
} from '#service/catalog.ts';
import { configToEnv, type AppConfig } from '#runtime/config.ts';
import { LOCAL_CREDENTIALS } from '#runtime/clients.ts';
import { buildDeps, type AppDeps } from '#runtime/deps.ts';
import type { ApiEvent } from '#runtime/http.ts';
import { currentFunction, recordAwsCalls, type AwsCall } from './aws-calls.ts';
import { createTables, startDynamoDb } from './dynamodb.ts';
import { startEmailOutbox, type OutboxEmail } from './email-outbox.ts';
import { startEventBus, type BusEvent } from './event-bus.ts';
import { apiError, lambdaContext, send, startHttpServer, type LocalRoute } from './http-server.ts';
import { DEMO_USERS, LocalIssuer } from './identity.ts';
import { webPageRoute } from './web-assets.ts';
import { startKms } from './kms.ts';
import { startS3 } from './s3.ts';
import { seedDemoPortal } from './hubspot/demo-portal.ts';
import { seedInitech } from './demo-source.ts';
import { HUBSPOT_PATH_PREFIX, HubSpotStandIn } from './hubspot/stand-in.ts';
import { seedDemoData } from './seed.ts';
import { ensureDemoTotp, totpBanner } from './demo-totp.ts';
import { LocalStepFunctions, type ExecutionStatusChange } from './step-functions.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const REGION = 'us-east-1';
/** Table names in the local stand-in (in AWS the CDK names them). */
export const LOCAL_TABLE_NAMES = { DataTable: 'crm-data', AppTable: 'crm-backup-app' };
const LOCAL_ACCOUNT = '000000000000';

/** How the local runtime names what the stacks create in AWS (the permission check maps one onto the other). */
export const LOCAL_RESOURCES = {
  region: REGION,
  tables: LOCAL_TABLE_NAMES,
  bucket: 'crm-backup-local',
  senderEmail: 'backups@crm-backup.local',
  /** The record change bus. */
  eventBus: 'crm-record-changes',
  functionArn: (name: FunctionName) => `arn:aws:lambda:${REGION}:${LOCAL_ACCOUNT}:function:${name}`,
  stateMachineArn: (name: string) => `arn:aws:states:${REGION}:${LOCAL_ACCOUNT}:stateMachine:${name}`,
};

export interface LocalRuntimeOptions {
  /** Where all state lives (tables, objects, outbox, keys). */
  dataDir: string;
  /** HTTP port; 0 picks a free one (tests). */
  port: number;
  /** Demo records per object type when seeding a fresh DATA_DIR. */
  recordsPerType?: number;
  /** Time as the handlers see it (tests move it to check quotas and expiry). */
  clock?: Clock;
  /** Wraps the handlers' dependencies: fault injection in tests. */
  wrapDeps?: (deps: AppDeps) => AppDeps;
  /** Told every AWS SDK call a function makes (the permission check evaluates them against IAM). */
  onAwsCall?: (call: AwsCall) => void;
  /** Called after every local Lambda invocation (benchmarks time the backup's stages with it). */
  onInvoke?: (name: FunctionName, payload: unknown, startedAt: number, endedAt: number) => void;
  /** Shorter Lambda time budgets, to make long work continue across invocations in tests. */
  functionTimeoutSeconds?: Partial<Record<FunctionName, number>>;
  /** Delay before each ASL retry, in ms; default: as the ASL says. */
  retryDelayMs?: number;
  /** Run scheduled functions on their timers (off in tests, which call them directly). */
  runSchedules?: boolean;
  /** More local-only HTTP routes (the web page mounts itself here). */
  extraRoutes?: LocalRoute[];
  /** The handlers' log level (LOG_LEVEL for `npm start`); INFO when absent. */
  logLevel?: string;
  /** Downloads ask for a TOTP code like restores, as in a deployment with `-c mfa=optional`. */
  reauthenticateDownloads?: boolean;
  /**
   * Run these bundles (`index.mjs` per function, as `cdk synth` wrote them to cdk.out)
   * instead of the TypeScript sources: each is configured only by the environment, as
   * in Lambda, and builds its own dependencies, so `wrapDeps` and `clock` do not reach it.
   */
  bundledFunctions?: Record<FunctionName, string>;
  /**
   * Called once the HTTP server listens, before the tables, functions and demo data
   * are ready: until then the API answers 503 with Retry-After (`npm start` prints the address early).
   */
  onListening?: (url: string) => void;
}

export interface LocalRuntime {
  url: string;
  config: AppConfig;
  deps: AppDeps;
  issuer: LocalIssuer;
  stepFunctions: LocalStepFunctions;
  /** The HubSpot stand-in served under `/hubspot` (docs/hubspot-stand-in.md). */
  hubspot: HubSpotStandIn;
  /** Invokes a function by name, exactly as Step Functions or EventBridge would. */
  invoke(functionName: FunctionName, payload: unknown): Promise<unknown>;
  outbox(): Promise<OutboxEmail[]>;
  /** Events put on the record change bus (EventBridge), oldest first. */
  busEvents(): Promise<BusEvent[]>;
  /** Extra lines for the start-up printout (e.g. the demo TOTP secret). */
  banner(): Promise<string>;
  /** Resolves once no state machine execution is running. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

type LoadedHandler = (event: unknown, context: Context) => Promise<unknown>;

/**
 * Starts the whole service on this machine: DynamoDB, S3, Step Functions and SES
 * stand-ins, the same handlers Lambda runs, and an HTTP server in front of them.
 */
export async function startLocalRuntime(options: LocalRuntimeOptions): Promise<LocalRuntime> {
  const dataDir = resolve(options.dataDir);
  await mkdir(dataDir, { recursive: true });
  const names = LOCAL_TABLE_NAMES;
  const { bucket, functionArn, stateMachineArn } = LOCAL_RESOURCES;

  const dynamo = await startDynamoDb(join(dataDir, 'dynamodb'));
  const s3 = await startS3(join(dataDir, 's3'), bucket, { ...LOCAL_CREDENTIALS, region: REGION });
  const outbox = await startEmailOutbox(join(dataDir, 'outbox.jsonl'));
  const kms = await startKms(join(dataDir, 'local-secrets-key'));
  const eventBus = await startEventBus(join(dataDir, 'change-events.jsonl'));
  const issuer = await LocalIssuer.open(join(dataDir, 'local-issuer-key.json'));
  const hubspot = HubSpotStandIn.open(join(dataDir, 'hubspot'), { clock: options.clock });

  // Invocations run concurrently in this one process, as in Lambda's multi-concurrency
  // mode: the Lambda runtime's invocation store keeps each one's log keys and metrics apart.
  process.env.AWS_LAMBDA_MAX_CONCURRENCY ??= '64';
  const invocations = await InvokeStore.getInstanceAsync(true);
  const handlers = new Map<FunctionName, LoadedHandler>();
  const invoke = async (name: FunctionName, payload: unknown) => {
    const handler = handlers.get(name);
    if (!handler) throw new Error(`No local function named ${name}`);
    const spec = FUNCTIONS[name];
    const startedAt = Date.now();
    try {
      const context = lambdaContext(name, options.functionTimeoutSeconds?.[name] ?? spec.timeoutSeconds, spec.memoryMb);
      const invocation = { [InvokeStoreBase.PROTECTED_KEYS.REQUEST_ID]: context.awsRequestId };
      return await invocations.run(invocation, () => currentFunction.run(name, () => handler(payload, context)));
    } finally {
      options.onInvoke?.(name, payload, startedAt, Date.now());
    }
  };

  const stepFunctions = new LocalStepFunctions({
    stateFile: join(dataDir, 'executions.json'),
    invoke: (arn, payload) => invoke(arn.split(':').pop() as FunctionName, payload),
    onStatusChange: (event) => runStatusRules(event),
    retryDelayMs: options.retryDelayMs,
  });
  const runStatusRules = async (event: ExecutionStatusChange) => {
    for (const rule of EXECUTION_STATUS_RULES) {
      if (event.detail.stateMachineArn === stateMachineArn(rule.stateMachine) && rule.statuses.includes(event.detail.status)) {
        await invoke(rule.function, event);
      }
    }
  };

  const config: AppConfig = {
    region: REGION,
    stage: 'local',
    ...(options.logLevel ? { logLevel: options.logLevel } : {}),
    dataTableName: names.DataTable,
    appTableName: names.AppTable,
    backupBucketName: bucket,
    backupStateMachineArn: stateMachineArn('backup'),
    restoreStateMachineArn: stateMachineArn('restore'),
    restorePlanStateMachineArn: stateMachineArn('restore-plan'),
    comparisonStateMachineArn: stateMachineArn('comparison'),
    anomalyCheckStateMachineArn: stateMachineArn('anomaly-check'),
    senderEmail: LOCAL_RESOURCES.senderEmail,
    appUrl: '',
    secretsKeyId: kms.keyArn,
    eventBusName: LOCAL_RESOURCES.eventBus,
    reauthenticateDownloads: options.reauthenticateDownloads ?? false,
    // The DynamoDB stand-in is one process on a laptop's cores, not 16 partitions: more
    // plan segments at once than this only queue in it.
    restoreTuning: { segmentsAtOnce: 4 },
    local: {
      dynamodb: dynamo.endpoint,
      s3: s3.endpoint,
      stepFunctions: '',
      ses: outbox.endpoint,
      kms: kms.endpoint,
      eventBridge: eventBus.endpoint,
      superAdmins: DEMO_USERS.filter((user) => user.superAdmin).map(({ accountId, email }) => ({ accountId, email })),
    },
  };

  const substitutions = aslSubstitutions({ functionArn, dataTableName: names.DataTable, appTableName: names.AppTable, backupBucketName: bucket });
  for (const [name, machine] of Object.entries(STATE_MACHINES)) {
    const text = await readFile(join(ROOT, 'statemachines', machine.file), 'utf8');
    stepFunctions.register(stateMachineArn(name), JSON.parse(substituteAsl(text, substitutions)));
  }

  // The HTTP server must be up before the config is final: emails link to its URL.
  // The admin web page goes last: it answers every other GET outside /v1 and /local (SPA fallback).
  // What the runtime is doing until it is ready; the API answers 503 meanwhile, so that an
  // early request reads "starting" rather than a missing account.
  let starting: string | undefined = 'creating the tables';
  const localRoutes: LocalRoute[] = [
    startingRoute(() => starting),
    ...(options.extraRoutes ?? []),
    localOnlyRoutes(issuer, () => outbox.list()),
    hubspot.route(),
    webPageRoute(),
  ];
  const { url, server } = await startHttpServer({
    port: options.port,
    routes: API_ROUTES,
    invoke: (name, event: ApiEvent) => invoke(name as FunctionName, event) as never,
    verifyToken: (token) => issuer.verify(token),
    localRoutes,
  });
  config.appUrl = url;
  config.hubspotApiUrl = `${url}${HUBSPOT_PATH_PREFIX}`;
  options.onListening?.(url);
  config.local!.stepFunctions = await stepFunctions.start().catch(async (error) => {
    server.close();
    throw error;
  });

  const deps = buildDeps(config, {
    clock: options.clock,
    wrap: options.wrapDeps,
    instruments: options.onAwsCall ? [recordAwsCalls(names, options.onAwsCall)] : [],
  });
  await createTables(new DynamoDBClient({ region: REGION, endpoint: dynamo.endpoint, credentials: LOCAL_CREDENTIALS }), names);
  starting = 'loading the functions';
  if (options.bundledFunctions) Object.assign(process.env, configToEnv(config));
  for (const name of Object.keys(FUNCTIONS) as FunctionName[]) {
    const bundle = options.bundledFunctions?.[name];
    if (bundle) {
      handlers.set(name, ((await import(bundle)) as { handler: LoadedHandler }).handler);
      continue;
    }
    const module = (await import(join(ROOT, 'lambdas', 'handlers', FUNCTIONS[name].entry))) as { createHandler: (deps: AppDeps) => LoadedHandler };
    handlers.set(name, module.createHandler(deps));
  }
  starting = 'seeding demo data';
  await seedDemoData(deps.records, { recordsPerType: options.recordsPerType ?? 2500 });
  await seedInitech(deps, hubspot, seedDemoPortal(hubspot, { recordsPerType: options.recordsPerType ?? 2500 }));
  const demoTotp = await ensureDemoTotp(deps);
  starting = 'recovering interrupted executions';
  await stepFunctions.abortInterrupted();
  starting = undefined;

  const timers = (options.runSchedules ? SCHEDULED_FUNCTIONS : []).map((schedule) =>
    setInterval(() => {
      invoke(schedule.function, { source: 'aws.events', 'detail-type': 'Scheduled Event', time: new Date().toISOString() }).catch((error) =>
        console.error(`[local] scheduled ${schedule.function} failed:`, error),
      );
    }, schedule.everyMinutes * 60_000),
  );

  return {
    url,
    config,
    deps,
    issuer,
    stepFunctions,
    hubspot,
    invoke,
    outbox: () => outbox.list(),
    busEvents: () => eventBus.events(),
    idle: () => stepFunctions.idle(),
    banner: async () => totpBanner(demoTotp),
    async stop() {
      timers.forEach(clearInterval);
      await closeServer(server);
      hubspot.close();
      await stepFunctions.stop();
      await outbox.stop();
      await kms.stop();
      await eventBus.stop();
      await s3.stop();
      await dynamo.stop();
    },
  };
}

/** Seconds a client should wait before asking again while the runtime starts. */
const STARTING_RETRY_AFTER_SECONDS = 2;

/**
 * While the runtime starts, the API answers 503 with Retry-After and what it is doing.
 * The web page and `/local/...` are served already: the page shows the sentence and
 * tries again by itself.
 */
function startingRoute(activity: () => string | undefined): LocalRoute {
  return async (request, response) => {
    const doing = activity();
    if (doing === undefined || !/^\/v1(\/|$)/.test(new URL(request.url ?? '/', 'http://localhost').pathname)) return false;
    send(response, 503, apiError('SERVICE_UNAVAILABLE', `The service is starting: ${doing}. Try again in a few seconds.`), { 'retry-after': String(STARTING_RETRY_AFTER_SECONDS) });
    return true;
  };
}

/** `/local/sign-in` and `/local/outbox` (API.md, "Only in the local runtime"). */
function localOnlyRoutes(issuer: LocalIssuer, listOutbox: () => Promise<OutboxEmail[]>): LocalRoute {
  return async (request, response, body) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (path === '/local/sign-in' && request.method === 'POST') {
      let email: unknown;
      try {
        email = JSON.parse(body.toString('utf8') || '{}').email;
      } catch {
        send(response, 400, apiError('VALIDATION_ERROR', 'The request body is not valid JSON.'));
        return true;
      }
      const user = DEMO_USERS.find((candidate) => candidate.email === email);
      if (!user) {
        send(response, 400, apiError('VALIDATION_ERROR', `email: not a demo user; use one of ${DEMO_USERS.map((u) => u.email).join(', ')}.`));
        return true;
      }
      send(response, 200, { token: await issuer.signIn(user), user });
      return true;
    }
    if (path === '/local/outbox' && request.method === 'GET') {
      send(response, 200, { items: await listOutbox() });
      return true;
    }
    return false;
  };
}

async function closeServer(server: Server): Promise<void> {
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
