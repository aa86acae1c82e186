/**
 * Grants that no function's AWS call exercises in the end-to-end suites, kept on purpose,
 * each with its reason. test/after-suites/permissions.test.ts lists every grant of every
 * function's role that no recorded call needed: each must match an entry here (or be
 * removed from the role), and an entry that matches nothing any more fails the test too,
 * so this list stays exactly the exceptions. docs/operations.md explains how to read it.
 */
export interface UnexercisedGrant {
  /** Catalog function names, or every function. */
  functions: string[] | '*';
  /** The action as the policy writes it (`kms:GenerateDataKey*`). */
  action: string | RegExp;
  /** Matches the resolved resource ARN pattern; any resource when absent. */
  resource?: RegExp;
  reason: string;
}

const SAME_KIND =
  "Table access is granted per table as reads (GetItem, BatchGetItem on the data table, Query on the table and its indexes) or reads and writes, inside the partition fences of infra/function-grants.ts: an operation of a kind the function already has, on partitions it may already touch, gives it nothing new, and tying each role to the exact calls of today's adapters would break a deploy on every refactoring of a query.";

/** Same-kind table operations a function is granted but does not send today (see SAME_KIND). */
const SAME_KIND_TABLE_OPERATIONS: Array<{ action: string; table: 'DataTable' | 'AppTable'; index?: true; functions: string[] }> = [
  {
    action: 'dynamodb:BatchGetItem',
    table: 'DataTable',
    functions: ['data-plane-api', 'backups-api', 'list-backup-objects', 'export-object', 'finalize-backup', 'fail-backup', 'run-scheduled-backups', 'finalize-restore', 'fail-restore', 'comparisons-api', 'run-comparison', 'check-anomalies'],
  },
  { action: 'dynamodb:GetItem', table: 'DataTable', functions: ['run-comparison'] },
  { action: 'dynamodb:GetItem', table: 'DataTable', functions: ['list-backup-objects'] },
  { action: 'dynamodb:Query', table: 'DataTable', functions: ['run-comparison', 'check-anomalies'] },
  { action: 'dynamodb:Query', table: 'DataTable', index: true, functions: ['comparisons-api', 'run-comparison', 'check-anomalies'] },
  { action: 'dynamodb:Query', table: 'AppTable', functions: ['data-plane-api', 'comparisons-api', 'run-comparison'] },
  { action: 'dynamodb:Query', table: 'AppTable', index: true, functions: ['data-plane-api', 'sources-api', 'comparisons-api', 'run-comparison', 'check-anomalies'] },
  { action: 'dynamodb:UpdateItem', table: 'AppTable', functions: ['data-plane-api', 'run-comparison'] },
  { action: 'dynamodb:DeleteItem', table: 'AppTable', functions: ['data-plane-api', 'comparisons-api', 'run-comparison', 'check-anomalies'] },
  { action: 'dynamodb:GetItem', table: 'AppTable', functions: ['list-backup-objects', 'activity-api'] },
  {
    action: 'dynamodb:Query',
    table: 'DataTable',
    functions: ['backups-api', 'finalize-backup', 'fail-backup', 'run-scheduled-backups', 'restores-api', 'apply-restore-batch', 'build-restore-plan', 'finalize-restore', 'fail-restore'],
  },
  {
    action: 'dynamodb:Query',
    table: 'DataTable',
    index: true,
    // restores-api and build-restore-plan read the change-event feed index for revert plans.
    functions: ['backups-api', 'list-backup-objects', 'export-object', 'finalize-backup', 'fail-backup', 'run-scheduled-backups', 'apply-restore-batch', 'finalize-restore', 'fail-restore'],
  },
  { action: 'dynamodb:Query', table: 'AppTable', functions: ['list-backup-objects', 'export-object', 'zip-backup', 'finalize-backup', 'fail-backup', 'apply-restore-batch', 'build-restore-plan'] },
  {
    action: 'dynamodb:Query',
    table: 'AppTable',
    index: true,
    functions: ['backups-api', 'list-backup-objects', 'export-object', 'zip-backup', 'finalize-backup', 'fail-backup', 'restores-api', 'activity-api', 'apply-restore-batch', 'build-restore-plan', 'finalize-restore', 'fail-restore'],
  },
  { action: 'dynamodb:PutItem', table: 'AppTable', functions: ['list-backup-objects', 'export-object', 'zip-backup'] },
  { action: 'dynamodb:UpdateItem', table: 'AppTable', functions: ['build-restore-plan'] },
  { action: 'dynamodb:DeleteItem', table: 'AppTable', functions: ['list-backup-objects', 'export-object', 'zip-backup', 'finalize-backup', 'restores-api', 'apply-restore-batch', 'build-restore-plan'] },
  { action: 'dynamodb:DeleteItem', table: 'DataTable', functions: ['apply-restore-batch'] },
];

/** The functions EventBridge invokes asynchronously (stateless stack: configureAsyncInvoke with the FailedInvocations queue). */
const ASYNC_TARGETS = ['fail-backup', 'run-scheduled-backups', 'build-restore-plan', 'fail-restore', 'run-comparison', 'start-anomaly-check', 'check-anomalies'];

export const UNEXERCISED_GRANTS: UnexercisedGrant[] = [
  {
    functions: '*',
    action: /^logs:(CreateLogStream|PutLogEvents)$/,
    reason: "Lambda itself writes the function's output to its log group, with the function's role; no handler calls CloudWatch Logs.",
  },
  {
    functions: '*',
    action: /^xray:(PutTraceSegments|PutTelemetryRecords)$/,
    reason: "Active tracing: Lambda's X-Ray daemon sends the function's segments with the function's role; the handlers only hand segments to the daemon.",
  },
  {
    functions: ASYNC_TARGETS,
    action: /^sqs:(SendMessage|GetQueueAttributes|GetQueueUrl)$/,
    reason: "An event whose asynchronous invocation failed for good is sent to the FailedInvocations queue by Lambda, with the function's role; no handler calls SQS.",
  },
  {
    functions: '*',
    action: /^kms:(Encrypt|GenerateDataKey\*|ReEncrypt\*)$/,
    resource: /:key\/.*datakey/i,
    reason:
      "The tables' customer managed key: DynamoDB uses it on the caller's behalf, and AWS documents Encrypt, GenerateDataKey* and ReEncrypt* (through DynamoDB) for principals that write a table under such a key; the calls of a request only show the Decrypt of the table key, the rest happens when DynamoDB refreshes it.",
  },
  ...SAME_KIND_TABLE_OPERATIONS.map(({ action, table, index, functions }) => ({
    functions,
    action,
    resource: new RegExp(`table/[^/]*${table}[^/]*${index ? '/index/\\*' : ''}$`),
    reason: SAME_KIND,
  })),
  {
    functions: ['export-object', 'zip-backup', 'restores-api', 'build-restore-plan', 'apply-restore-batch', 'comparisons-api', 'run-comparison'],
    action: 's3:AbortMultipartUpload',
    reason:
      'A part file or plan segment over 5 MiB goes up as a multipart upload (lib-storage Upload) and the zip is always one; a failed one is aborted, so no half-written object is left behind. The test data stays under 5 MiB and assemblies that fail are in the reliability suite.',
  },
  {
    functions: ['backups-api', 'run-scheduled-backups'],
    action: 's3:DeleteObject',
    resource: /\/backups\/\*$/,
    reason: "Taking over a stuck backup's claim fails it through failBackup, which deletes whatever it wrote; the stuck backups of the tests crashed before writing any file.",
  },
  {
    functions: ['build-restore-plan', 'fail-restore', 'run-comparison', 'check-anomalies'],
    action: 'kms:Decrypt',
    resource: /:key\/.*secretskey/i,
    reason:
      "Reads the account's data source, which for a connected CRM decrypts its token (sourceTokens: 'decrypt'); the suites run these steps on HubSpot accounts only through paths that finish in the API call or never reach them.",
  },
  {
    functions: ['comparisons-api'],
    action: 'states:DescribeExecution',
    reason: "Before taking over a comparison (or anomaly check) that seems stuck, reads its execution to tell a dead one from a running one (comparison-recovery.ts); the suites' comparisons and checks finish.",
  },
  {
    functions: ['check-anomalies'],
    action: 'cognito-idp:ListUsersInGroup',
    reason: "Who the account's super admins are, for the alert email: Cognito's group in AWS; the local runtime lists the demo users instead (no user pool).",
  },
  {
    functions: ['apply-restore-batch'],
    action: 's3:ListBucket',
    reason: 'Comes with reading plans/: without ListBucket S3 answers a missing segment file with 403 AccessDenied instead of 404 NoSuchKey, and the step could not tell a lost file from a refused one.',
  },
  {
    functions: ['backups-api'],
    action: 'ses:SendEmail',
    reason: 'When StartExecution fails after the quota was claimed, the request fails the backup at once through failBackup, which emails the requester; no test makes StartExecution fail.',
  },
];
