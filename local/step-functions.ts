import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { StateMachine } from 'aws-local-stepfunctions';

/** Invokes a Lambda function of the local runtime by ARN, as Lambda's Invoke API would. */
export type InvokeFunction = (functionArn: string, payload: unknown) => Promise<unknown>;

/** The event EventBridge delivers when an execution ends ("Step Functions Execution Status Change"). */
export interface ExecutionStatusChange {
  source: 'aws.states';
  'detail-type': 'Step Functions Execution Status Change';
  detail: {
    executionArn: string;
    stateMachineArn: string;
    name: string;
    status: ExecutionStatus;
    input: string;
    output: string | null;
    error: string | null;
    cause: string | null;
  };
}

type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

interface ExecutionRecord {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: ExecutionStatus;
  input: string;
  output?: string;
  error?: string;
  cause?: string;
  startDate: number;
  stopDate?: number;
}

export interface LocalStepFunctionsOptions {
  /** Where executions are kept, so that a restart knows which were cut short. */
  stateFile: string;
  invoke: InvokeFunction;
  /** Called when an execution ends, like an EventBridge rule on status changes. */
  onStatusChange: (event: ExecutionStatusChange) => Promise<void>;
  /** Milliseconds to wait before each ASL retry (tests make retries instant); default: as the ASL says. */
  retryDelayMs?: number;
}

/**
 * The Step Functions stand-in. It serves the part of the Step Functions API the
 * service calls (StartExecution, DescribeExecution, StopExecution) over AWS's JSON
 * protocol, so the real `@aws-sdk/client-sfn` client talks to it, and it runs the
 * same ASL files with aws-local-stepfunctions, invoking the same handlers for every
 * `lambda:invoke` Task.
 */
export class LocalStepFunctions {
  private readonly options: LocalStepFunctionsOptions;
  private readonly definitions = new Map<string, { definition: Record<string, unknown>; taskStates: string[] }>();
  private readonly executions = new Map<string, ExecutionRecord>();
  private readonly running = new Map<string, { abort: () => void; done: Promise<void> }>();
  private server?: Server;
  private persisting = Promise.resolve();

  constructor(options: LocalStepFunctionsOptions) {
    this.options = options;
  }

  /** Registers a state machine from its (already substituted) ASL definition. */
  register(stateMachineArn: string, definition: Record<string, unknown>): void {
    this.definitions.set(stateMachineArn, { definition, taskStates: taskStateNames(definition) });
  }

  /** Starts serving the API; answers its endpoint. */
  async start(): Promise<string> {
    const saved = await readFile(this.options.stateFile, 'utf8').then((text) => JSON.parse(text) as ExecutionRecord[]).catch(() => []);
    for (const execution of saved) this.executions.set(execution.executionArn, execution);
    this.server = createServer((request, response) => void this.serve(request, response));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  /**
   * Executions that were running when the process last stopped are marked ABORTED and
   * reported, the way AWS reports an execution that was stopped. Call it once the
   * functions that the status rules run are ready.
   */
  async abortInterrupted(): Promise<void> {
    const interrupted = [...this.executions.values()].filter((execution) => execution.status === 'RUNNING' && !this.running.has(execution.executionArn));
    for (const execution of interrupted) {
      Object.assign(execution, { status: 'ABORTED', stopDate: Date.now() / 1000, error: 'States.Aborted', cause: 'The local runtime stopped while this execution ran.' });
    }
    if (interrupted.length) this.persist();
    for (const execution of interrupted) await this.ended(execution);
  }

  /** Stops serving; running executions are left to be reported as ABORTED on the next start. */
  async stop(): Promise<void> {
    await this.persisting;
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server?.closeAllConnections();
  }

  /** Waits for every running execution to end (tests use it to settle). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running.values()].map((execution) => execution.done));
  }

  private async serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const target = String(request.headers['x-amz-target'] ?? '').replace('AWSStepFunctions.', '');
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      const result =
        target === 'StartExecution' ? this.startExecution(body)
        : target === 'DescribeExecution' ? this.describeExecution(body)
        : target === 'StopExecution' ? this.stopExecution(body)
        : fail('UnknownOperationException', `The local Step Functions stand-in does not support ${target}`);
      response.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' }).end(JSON.stringify(result));
    } catch (error) {
      const { name, message } = error as Error;
      response.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' }).end(JSON.stringify({ __type: name, message }));
    }
  }

  private startExecution(body: { stateMachineArn: string; name?: string; input?: string }) {
    const machine = this.definitions.get(body.stateMachineArn) ?? fail('StateMachineDoesNotExist', `State machine does not exist: ${body.stateMachineArn}`);
    const name = body.name ?? crypto.randomUUID();
    const executionArn = `${body.stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
    const input = body.input ?? '{}';
    const existing = this.executions.get(executionArn);
    if (existing) {
      // Like AWS: starting the same name with the same input while it runs is idempotent.
      if (existing.status === 'RUNNING' && existing.input === input) return { executionArn, startDate: existing.startDate };
      fail('ExecutionAlreadyExists', `Execution already exists: '${executionArn}'`);
    }
    const execution: ExecutionRecord = { executionArn, stateMachineArn: body.stateMachineArn, name, status: 'RUNNING', input, startDate: Date.now() / 1000 };
    this.executions.set(executionArn, execution);
    this.persist();
    this.run(execution, machine.definition, machine.taskStates);
    return { executionArn, startDate: execution.startDate };
  }

  private describeExecution(body: { executionArn: string }) {
    const execution = this.executions.get(body.executionArn) ?? fail('ExecutionDoesNotExist', `Execution does not exist: '${body.executionArn}'`);
    return { ...execution };
  }

  private stopExecution(body: { executionArn: string; error?: string; cause?: string }) {
    const execution = this.executions.get(body.executionArn) ?? fail('ExecutionDoesNotExist', `Execution does not exist: '${body.executionArn}'`);
    if (execution.status === 'RUNNING') {
      Object.assign(execution, { error: body.error ?? 'States.Aborted', cause: body.cause ?? 'Stopped by request.' });
      this.running.get(execution.executionArn)?.abort();
    }
    return { stopDate: execution.stopDate ?? Date.now() / 1000 };
  }

  private run(execution: ExecutionRecord, definition: Record<string, unknown>, taskStates: string[]): void {
    const invokeTask = async (input: { FunctionName: string; Payload: unknown }) => {
      try {
        const payload = await this.options.invoke(input.FunctionName, JSON.parse(JSON.stringify(input.Payload ?? null)));
        return { Payload: payload === undefined ? null : JSON.parse(JSON.stringify(payload)) };
      } catch (error) {
        throw asLambdaError(error);
      }
    };
    const stateMachine = new StateMachine(definition as never, { validationOptions: { checkArn: false, checkPaths: true } });
    const retryDelay = this.options.retryDelayMs;
    const run = stateMachine.run(JSON.parse(execution.input), {
      noThrowOnAbort: false,
      overrides: {
        taskResourceLocalHandlers: Object.fromEntries(taskStates.map((state) => [state, invokeTask as never])),
        ...(retryDelay !== undefined ? { retryIntervalOverrides: Object.fromEntries(taskStates.map((state) => [state, retryDelay])) } : {}),
      },
      context: {
        Execution: { Id: execution.executionArn, Name: execution.name, Input: JSON.parse(execution.input), StartTime: new Date(execution.startDate * 1000).toISOString() },
        StateMachine: { Id: execution.stateMachineArn, Name: execution.stateMachineArn.split(':').pop() },
      },
    });
    const done = run.result.then(
      (output) => Object.assign(execution, { status: 'SUCCEEDED', output: JSON.stringify(output ?? null) }),
      (error: Error & { cause?: unknown }) => {
        if (error.name === 'ExecutionAbortedError') return Object.assign(execution, { status: 'ABORTED' });
        if (error.name === 'ExecutionTimeoutError') return Object.assign(execution, { status: 'TIMED_OUT', error: 'States.Timeout' });
        // ExecutionError wraps the state error: its `cause` holds the Error/Cause pair.
        const inner = (error.cause ?? error) as Error;
        return Object.assign(execution, { status: 'FAILED', error: inner.name, cause: inner.message });
      },
    ).then(async () => {
      execution.stopDate = Date.now() / 1000;
      this.persist();
      await this.ended(execution);
    }).finally(() => this.running.delete(execution.executionArn));
    this.running.set(execution.executionArn, { abort: run.abort, done });
  }

  private async ended(execution: ExecutionRecord): Promise<void> {
    try {
      await this.options.onStatusChange({
        source: 'aws.states',
        'detail-type': 'Step Functions Execution Status Change',
        detail: {
          executionArn: execution.executionArn,
          stateMachineArn: execution.stateMachineArn,
          name: execution.name,
          status: execution.status,
          input: execution.input,
          output: execution.output ?? null,
          error: execution.error ?? null,
          cause: execution.cause ?? null,
        },
      });
    } catch (error) {
      console.error('[local] status-change rule failed:', (error as Error).message);
    }
  }

  private persist(): void {
    const snapshot = JSON.stringify([...this.executions.values()]);
    this.persisting = this.persisting.then(async () => {
      await mkdir(dirname(this.options.stateFile), { recursive: true });
      await writeFile(this.options.stateFile, snapshot);
    });
  }
}

/** Lambda reports a thrown error as `{errorType, errorMessage}`; Step Functions puts that JSON in `Cause`. */
function asLambdaError(error: unknown): Error {
  const original = error instanceof Error ? error : new Error(String(error));
  const wrapped = new Error(JSON.stringify({ errorType: original.name, errorMessage: original.message }));
  wrapped.name = original.name;
  return wrapped;
}

/** Names of every Task state, including those inside Map and Parallel states. */
export function taskStateNames(definition: Record<string, unknown>): string[] {
  const names: string[] = [];
  const states = (definition.States ?? {}) as Record<string, Record<string, unknown>>;
  for (const [name, state] of Object.entries(states)) {
    if (state.Type === 'Task') names.push(name);
    const processor = (state.ItemProcessor ?? state.Iterator) as Record<string, unknown> | undefined;
    if (processor) names.push(...taskStateNames(processor));
    for (const branch of (state.Branches ?? []) as Array<Record<string, unknown>>) names.push(...taskStateNames(branch));
  }
  return names;
}

function fail(name: string, message: string): never {
  const error = new Error(message);
  error.name = name;
  throw error;
}
