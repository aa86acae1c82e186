import { readFileSync } from 'node:fs';
import aslValidator from 'asl-validator';
import { describe, expect, it } from 'vitest';
import * as errors from '#core/errors.ts';
import { EXECUTION_STATUS_RULES, FUNCTIONS, SCHEDULED_FUNCTIONS, STATE_MACHINES, aslSubstitutions, substituteAsl, type FunctionName } from '#service/catalog.ts';

const LAMBDA_TRANSIENT = ['Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException', 'Lambda.TooManyRequestsException'];
const ERROR_NAMES = new Set(
  Object.values(errors as Record<string, unknown>)
    .filter((value): value is { name: string; prototype: unknown } => typeof value === 'function' && value.prototype instanceof Error)
    .map((type) => type.name),
);

type State = Record<string, any>;

function allStates(definition: State): Array<[string, State]> {
  const states: Array<[string, State]> = [];
  for (const [name, state] of Object.entries(definition.States as Record<string, State>)) {
    states.push([name, state]);
    const processor = state.ItemProcessor ?? state.Iterator;
    if (processor) states.push(...allStates(processor));
    for (const branch of state.Branches ?? []) states.push(...allStates(branch));
  }
  return states;
}

function load(file: string): { text: string; definition: State } {
  const text = readFileSync(new URL(`../../statemachines/${file}`, import.meta.url), 'utf8');
  const substituted = substituteAsl(text, aslSubstitutions({
    // What the stack substitutes, in the shape AWS gives it (asl-validator checks ARNs).
    functionArn: (name) => `arn:aws:lambda:us-east-1:111111111111:function:${name}`,
    dataTableName: 'CrmBackup-prod-Stateful-DataTable', appTableName: 'CrmBackup-prod-Stateful-AppTable', backupBucketName: 'crmbackup-prod-backups',
  }));
  return { text, definition: JSON.parse(substituted) };
}

describe('state machine definitions', () => {
  const machines = Object.entries(STATE_MACHINES);

  it('are registered in the catalog', () => {
    expect(machines.length).toBeGreaterThan(0);
  });

  describe.each(machines)('%s', (_, machine) => {
    const { definition } = load(machine.file);
    const tasks = allStates(definition).filter(([, state]) => state.Type === 'Task');

    it('fills every placeholder (substituteAsl throws on an unknown one)', () => {
      expect(JSON.stringify(definition)).not.toContain('${');
    });

    it('is valid Amazon States Language once substituted (asl-validator: schema, transitions, paths, ARNs)', () => {
      const result = aslValidator(definition, { checkPaths: true, checkArn: true });
      expect(result.errorsText('\n')).toBe('');
      expect(result.isValid).toBe(true);
    });

    it('invokes only functions of the catalog, each with a timeout', () => {
      for (const [name, state] of tasks) {
        expect(state.Resource, name).toBe('arn:aws:states:::lambda:invoke');
        const functionName = String(state.Parameters?.FunctionName).split(':').pop() as FunctionName;
        expect(FUNCTIONS[functionName], `${name} → ${functionName}`).toBeDefined();
        expect(state.TimeoutSeconds, `${name} TimeoutSeconds`).toBeGreaterThanOrEqual(FUNCTIONS[functionName].timeoutSeconds);
      }
    });

    it("retries Lambda's transient errors on every task", () => {
      for (const [name, state] of tasks) {
        const retried = (state.Retry ?? []).flatMap((retry: State) => retry.ErrorEquals);
        for (const error of LAMBDA_TRANSIENT) expect(retried, `${name} retries ${error}`).toContain(error);
      }
    });

    it('puts every caught error in one field, $.failure, which the failure steps read (lambdas/runtime/step-handler.ts)', () => {
      const catches = allStates(definition).flatMap(([, state]) => (state.Catch ?? []) as State[]);
      expect(catches.length).toBeGreaterThan(0);
      for (const rule of catches) expect(rule.ResultPath).toBe('$.failure');
    });

    it('names only errors that exist in errors.ts (or States.*, Lambda.*)', () => {
      for (const [name, state] of allStates(definition)) {
        for (const rule of [...(state.Retry ?? []), ...(state.Catch ?? [])]) {
          for (const error of rule.ErrorEquals as string[]) {
            if (error.startsWith('States.') || error.startsWith('Lambda.')) continue;
            expect(ERROR_NAMES.has(error), `${name}: ${error}`).toBe(true);
          }
        }
      }
    });
  });

  it('every step function is used by a state machine, a rule or a schedule, and every API function serves a route', async () => {
    const used = new Set<string>();
    for (const machine of Object.values(STATE_MACHINES)) {
      for (const [, state] of allStates(load(machine.file).definition)) {
        if (state.Type === 'Task') used.add(String(state.Parameters.FunctionName).split(':').pop()!);
      }
    }
    EXECUTION_STATUS_RULES.forEach((rule) => used.add(rule.function));
    SCHEDULED_FUNCTIONS.forEach((schedule) => used.add(schedule.function));
    const { API_ROUTES } = await import('#service/catalog.ts');
    Object.values(API_ROUTES).forEach((name) => used.add(name));
    expect(Object.keys(FUNCTIONS).filter((name) => !used.has(name))).toEqual([]);
  });
});
