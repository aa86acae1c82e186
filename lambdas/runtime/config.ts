import type { CompareTuning } from '#core/compare/compare-policy.ts';
import type { RestoreTuning } from '#core/restores/restore-policy.ts';

/**
 * Where the handlers find their resources. In Lambda every value comes from the
 * environment the CDK sets; the local runtime builds the same object by hand and adds
 * `endpoints` so the same SDK clients talk to the embedded stand-ins.
 */
export interface AppConfig {
  region: string;
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
  /** KMS key that encrypts per-user TOTP secrets (absent locally: see SecretCipher). */
  secretsKeyId?: string;
  /** EventBridge bus for record change events (absent: events are only stored). */
  eventBusName?: string;
  /**
   * A download asks for the same re-authentication as a restore (TOTP unless SSO):
   * set when Cognito lets a password alone sign in (`-c mfa=optional`). Absent: false.
   */
  reauthenticateDownloads?: boolean;
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
  /** Secret for the local stand-in of KMS (AES-256-GCM key, base64). */
  secretsKey: string;
  /** The super admins the local token issuer signs in (the stand-in for Cognito's group); none when absent. */
  superAdmins?: Array<{ accountId: string; email: string }>;
}

/** Reads the Lambda environment; names the missing variable rather than failing later. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const required = (name: string): string => {
    const value = env[name];
    if (!value) throw new Error(`Environment variable ${name} is not set`);
    return value;
  };
  return {
    region: env.AWS_REGION ?? required('AWS_DEFAULT_REGION'),
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
  };
}

/** `"true"` or `"false"` (absent: false); anything else is a deployment mistake worth naming. */
export function envFlag(env: NodeJS.ProcessEnv, name: string): boolean {
  const value = env[name];
  if (value === undefined || value === '' || value === 'false') return false;
  if (value === 'true') return true;
  throw new Error(`Environment variable ${name} must be "true" or "false", not "${value}"`);
}
