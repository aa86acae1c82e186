import { StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { WorkflowName, WorkflowStarter } from '#core/ports/workflow-starter.ts';
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
}
