/**
 * What each Lambda function may touch, by catalog name. The stateless stack turns
 * every entry into IAM statements (infra/function-grants.ts, and CDK `grant*` calls for
 * email, events and state machines); the stateful stack turns the same entries into
 * the backup bucket's and the backup and secrets keys' resource policies
 * (infra/data-access-policies.ts), which deny or refuse every other principal. Beyond
 * them a function only gets what every function needs (its own log group, X-Ray) and,
 * if EventBridge invokes it, the failed-invocations queue. Read this file to audit, edit
 * it when a handler needs more. A catalog function without an entry fails the synth
 * (and test/infra/permissions.test.ts); test/infra/deployed-security.test.ts checks the
 * audit-log and TOTP fields against what each handler's code reaches.
 *
 * Written by reading each handler's deps: which ports it uses and what each adapter
 * calls (e.g. the record store reads and writes the data table; the audit log and the
 * backup metadata live in the app table).
 */
export interface FunctionPermissions {
  /** The CRM data plane (records, object types, change events). */
  dataTable?: TableAccess;
  /**
   * The service's own state: backups, quota, plans, restores, lock, imports, schedules.
   * Three kinds of item in it are fenced off by partition (`dynamodb:LeadingKeys`) and
   * need `auditLog`, `totp` or `sourceTokens` below as well.
   */
  appTable?: TableAccess;
  /** Appends to the audit log (`AUDIT#<account>` partitions); anyone with `appTable` may read it. */
  auditLog?: true;
  /** Per-user TOTP state (`USER#<sub>` partitions: the wrapped secret, used time steps, lock-outs). */
  totp?: true;
  /**
   * The backup bucket, per key prefix: `read` (GetObject/HeadObject, presigned
   * downloads, and ListBucket under the prefix, which deleting a prefix needs too),
   * `write` (PutObject, multipart), `delete` (cleanup of partial exports, stale plans).
   * The backup key's Decrypt (read, write) and GenerateDataKey (write) follow from it,
   * in IAM and in the key policy.
   */
  backupBucket?: { read?: BucketPrefix[]; write?: BucketPrefix[]; delete?: BucketPrefix[] };
  /** The KMS key that wraps per-user TOTP secrets (SECRETS_KEY_ID). */
  secretsKey?: 'decrypt' | 'encryptDecrypt';
  /**
   * The same key, under the other encryption context it allows: a connected CRM's token
   * (`purpose=source-token`, `accountId`). `encrypt` to connect one, `decrypt` to call the CRM.
   * It also opens the connections' partition (`SOURCE#<account>`) in the app table:
   * `decrypt` to read it, `encrypt` to read and write it; without it, neither.
   */
  sourceTokens?: 'decrypt' | 'encrypt';
  /** Step Functions, by catalog state machine name: start, describe or stop executions. */
  stateMachines?: Record<string, Array<'start' | 'describe' | 'stop'>>;
  /** SES SendEmail from the configured sender identity. */
  sendEmail?: boolean;
  /** EventBridge PutEvents on the record change bus (change events, and `crm-backup.anomaly`). */
  putEvents?: boolean;
  /** Cognito ListUsersInGroup on the user pool: who the account's super admins are (alert emails). */
  listSuperAdmins?: true;
}

export type TableAccess = 'read' | 'readWrite';
/**
 * `backups/<account>/<backup>/…` (CSV parts, zip), `plans/<account>/<plan>/…` (restore
 * plan segments) and `comparisons/<account>/<comparison>/…` (sorted runs, exports).
 */
export type BucketPrefix = 'backups/' | 'plans/' | 'comparisons/';

export const PERMISSIONS: Record<string, FunctionPermissions> = {
  // Serves any user of an account: records and change events in the data table only.
  // Lists the object types of the account's data source: its connection (app table) and, for a
  // connected CRM, the token's decryption and the portal's shared request budget
  // (`HUBSPOT#<portal>`, written by every call to HubSpot): hence app table writes.
  'data-plane-api': { dataTable: 'readWrite', appTable: 'readWrite', sourceTokens: 'decrypt' },

  // Backups. requestBackup reads the account (tier) and, if the start fails, runs
  // failBackup inline (cleanup of backups/, refund, email): hence delete and SES. A
  // claim left by a crashed request is checked against its execution (inspectBackup:
  // DescribeExecution) before it is taken over; the scheduler also sweeps stuck backups.
  'backups-api': {
    dataTable: 'read',
    appTable: 'readWrite',
    auditLog: true,
    backupBucket: { read: ['backups/'], delete: ['backups/'] },
    stateMachines: { backup: ['start', 'describe'] },
    sendEmail: true,
  },
  // Deleting a stuck backup's files lists the prefix (ListBucket comes with delete); it reads none.
  'run-scheduled-backups': {
    dataTable: 'read',
    appTable: 'readWrite',
    auditLog: true,
    backupBucket: { delete: ['backups/'] },
    stateMachines: { backup: ['start', 'describe'] },
    sendEmail: true,
  },
  // Steps that read or write the account's data source decrypt a connected CRM's token, and
  // pace a HubSpot portal with its shared request budget (app table).
  'list-backup-objects': { dataTable: 'read', appTable: 'readWrite', sourceTokens: 'decrypt' },
  // Streams records into CSV parts; a retried export first deletes its own partial parts.
  'export-object': {
    dataTable: 'read',
    appTable: 'readWrite',
    backupBucket: { read: ['backups/'], write: ['backups/'], delete: ['backups/'] },
    sourceTokens: 'decrypt',
  },
  // Reads the parts, writes the zip, deletes the parts. Assembling the zip with
  // UploadPartCopy needs GetObject on the parts (read) and PutObject/AbortMultipartUpload
  // on the zip key (write); the bucket key's decrypt/generate-data-key come with both.
  'zip-backup': { appTable: 'readWrite', backupBucket: { read: ['backups/'], write: ['backups/'], delete: ['backups/'] } },
  'finalize-backup': { dataTable: 'read', appTable: 'readWrite', auditLog: true, sendEmail: true },
  'fail-backup': { dataTable: 'read', appTable: 'readWrite', auditLog: true, backupBucket: { delete: ['backups/'] }, sendEmail: true },

  // Restores. Planning reads the backup zip and writes plan segments; starting takes
  // the lock and starts the state machine; TOTP enrolment and checks use the secrets key.
  'restores-api': {
    dataTable: 'read',
    appTable: 'readWrite',
    auditLog: true,
    totp: true,
    // An undo plan reads the ledger its restore left under plans/.
    backupBucket: { read: ['backups/', 'plans/'], write: ['plans/'], delete: ['plans/'] },
    secretsKey: 'encryptDecrypt',
    // Planning reads today's records from the account's data source.
    sourceTokens: 'decrypt',
    // A plan's GET checks its execution and starts it if the API call that planned it died first.
    stateMachines: { restore: ['start'], 'restore-plan': ['start', 'describe'] },
    // TOTP enrolment emails its one-time confirmation link.
    sendEmail: true,
  },
  // Continues a big plan: reads the backup zip and today's records, writes plan segments,
  // deletes them if the plan fails; saves the plan's checkpoints and audits it.
  'build-restore-plan': {
    dataTable: 'read',
    appTable: 'readWrite',
    auditLog: true,
    backupBucket: { read: ['backups/', 'plans/'], write: ['plans/'], delete: ['plans/'] },
    sourceTokens: 'decrypt',
  },
  // Applies plan segments to records, renews the lock, publishes change events, writes
  // the restore's ledger (what it changed) beside the plan. Its module reaches the
  // restore audit code through shared imports, so it may append too.
  'apply-restore-batch': { dataTable: 'readWrite', appTable: 'readWrite', backupBucket: { read: ['plans/'], write: ['plans/'] }, putEvents: true, sourceTokens: 'decrypt' },
  // The ending's email names the object type, read from the data source.
  'finalize-restore': { dataTable: 'read', appTable: 'readWrite', auditLog: true, sendEmail: true, sourceTokens: 'decrypt' },
  'fail-restore': { dataTable: 'read', appTable: 'readWrite', auditLog: true, sendEmail: true, sourceTokens: 'decrypt' },
  // Connecting a CRM checks the token live, stores it encrypted, refuses while a backup or
  // restore runs (backups, lock), re-authenticates like a restore, and audits.
  'sources-api': { appTable: 'readWrite', auditLog: true, totp: true, secretsKey: 'decrypt', sourceTokens: 'encrypt' },
  // Compare. Reads the backup zips (and today's records, for live), writes and deletes
  // the comparison's sorted runs and export, presigns the export's download; audits
  // comparisons and downloads. A comparison too big for the call goes on in the
  // `comparison` machine; a stalled one's execution (or the alert check's) is checked.
  'comparisons-api': {
    dataTable: 'read',
    appTable: 'readWrite',
    auditLog: true,
    backupBucket: { read: ['backups/', 'comparisons/'], write: ['comparisons/'], delete: ['comparisons/'] },
    stateMachines: { comparison: ['start', 'describe'], 'anomaly-check': ['describe'] },
    // Today's data comes from the account's data source: a HubSpot token is decrypted.
    sourceTokens: 'decrypt',
  },
  // Continues a comparison from its checkpoint, in either machine; assembles an export
  // from its parts (part copies read them), deletes the runs.
  'run-comparison': {
    dataTable: 'read',
    appTable: 'readWrite',
    backupBucket: { read: ['backups/', 'comparisons/'], write: ['comparisons/'], delete: ['comparisons/'] },
    sourceTokens: 'decrypt',
  },
  // Starts the check when a backup SUCCEEDED: the execution, named after the backup.
  'start-anomaly-check': { stateMachines: { 'anomaly-check': ['start'] } },
  // Creates the check's comparisons (no files), and raises the alert: email to the super
  // admins (Cognito group), audit, event, badge.
  'check-anomalies': {
    dataTable: 'read',
    appTable: 'readWrite',
    auditLog: true,
    sendEmail: true,
    putEvents: true,
    listSuperAdmins: true,
    // Object type labels and CRM-set properties come from the account's data source.
    sourceTokens: 'decrypt',
  },
  // Completed imports and the audit log: reads only.
  'activity-api': { appTable: 'read' },
};

/**
 * With `-c mfa=optional` a password and a stolen session would be enough to export a
 * whole tenant, so a download asks for the same re-authentication as a restore: the
 * backups API then reads and claims TOTP state and decrypts the secret (never encrypts:
 * enrolment stays with the restores API).
 */
export const REAUTHENTICATED_DOWNLOAD_PERMISSIONS: Record<string, FunctionPermissions> = {
  'backups-api': { totp: true, secretsKey: 'decrypt' },
};

/** What the deployment's settings change in the table above. */
export interface PermissionSettings {
  mfa: 'required' | 'optional';
}

/** Every function's entry for a deployment with these settings. */
export function permissionsTable(settings: PermissionSettings): Record<string, FunctionPermissions> {
  if (settings.mfa !== 'optional') return PERMISSIONS;
  return { ...PERMISSIONS, ...Object.fromEntries(Object.entries(REAUTHENTICATED_DOWNLOAD_PERMISSIONS).map(([name, extra]) => [name, { ...PERMISSIONS[name], ...extra }])) };
}

/** The entry for a function, or a sentence saying where to add it. */
export function permissionsFor(functionName: string, settings: PermissionSettings): FunctionPermissions {
  const entry = permissionsTable(settings)[functionName];
  if (!entry)
    throw new Error(
      `Function "${functionName}" is in lambdas/service/catalog.ts but has no entry in infra/permissions.ts: add what it may touch (tables, bucket, state machines, email, events)`,
    );
  return entry;
}
