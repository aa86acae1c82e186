import { CognitoSuperAdminDirectory, ListedSuperAdmins } from '#adapters/cognito-super-admin-directory.ts';
import { DynamoDbAlertSettings } from '#adapters/dynamodb-alert-settings.ts';
import { DynamoDbAuditLog } from '#adapters/dynamodb-audit-log.ts';
import { DynamoDbComparisonRepository } from '#adapters/dynamodb-comparison-repository.ts';
import { DynamoDbBackupRepository } from '#adapters/dynamodb-backup-repository.ts';
import { DynamoDbRecordStore } from '#adapters/dynamodb-record-store.ts';
import { S3BlobStore } from '#adapters/s3-blob-store.ts';
import { S3ZipAssemblyTarget } from '#adapters/s3-zip-assembly-target.ts';
import type { ZipAssemblyTarget } from '#core/ports/zip-assembly-target.ts';
import { SesMailer } from '#adapters/ses-mailer.ts';
import { SfnWorkflowStarter } from '#adapters/sfn-workflow-starter.ts';
import { DynamoDbRestoreLock } from '#adapters/dynamodb-restore-lock.ts';
import { DynamoDbRestoreRepository } from '#adapters/dynamodb-restore-repository.ts';
import { DynamoDbTotpSecrets } from '#adapters/dynamodb-totp-secrets.ts';
import { EventBridgeEventPublisher } from '#adapters/eventbridge-event-publisher.ts';
import { KmsSecretCipher } from '#adapters/kms-secret-cipher.ts';
import { noEventPublisher, type EventPublisher } from '#core/ports/event-publisher.ts';
import type { RestoreLock } from '#core/ports/restore-lock.ts';
import type { ImportLog, RestoreRepository } from '#core/ports/restore-repository.ts';
import type { SecretCipher, TotpSecrets } from '#core/ports/totp-secrets.ts';
import type { AlertSettingsRepository } from '#core/ports/alert-settings-repository.ts';
import type { AuditLog } from '#core/ports/audit-log.ts';
import type { ComparisonRepository } from '#core/ports/comparison-repository.ts';
import type { SuperAdminDirectory } from '#core/ports/super-admin-directory.ts';
import type { BackupRepository } from '#core/ports/backup-repository.ts';
import type { BlobStore } from '#core/ports/blob-store.ts';
import type { WorkflowStarter } from '#core/ports/workflow-starter.ts';
import type { Mailer } from '#core/ports/mailer.ts';
import { systemClock, type Clock } from '#core/ports/clock.ts';
import { timeOrderedIds, type IdGenerator } from '#core/ports/ids.ts';
import type { RecordStore } from '#core/ports/record-store.ts';
import type { DataSources } from '#core/ports/data-source.ts';
import type { SourceConnections, SourceInspector } from '#core/ports/source-connections.ts';
import { ConnectedSources } from '#adapters/connected-sources.ts';
import { DynamoDbSourceConnections } from '#adapters/dynamodb-source-connections.ts';
import { DynamoDbBudgetStore } from '#adapters/hubspot/dynamodb-budget-store.ts';
import { HUBSPOT_API_URL } from '#adapters/hubspot/hubspot-api.ts';
import { HubSpotInspector } from '#adapters/hubspot/hubspot-inspector.ts';
import type { BusinessMetrics } from '#core/ports/metrics.ts';
import { createAwsClients, type ClientInstrument } from './clients.ts';
import type { AppConfig } from './config.ts';
import { DynamoDbIdempotentRequests, type IdempotentRequests } from './idempotency.ts';
import { businessMetrics, createTelemetry, traceClients, type Telemetry } from './telemetry.ts';

/**
 * Everything a handler may need, built once per container. Core steps declare the
 * narrow slice they use (`DataPlaneDeps`, ...), and this object satisfies them all.
 */
export interface AppDeps {
  config: AppConfig;
  /** Logger, metrics and tracer (Powertools): the handlers' middlewares use them. */
  telemetry: Telemetry;
  /** Business metrics, counted by the core steps. */
  metrics: BusinessMetrics;
  /** Idempotency-Key on the POST routes that start work (catalog.ts, IDEMPOTENT_ROUTES). */
  idempotency: IdempotentRequests;
  clock: Clock;
  ids: IdGenerator;
  /** The built-in CRM's data plane (accounts, object types, records, change events). */
  records: RecordStore;
  /** Each account's data source, which backups read and restores write. */
  sources: DataSources;
  audit: AuditLog;
  mailer: Mailer;
  /** The backup bucket. */
  blobs: BlobStore;
  /** Builds backup zips in the backup bucket from stored segments (UploadPartCopy). */
  zipAssembly: ZipAssemblyTarget;
  /** Backup metadata, quota claims and schedules. */
  backups: BackupRepository;
  /** Starts state machine executions (backup, restore). */
  workflows: WorkflowStarter;
  /** Restore plans, restores and their segment progress. */
  restores: RestoreRepository;
  /** Completed imports (restores list themselves here). */
  imports: ImportLog;
  /** One restore per account at a time (conditional lock with a lease). */
  lock: RestoreLock;
  /** Per-user TOTP enrolments for re-authentication. */
  totp: TotpSecrets;
  /** Encrypts TOTP secrets with the KMS key. */
  secrets: SecretCipher;
  /** Publishes change events and anomalies (EventBridge when a bus is configured). */
  events: EventPublisher;
  /** Each account's connected CRM, if any (its token encrypted by `secrets`). */
  connections: SourceConnections;
  /** Checks a CRM token live before it is stored. */
  inspector: SourceInspector;
  /** Comparisons of backups with each other and with live data. */
  comparisons: ComparisonRepository;
  /** Each account's anomaly alert thresholds. */
  alertSettings: AlertSettingsRepository;
  /** Who an account's super admins are (alerts email them). */
  directory: SuperAdminDirectory;
}

/** Options the local runtime and tests use to steer time or inject faults. */
export interface DepsOverrides {
  clock?: Clock;
  /** Wraps the built deps, e.g. to make one port fail after N calls. */
  wrap?: (deps: AppDeps) => AppDeps;
  /** Middleware for every SDK client (the local runtime records each call a function makes). */
  instruments?: ClientInstrument[];
}

/** The composition root: real adapters over real SDK clients. */
export function buildDeps(config: AppConfig, overrides: DepsOverrides = {}): AppDeps {
  const telemetry = createTelemetry(config);
  const clients = createAwsClients(config, [traceClients(telemetry.tracer), ...(overrides.instruments ?? [])]);
  const clock = overrides.clock ?? systemClock;
  const ids = timeOrderedIds(clock);
  const records = new DynamoDbRecordStore(clients.dynamodb, config.dataTableName);
  const events = config.eventBusName ? new EventBridgeEventPublisher(clients.eventBridge, config.eventBusName) : noEventPublisher;
  const hubspotApiUrl = config.hubspotApiUrl ?? HUBSPOT_API_URL;
  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
  // Built once, over the final ports, so that a wrapped port (fault injection) is the one sources use.
  let sources: ConnectedSources | undefined;
  const connectedSources = () =>
    (sources ??= new ConnectedSources({
      connections: built.connections,
      secrets: built.secrets,
      builtIn: built,
      budgets: new DynamoDbBudgetStore(clients.dynamodb, config.appTableName),
      hubspotApiUrl,
      clock: built.clock,
      sleep,
    }));
  const deps: AppDeps = {
    config,
    telemetry,
    metrics: businessMetrics(telemetry.metrics),
    idempotency: new DynamoDbIdempotentRequests(clients.dynamodbClient, config.appTableName),
    clock,
    ids,
    records,
    sources: { forAccount: (accountId) => connectedSources().forAccount(accountId) },
    audit: new DynamoDbAuditLog(clients.dynamodb, config.appTableName),
    mailer: new SesMailer(clients.ses, config.senderEmail),
    blobs: new S3BlobStore(clients.s3, config.backupBucketName),
    zipAssembly: new S3ZipAssemblyTarget(clients.s3, config.backupBucketName),
    backups: new DynamoDbBackupRepository(clients.dynamodb, config.appTableName),
    workflows: new SfnWorkflowStarter(clients.stepFunctions, {
      backup: config.backupStateMachineArn,
      restore: config.restoreStateMachineArn,
      'restore-plan': config.restorePlanStateMachineArn ?? '',
      comparison: config.comparisonStateMachineArn ?? '',
      'anomaly-check': config.anomalyCheckStateMachineArn ?? '',
    }),
    restores: new DynamoDbRestoreRepository(clients.dynamodb, config.appTableName),
    imports: new DynamoDbRestoreRepository(clients.dynamodb, config.appTableName),
    lock: new DynamoDbRestoreLock(clients.dynamodb, config.appTableName),
    totp: new DynamoDbTotpSecrets(clients.dynamodb, config.appTableName),
    secrets: new KmsSecretCipher(clients.kms, config.secretsKeyId),
    events,
    connections: new DynamoDbSourceConnections(clients.dynamodb, config.appTableName),
    inspector: new HubSpotInspector({ baseUrl: hubspotApiUrl, clock, sleep }),
    comparisons: new DynamoDbComparisonRepository(clients.dynamodb, config.appTableName),
    alertSettings: new DynamoDbAlertSettings(clients.dynamodb, config.appTableName),
    directory: config.local ? new ListedSuperAdmins(config.local.superAdmins ?? []) : new CognitoSuperAdminDirectory(clients.cognito, config.userPoolId ?? ''),
  };
  const built = overrides.wrap ? overrides.wrap(deps) : deps;
  return built;
}
