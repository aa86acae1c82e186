/** The state machines the service runs. */
export type WorkflowName = 'backup' | 'restore';

/**
 * Starts state machine executions (Step Functions in AWS, the local stand-in
 * otherwise). The execution name makes a start idempotent: starting the same name
 * again with the same input is not an error and starts nothing new.
 */
export interface WorkflowStarter {
  start(workflow: WorkflowName, name: string, input: Record<string, unknown>): Promise<void>;
}
