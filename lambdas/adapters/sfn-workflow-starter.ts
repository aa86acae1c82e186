import { DescribeExecutionCommand, StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { WorkflowExecution, WorkflowName, WorkflowStarter } from '#core/ports/workflow-starter.ts';
import { rethrowTransient } from './aws-errors.ts';

/** Starts Step Functions executions by workflow name, with the ARNs from the config. */
export class SfnWorkflowStarter implements WorkflowStarter {
  private readonly client: SFNClient;
  private readonly stateMachineArns: Record<WorkflowName, string>;

  constructor(client: SFNClient, stateMachineArns: Record<WorkflowName, string>) {
    this.client = client;
    this.stateMachineArns = stateMachineArns;
  }

  async start(workflow: WorkflowName, name: string, input: Record<string, unknown>): Promise<void> {
    const stateMachineArn = this.stateMachineArns[workflow];
    if (!stateMachineArn) throw new Error(`No state machine configured for ${workflow}`);
    try {
      await this.client.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
    } catch (error) {
      // Same name, same input, still running: Step Functions answers success. Same name
      // after it ended: the work was already started once, which is what we wanted.
      if ((error as Error).name === 'ExecutionAlreadyExists') return;
      rethrowTransient(error, 'The workflow engine');
    }
  }

  async describe(workflow: WorkflowName, name: string): Promise<WorkflowExecution | undefined> {
    const stateMachineArn = this.stateMachineArns[workflow];
    if (!stateMachineArn) throw new Error(`No state machine configured for ${workflow}`);
    // An execution's ARN is its state machine's with `execution` for `stateMachine`, plus its name.
    const executionArn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
    try {
      const execution = await this.client.send(new DescribeExecutionCommand({ executionArn }));
      return {
        status: execution.status as WorkflowExecution['status'],
        ...(execution.error ? { error: execution.error } : {}),
        ...(execution.cause ? { cause: execution.cause } : {}),
      };
    } catch (error) {
      if ((error as Error).name === 'ExecutionDoesNotExist') return undefined;
      return rethrowTransient(error, 'The workflow engine');
    }
  }
}
