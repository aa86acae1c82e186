/**
 * Grants no function's SDK call exercises in the end-to-end suites, kept on purpose,
 * each with its reason. test/after-suites/permissions.test.ts lists every grant of every
 * function's role that no recorded call needed: each must match an entry here (or be
 * removed from the role), and an entry that matches nothing any more fails the test too,
 * so this list stays exactly the exceptions.
 */
export interface UnexercisedGrant {
  /** Catalog function names, or every function. */
  functions: string[] | '*';
  /** The action as the policy writes it (`kms:GenerateDataKey*`). */
  action: string | RegExp;
  /** Matches the resolved resource pattern; any resource when absent. */
  resource?: RegExp;
  reason: string;
}

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
];
