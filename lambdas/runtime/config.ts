import type { CompareTuning } from '#core/compare/compare-policy.ts';
import type { RestoreTuning } from '#core/restores/restore-policy.ts';

/**
 * Where the handlers find their resources. In Lambda every value comes from the
 * environment the CDK sets; the local runtime builds the same object by hand and adds
 * `endpoints` so the same SDK clients talk to the embedded stand-ins.
 */
export interface AppConfig {
  region: string;
  /** The deployment stage (`CrmBackup-<stage>-…`; `local` locally): a dimension of every metric. */
  stage: string;
  /** The handlers' log level (DEBUG, INFO, WARN, ERROR); Lambda's application log level wins when the stack sets one. */
  logLevel?: string;
  /** The CRM data plane: accounts, object types, records, change events. */
  dataTableName: string;
  /** The backup service's own state: backups, quota, plans, restores, lock, audit, imports. */
  appTableName: string;
  backupBucketName: string;
  backupStateMachineArn: string;
  restoreStateMachineArn: string;
  /** Continues restore plans too big to finish within an API call (absent: none). */
  restorePlanStateMachineArn?: string;
  /** Continues comparisons too big to finish within an API call (absent: none). */
  comparisonStateMachineArn?: string;
  /** Compares each backup that SUCCEEDED with the previous one, and raises anomaly alerts (absent: none). */
  anomalyCheckStateMachineArn?: string;
  /** The Cognito user pool whose `super-admins` group alerts are emailed to (absent locally: the demo users). */
  userPoolId?: string;
  /** SES identity that notification emails come from. */
  senderEmail: string;
  /** Base URL of the web page, for links in emails (`${appUrl}/backups/{id}`). */
  appUrl: string;
  /** KMS key that encrypts per-user TOTP secrets. */
  secretsKeyId?: string;
  /** EventBridge bus for record change events (absent: events are only stored). */
  eventBusName?: string;
  /**
   * A download asks for the same re-authentication as a restore (TOTP unless SSO):
   * set when Cognito lets a password alone sign in (`-c mfa=optional`). Absent: false.
   */
  reauthenticateDownloads?: boolean;
  /** HubSpot's API (absent: https://api.hubapi.com); the local runtime points it at its stand-in. */
  hubspotApiUrl?: string;
  /** Restore plan segment and batch sizes; tests shrink them (defaults: DEFAULT_TUNING in core/restores/restore-policy.ts). */
  restoreTuning?: RestoreTuning;
  /** Comparison run and batch sizes; tests shrink them (defaults: DEFAULT_COMPARE_TUNING in core/compare/compare-policy.ts). */
  compareTuning?: CompareTuning;
  /** Only in the local runtime: the stand-ins' addresses and their fixed credentials. */
  local?: LocalEndpoints;
}

export interface LocalEndpoints {
  dynamodb: string;
  s3: string;
  stepFunctions: string;
  ses: string;
  kms: string;
  eventBridge: string;
  /** The super admins the local token issuer signs in (the stand-in for Cognito's group); none when absent. */
  superAdmins?: Array<{ accountId: string; email: string }>;
}

/**
 * Only the local runtime sets it: the stand-ins' endpoints as JSON, so that the bundles
 * `cdk synth` writes run against them with the very code Lambda runs (test/infra/synth.test.ts).
 */
export const LOCAL_ENDPOINTS_VARIABLE = 'CRM_BACKUP_LOCAL_ENDPOINTS';

/** Reads the Lambda environment; names the missing variable rather than failing later. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const required = (name: string): string => {
    const value = env[name];
    if (!value) throw new Error(`Environment variable ${name} is not set`);
    return value;
  };
  const local = env[LOCAL_ENDPOINTS_VARIABLE];
  return {
    region: env.AWS_REGION ?? required('AWS_DEFAULT_REGION'),
    stage: required('STAGE'),
    ...(env.LOG_LEVEL ? { logLevel: env.LOG_LEVEL } : {}),
    dataTableName: required('DATA_TABLE_NAME'),
    appTableName: required('APP_TABLE_NAME'),
    backupBucketName: required('BACKUP_BUCKET_NAME'),
    backupStateMachineArn: env.BACKUP_STATE_MACHINE_ARN ?? '',
    restoreStateMachineArn: env.RESTORE_STATE_MACHINE_ARN ?? '',
    restorePlanStateMachineArn: env.RESTORE_PLAN_STATE_MACHINE_ARN ?? '',
    comparisonStateMachineArn: env.COMPARISON_STATE_MACHINE_ARN ?? '',
    anomalyCheckStateMachineArn: env.ANOMALY_CHECK_STATE_MACHINE_ARN ?? '',
    userPoolId: env.USER_POOL_ID,
    senderEmail: env.SENDER_EMAIL ?? '',
    appUrl: env.APP_URL ?? '',
    secretsKeyId: env.SECRETS_KEY_ID,
    eventBusName: env.EVENT_BUS_NAME,
    reauthenticateDownloads: envFlag(env, 'REAUTHENTICATE_DOWNLOADS'),
    ...(env.HUBSPOT_API_URL ? { hubspotApiUrl: env.HUBSPOT_API_URL } : {}),
    ...(local ? { local: JSON.parse(local) as LocalEndpoints } : {}),
  };
}

/**
 * The environment that `configFromEnv` reads back as `config`: what the local runtime
 * gives the bundled functions (the stack sets the same names from its resources).
 */
export function configToEnv(config: AppConfig): Record<string, string> {
  const optional = (name: string, value: string | undefined) => (value ? { [name]: value } : {});
  return {
    AWS_REGION: config.region,
    STAGE: config.stage,
    ...optional('LOG_LEVEL', config.logLevel),
    DATA_TABLE_NAME: config.dataTableName,
    APP_TABLE_NAME: config.appTableName,
    BACKUP_BUCKET_NAME: config.backupBucketName,
    BACKUP_STATE_MACHINE_ARN: config.backupStateMachineArn,
    RESTORE_STATE_MACHINE_ARN: config.restoreStateMachineArn,
    ...optional('RESTORE_PLAN_STATE_MACHINE_ARN', config.restorePlanStateMachineArn),
    ...optional('COMPARISON_STATE_MACHINE_ARN', config.comparisonStateMachineArn),
    ...optional('ANOMALY_CHECK_STATE_MACHINE_ARN', config.anomalyCheckStateMachineArn),
    ...optional('USER_POOL_ID', config.userPoolId),
    SENDER_EMAIL: config.senderEmail,
    APP_URL: config.appUrl,
    ...optional('SECRETS_KEY_ID', config.secretsKeyId),
    ...optional('EVENT_BUS_NAME', config.eventBusName),
    REAUTHENTICATE_DOWNLOADS: String(config.reauthenticateDownloads ?? false),
    ...optional('HUBSPOT_API_URL', config.hubspotApiUrl),
    ...(config.local ? { [LOCAL_ENDPOINTS_VARIABLE]: JSON.stringify(config.local) } : {}),
  };
}

/** `"true"` or `"false"` (absent: false); anything else is a deployment mistake worth naming. */
export function envFlag(env: NodeJS.ProcessEnv, name: string): boolean {
  const value = env[name];
  if (value === undefined || value === '' || value === 'false') return false;
  if (value === 'true') return true;
  throw new Error(`Environment variable ${name} must be "true" or "false", not "${value}"`);
}
