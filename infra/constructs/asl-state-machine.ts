import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ArnFormat, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { functionArnPlaceholder, substituteAsl, type FunctionName } from '#service/catalog.ts';
import { PROJECT_ROOT } from '../paths.ts';

/** What a definition may refer to, by the placeholder names of catalog.ts. */
export interface AslResources {
  functions: Record<string, lambda.IFunction>;
  /** `DataTableName` / `AppTableName` → table. */
  tables: Record<string, dynamodb.ITable>;
  bucket: s3.IBucket;
  eventBus: events.IEventBus;
  substitutions: Record<string, string>;
}

export interface AslStateMachineProps {
  /** File under statemachines/. */
  file: string;
  /** Physical name: fixed up front so functions can be given the ARN without a cycle. */
  stateMachineName: string;
  resources: AslResources;
  logRetention: logs.RetentionDays;
}

/**
 * A state machine from an ASL file in statemachines/. The definition is substituted
 * and inlined (DefinitionBody.fromString) so it stays in the template where tests can
 * read it. CDK infers no permissions from a file, so the role's grants are derived
 * from the Task states themselves: each Lambda the definition invokes, each DynamoDB
 * action on the table it names. A Task this construct does not understand fails the
 * synth instead of deploying a state machine that is denied at run time.
 */
export class AslStateMachine extends Construct {
  readonly stateMachine: sfn.StateMachine;
  /** The parsed definition after substitution (for tests and reports). */
  readonly definition: string;

  constructor(scope: Construct, id: string, props: AslStateMachineProps) {
    super(scope, id);
    const raw = readFileSync(join(PROJECT_ROOT, 'statemachines', props.file), 'utf8');
    const tasks = collectTasks(JSON.parse(raw) as AslDocument);
    this.definition = substituteAsl(raw, props.resources.substitutions);

    const logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY });
    // Step Functions may assume this role for this state machine only (CDK's default
    // trusts `stateMachine:*` of the account): the ARN is known from the fixed name.
    const stack = Stack.of(this);
    const ownArn = stack.formatArn({ service: 'states', resource: 'stateMachine', resourceName: props.stateMachineName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('states.amazonaws.com').withConditions({
        ArnEquals: { 'aws:SourceArn': ownArn },
        StringEquals: { 'aws:SourceAccount': stack.account },
      }),
      description: `Step Functions ${props.stateMachineName}: grants derived from its Task states`,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      role,
      stateMachineName: props.stateMachineName,
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromString(this.definition),
      tracingEnabled: true,
      // Execution data holds account ids, emails and S3 keys: keep it out of the logs;
      // ALL still records every state transition and error.
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
    for (const task of tasks) grantTask(this.stateMachine, task, props.resources, props.file);
  }
}

interface AslState {
  Type?: string;
  Resource?: string;
  Parameters?: Record<string, unknown>;
  States?: Record<string, AslState>;
  ItemProcessor?: AslDocument;
  Iterator?: AslDocument;
  Branches?: AslDocument[];
}
interface AslDocument {
  States?: Record<string, AslState>;
}
interface TaskRef {
  state: string;
  resource: string;
  parameters: Record<string, unknown>;
}

/** Every Task state, in nested Map iterators and Parallel branches too. */
export function collectTasks(document: AslDocument, found: TaskRef[] = []): TaskRef[] {
  for (const [name, state] of Object.entries(document.States ?? {})) {
    if (state.Type === 'Task') found.push({ state: name, resource: String(state.Resource ?? ''), parameters: state.Parameters ?? {} });
    if (state.ItemProcessor) collectTasks(state.ItemProcessor, found);
    if (state.Iterator) collectTasks(state.Iterator, found);
    for (const branch of state.Branches ?? []) collectTasks(branch, found);
  }
  return found;
}

const placeholderName = (value: unknown): string | undefined => (typeof value === 'string' ? /^\$\{(\w+)\}$/.exec(value)?.[1] : undefined);

function grantTask(stateMachine: sfn.StateMachine, task: TaskRef, resources: AslResources, file: string): void {
  const fail = (why: string): never => {
    throw new Error(`${file}, state "${task.state}": ${why} (infra/constructs/asl-state-machine.ts derives grants from Task states)`);
  };
  const lambdaInvoke = /^arn:aws:states:::lambda:invoke(\.waitForTaskToken)?$/.test(task.resource);
  const functionPlaceholder = lambdaInvoke ? placeholderName(task.parameters.FunctionName) : placeholderName(task.resource);
  if (lambdaInvoke || (functionPlaceholder && functionPlaceholder.endsWith('FunctionArn'))) {
    const fn = functionPlaceholder ? resources.functions[functionPlaceholder] : undefined;
    if (!fn) fail(`FunctionName must be a \${<Name>FunctionArn} placeholder of a catalog function, got ${JSON.stringify(task.parameters.FunctionName ?? task.resource)}`);
    fn!.grantInvoke(stateMachine);
    return;
  }
  const dynamo = /^arn:aws:states:::dynamodb:(getItem|putItem|updateItem|deleteItem)$/.exec(task.resource);
  if (dynamo) {
    const table = resources.tables[placeholderName(task.parameters.TableName) ?? ''];
    if (!table) fail(`TableName must be \${DataTableName} or \${AppTableName}, got ${JSON.stringify(task.parameters.TableName)}`);
    const action = dynamo[1]!;
    table!.grant(stateMachine, `dynamodb:${action[0]!.toUpperCase()}${action.slice(1)}`);
    // Customer-managed table keys: DynamoDB decrypts and encrypts on the caller's behalf.
    table!.encryptionKey?.grantEncryptDecrypt(stateMachine);
    return;
  }
  if (task.resource === 'arn:aws:states:::events:putEvents') {
    resources.eventBus.grantPutEventsTo(stateMachine);
    return;
  }
  fail(`no grant rule for Task resource "${task.resource}"`);
}

/** The ASL placeholder of each catalog function, for `AslResources.functions`. */
export function functionsByPlaceholder(functions: Record<string, lambda.IFunction>): Record<string, lambda.IFunction> {
  return Object.fromEntries(Object.entries(functions).map(([name, fn]) => [functionArnPlaceholder(name as FunctionName), fn]));
}
