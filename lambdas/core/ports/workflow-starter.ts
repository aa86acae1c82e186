/** The state machines the service runs. */
export type WorkflowName = 'backup' | 'restore' | 'restore-plan' | 'comparison' | 'anomaly-check';

/**
 * Starts state machine executions (Step Functions in AWS, the local stand-in
 * otherwise). The execution name makes a start idempotent: starting the same name
 * again with the same input is not an error and starts nothing new.
 */
export interface WorkflowStarter {
  start(workflow: WorkflowName, name: string, input: Record<string, unknown>): Promise<void>;
  /**
   * What became of the execution started under `name`; undefined when none was ever
   * started (recovery uses it to tell a crashed start from a backup still running).
   */
  describe(workflow: WorkflowName, name: string): Promise<WorkflowExecution | undefined>;
}

/** An execution as the engine reports it; `error`/`cause` only once it failed. */
export interface WorkflowExecution {
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING_REDRIVE';
  error?: string;
  cause?: string;
}
