/**
 * What each Lambda function may touch, by catalog name. The stateless stack turns
 * every entry into CDK `grant*` calls and nothing else, so this file is the whole IAM
 * story for the functions: read it to audit, edit it when a handler needs more.
 * A catalog function without an entry fails the synth (and test/infra/permissions.test.ts).
 *
 * Written by reading each handler's deps: which ports it uses and what each adapter
 * calls (e.g. the record store reads and writes the data table; the audit log and the
 * backup metadata live in the app table).
 */
export interface FunctionPermissions {
  /** The CRM data plane (records, object types, change events). */
  dataTable?: TableAccess;
  /** The service's own state: backups, quota, plans, restores, lock, audit, imports, schedules. */
  appTable?: TableAccess;
  /**
   * The backup bucket: `read` (GetObject, and presigning downloads), `write` (PutObject,
   * multipart), `delete` (cleanup of partial exports). KMS use on the bucket key follows.
   */
  backupBucket?: Array<'read' | 'write' | 'delete'>;
  /** The KMS key that wraps per-user TOTP secrets (SECRETS_KEY_ID). */
  secretsKey?: 'encrypt' | 'decrypt' | 'encryptDecrypt';
  /** Step Functions, by catalog state machine name: start, describe or stop executions. */
  stateMachines?: Record<string, Array<'start' | 'describe' | 'stop'>>;
  /** SES SendEmail from the configured sender identity. */
  sendEmail?: boolean;
  /** EventBridge PutEvents on the record change bus. */
  putEvents?: boolean;
}

export type TableAccess = 'read' | 'readWrite';

export const PERMISSIONS: Record<string, FunctionPermissions> = {
  // Serves any user of an account: records and change events in the data table only.
  'data-plane-api': { dataTable: 'readWrite' },
};

/** The entry for a function, or a sentence saying where to add it. */
export function permissionsFor(functionName: string): FunctionPermissions {
  const entry = PERMISSIONS[functionName];
  if (!entry)
    throw new Error(
      `Function "${functionName}" is in lambdas/handlers/catalog.ts but has no entry in infra/permissions.ts: add what it may touch (tables, bucket, state machines, email, events)`,
    );
  return entry;
}
