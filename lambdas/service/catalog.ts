/**
 * Every Lambda function of the service and every HTTP route, in one place. The CDK
 * makes one function per entry and one API route per route; the local runtime loads
 * the same modules and dispatches the same route keys. A test checks both agree.
 */

/** The service's name in logs, metrics and traces (the `service` key and dimension). */
export const SERVICE_NAME = 'crm-backup';
/** CloudWatch namespace of the business metrics (lambdas/core/ports/metrics.ts): the handlers write it, the dashboard reads it. */
export const METRICS_NAMESPACE = 'CrmBackup';
/**
 * The size of each of V8's two young-generation semi-spaces, in MB, in every function
 * (infra/lambda/node-flags.sh): V8's own default for heaps under 2 GB. Lambda's runtime
 * allows a twentieth of the function's memory (88 MB at 1,769 MB), and V8 grows toward it
 * by doubling as a step allocates: a step that streams pages then peaks higher the longer
 * it runs, although it holds nothing per record. At 8 MB the peak comes in the first
 * seconds, the same for 10,000 records as for 100,000 (docs/performance.md).
 */
export const YOUNG_GENERATION_SEMI_SPACE_MB = 8;

/**
 * The old space, in MB, that Lambda's Node bootstrap gives a function of this memory: all
 * of it but the tenth it sets aside for the young generation. V8 lets the old space fill
 * with garbage up to a multiple of what is live before it collects, and the multiple
 * grows with this limit (about 1.6× at 922 MB, 4× at the 4 GB a 24 GB machine gives a
 * plain `node`): a bench process standing in for a step needs the step's limit to have
 * the step's peak (bench/peak-rss.ts).
 */
export function lambdaOldSpaceMb(memoryMb: number): number {
  return memoryMb - Math.floor(memoryMb / 10);
}

export interface FunctionSpec {
  /** Module under lambdas/handlers/, exporting `handler` and `createHandler(deps)`. */
  entry: string;
  /** Lambda timeout; the local runtime gives handlers the same time budget. */
  timeoutSeconds: number;
  memoryMb: number;
  description: string;
  /** Lambda's /tmp size (512 by default, up to 10240), for steps that spill to local disk. */
  ephemeralStorageMb?: number;
}

export const FUNCTIONS = {
  'data-plane-api': {
    entry: 'data-plane-api.ts',
    timeoutSeconds: 29,
    memoryMb: 512,
    description: 'CRM data plane API: object types, records, change events',
  },
  'backups-api': {
    entry: 'backups-api.ts',
    timeoutSeconds: 29,
    memoryMb: 512,
    description: 'Backup API: request, history, download links, schedule',
  },
  'list-backup-objects': {
    entry: 'list-backup-objects.ts',
    timeoutSeconds: 30,
    memoryMb: 512,
    description: 'Backup step: mark RUNNING, list the object types to export',
  },
  // Memory buys CPU (CSV formatting is the bottleneck); 15 min is Lambda's cap, and
  // the export stops early and continues in the next invocation (a cursor loop in the ASL).
  'export-object': {
    entry: 'export-object.ts',
    timeoutSeconds: 900,
    memoryMb: 1769,
    description: 'Backup step: stream one object type to CSV part files in S3',
  },
  'zip-backup': {
    entry: 'zip-backup.ts',
    timeoutSeconds: 900,
    memoryMb: 1769,
    description: 'Backup step: stream the CSV parts into one zip with manifest.json',
  },
  'finalize-backup': {
    entry: 'finalize-backup.ts',
    timeoutSeconds: 30,
    memoryMb: 512,
    description: 'Backup step: SUCCEEDED, audit entry, email',
  },
  'fail-backup': {
    entry: 'fail-backup.ts',
    timeoutSeconds: 60,
    memoryMb: 512,
    description: 'Backup failure: FAILED with a reason, quota refund, cleanup, email',
  },
  'run-scheduled-backups': {
    entry: 'run-scheduled-backups.ts',
    timeoutSeconds: 300,
    memoryMb: 512,
    description: 'Backup scheduler: starts the backups that schedules and quotas allow',
  },
  'restores-api': {
    entry: 'restores-api.ts',
    timeoutSeconds: 29,
    // Planning streams a CSV out of the zip and compares it with DynamoDB: CPU and I/O bound.
    memoryMb: 1769,
    description: 'Restore API: plans, execution (TOTP, lock), restore history, TOTP enrolment',
  },
  'activity-api': {
    entry: 'activity-api.ts',
    timeoutSeconds: 29,
    memoryMb: 512,
    description: 'Activity API: completed imports and the audit log',
  },
  'sources-api': {
    entry: 'sources-api.ts',
    timeoutSeconds: 29,
    memoryMb: 512,
    description: 'Data source API: connect, show and disconnect the CRM (HubSpot) an account backs up',
  },
  // Hands back a cursor with 30 s left, so a batch never meets the hard kill; the lock's
  // 5-minute lease is renewed every 100 records.
  'apply-restore-batch': {
    entry: 'apply-restore-batch.ts',
    timeoutSeconds: 300,
    memoryMb: 1024,
    description: 'Restore step: apply the next part of one plan segment (resumable, idempotent)',
  },
  // Plans too big for the API call continue here, from segment checkpoints; it stops
  // with 60 s left and the restore-plan state machine invokes it again.
  'build-restore-plan': {
    entry: 'build-restore-plan.ts',
    timeoutSeconds: 900,
    memoryMb: 1769,
    description: 'Restore planning step: compare the next segments of a big plan (resumable)',
  },
  'finalize-restore': {
    entry: 'finalize-restore.ts',
    timeoutSeconds: 60,
    memoryMb: 512,
    description: 'Restore step: SUCCEEDED with counts, import entry, audit, email, lock released',
  },
  'fail-restore': {
    entry: 'fail-restore.ts',
    timeoutSeconds: 60,
    memoryMb: 512,
    description: 'Restore failure: FAILED with counts and reason, import entry, audit, email, lock released',
  },
  // Reading both sides and merging them is CPU and I/O bound, like restore planning.
  'comparisons-api': {
    entry: 'comparisons-api.ts',
    timeoutSeconds: 29,
    memoryMb: 1769,
    description: 'Compare API: a backup with today\'s data or another backup, exports of the differences, alert settings',
  },
  // Stops with 60 s left and the state machine invokes it again from the checkpoint.
  'run-comparison': {
    entry: 'run-comparison.ts',
    timeoutSeconds: 900,
    memoryMb: 1769,
    description: 'Compare step: read the next part of both sides into sorted runs, or merge them (resumable)',
  },
  'start-anomaly-check': {
    entry: 'start-anomaly-check.ts',
    timeoutSeconds: 30,
    memoryMb: 512,
    description: 'Anomaly check: starts it when a backup SUCCEEDED (its own state machine, never slowing or failing the backup)',
  },
  'check-anomalies': {
    entry: 'check-anomalies.ts',
    timeoutSeconds: 120,
    memoryMb: 512,
    description: 'Anomaly check after each backup: which comparisons, the findings, the alert (email, audit, event, badge)',
  },
} as const satisfies Record<string, FunctionSpec>;

export type FunctionName = keyof typeof FUNCTIONS;

/** HTTP API routes (API Gateway route keys) and the function that serves each. */
export const API_ROUTES: Record<string, FunctionName> = {
  'GET /v1/objects': 'data-plane-api',
  'GET /v1/objects/{type}/records': 'data-plane-api',
  'GET /v1/objects/{type}/records/{id}': 'data-plane-api',
  'PATCH /v1/objects/{type}/records/{id}': 'data-plane-api',
  'DELETE /v1/objects/{type}/records/{id}': 'data-plane-api',
  'GET /v1/change-events': 'data-plane-api',
  'POST /v1/backups': 'backups-api',
  'GET /v1/backups': 'backups-api',
  'GET /v1/backups/{id}': 'backups-api',
  'GET /v1/backups/{id}/download': 'backups-api',
  'GET /v1/backup-quota': 'backups-api',
  'GET /v1/backup-schedule': 'backups-api',
  'PUT /v1/backup-schedule': 'backups-api',
  'POST /v1/backups/{id}/restore-plans': 'restores-api',
  'GET /v1/restore-plans/{planId}': 'restores-api',
  'POST /v1/revert-plans': 'restores-api',
  'POST /v1/restores': 'restores-api',
  'POST /v1/restores/{id}/undo-plan': 'restores-api',
  'GET /v1/restores': 'restores-api',
  'GET /v1/restores/{id}': 'restores-api',
  'GET /v1/me/totp-enrolment': 'restores-api',
  'POST /v1/me/totp-enrolment': 'restores-api',
  'POST /v1/me/totp-enrolment/confirmation': 'restores-api',
  'GET /v1/source': 'sources-api',
  'PUT /v1/source': 'sources-api',
  'DELETE /v1/source': 'sources-api',
  'GET /v1/backups/{id}/compare': 'comparisons-api',
  'POST /v1/backups/{id}/compare-exports': 'comparisons-api',
  'GET /v1/compare-exports/{id}': 'comparisons-api',
  'GET /v1/compare-exports/{id}/download': 'comparisons-api',
  'GET /v1/alert-settings': 'comparisons-api',
  'PUT /v1/alert-settings': 'comparisons-api',
  'GET /v1/imports': 'activity-api',
  'GET /v1/audit-log': 'activity-api',
};

/**
 * POST routes that start work: each honours an `Idempotency-Key` header (the same key
 * from the same caller within 24 hours answers the first response again and does
 * nothing more; lambdas/runtime/idempotency.ts). A new such route is added here, one
 * line; the HTTP layer applies it. test/service/catalog.test.ts checks that every POST
 * route is either here or in NOT_IDEMPOTENT with its reason.
 */
export const IDEMPOTENT_ROUTES: ReadonlySet<string> = new Set([
  'POST /v1/backups',
  'POST /v1/backups/{id}/restore-plans',
  'POST /v1/restores/{id}/undo-plan',
  'POST /v1/revert-plans',
  'POST /v1/restores',
  'POST /v1/me/totp-enrolment/confirmation',
  // An export is a new comparison each time: a retried request must not start a second.
  'POST /v1/backups/{id}/compare-exports',
]);

/** POST routes without Idempotency-Key, and why. */
export const NOT_IDEMPOTENT: Record<string, string> = {
  // Replaying it would mean keeping its answer, which holds the new TOTP secret, for a day.
  'POST /v1/me/totp-enrolment': 'its answer holds a new TOTP secret, which must not be stored to be answered again; a repeated enrolment replaces the unconfirmed one',
};

/** State machines, from `statemachines/<file>`; placeholders are filled by `aslSubstitutions`. */
export const STATE_MACHINES: Record<string, { file: string }> = {
  backup: { file: 'backup.asl.json' },
  restore: { file: 'restore.asl.json' },
  'restore-plan': { file: 'restore-plan.asl.json' },
  comparison: { file: 'comparison.asl.json' },
  'anomaly-check': { file: 'anomaly-check.asl.json' },
};

/**
 * EventBridge rules on "Step Functions Execution Status Change": when an execution of
 * `stateMachine` ends with one of `statuses`, `function` runs with the event.
 */
export const EXECUTION_STATUS_RULES: Array<{ function: FunctionName; stateMachine: string; statuses: string[] }> = [
  // Executions that end without reaching the ASL's Catch (timeout, stop, uncatchable
  // error) still get the failure step; it is idempotent, so a caught failure is handled once.
  { function: 'fail-backup', stateMachine: 'backup', statuses: ['FAILED', 'TIMED_OUT', 'ABORTED'] },
  // Same for restores: a timed-out or stopped restore must still free the account's lock.
  { function: 'fail-restore', stateMachine: 'restore', statuses: ['FAILED', 'TIMED_OUT', 'ABORTED'] },
  // And a plan whose execution timed out or was stopped must not stay PLANNING.
  { function: 'build-restore-plan', stateMachine: 'restore-plan', statuses: ['FAILED', 'TIMED_OUT', 'ABORTED'] },
  // Nor a comparison stay COMPARING.
  { function: 'run-comparison', stateMachine: 'comparison', statuses: ['FAILED', 'TIMED_OUT', 'ABORTED'] },
  // The anomaly check starts once a backup SUCCEEDED (after its email), in its own
  // execution, so the backup is never slowed or failed by it.
  { function: 'start-anomaly-check', stateMachine: 'backup', statuses: ['SUCCEEDED'] },
  { function: 'check-anomalies', stateMachine: 'anomaly-check', statuses: ['FAILED', 'TIMED_OUT', 'ABORTED'] },
];

/** Functions run on a schedule (an EventBridge rule in AWS, a timer locally). */
export const SCHEDULED_FUNCTIONS: Array<{ function: FunctionName; everyMinutes: number }> = [
  // Hourly is enough: quotas are 24 h at the shortest, so a backup starts within an hour of being allowed.
  { function: 'run-scheduled-backups', everyMinutes: 60 },
];

/** `export-object` → `ExportObjectFunctionArn`: the ASL placeholder for a function's ARN. */
export function functionArnPlaceholder(name: string): string {
  return `${name.replace(/(^|-)(\w)/g, (_, __, letter: string) => letter.toUpperCase())}FunctionArn`;
}

/**
 * Every `${Name}` placeholder an ASL file may use, given how to name each resource in
 * the current runtime (CDK tokens in AWS, local ARNs in the local runtime).
 */
export function aslSubstitutions(resources: {
  functionArn: (name: FunctionName) => string;
  dataTableName: string;
  appTableName: string;
  backupBucketName: string;
}): Record<string, string> {
  const substitutions: Record<string, string> = {
    DataTableName: resources.dataTableName,
    AppTableName: resources.appTableName,
    BackupBucketName: resources.backupBucketName,
  };
  for (const name of Object.keys(FUNCTIONS) as FunctionName[]) substitutions[functionArnPlaceholder(name)] = resources.functionArn(name);
  return substitutions;
}

/** Fills `${Name}` placeholders in an ASL document; an unknown placeholder is an error. */
export function substituteAsl(text: string, substitutions: Record<string, string>): string {
  return text.replace(/\$\{(\w+)\}/g, (_, name: string) => {
    const value = substitutions[name];
    if (value === undefined) throw new Error(`ASL placeholder \${${name}} has no substitution`);
    return value;
  });
}
