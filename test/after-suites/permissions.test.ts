import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FUNCTIONS, type FunctionName } from '#service/catalog.ts';
import { UNEXERCISED_GRANTS } from '../../infra/unexercised-grants.ts';
import type { AwsCall } from '../../local/aws-calls.ts';
import { readNewestAwsCalls } from '../support/aws-calls.ts';
import { Deployment } from '../support/cloudformation.ts';
import { DeployedApp, evaluate, grantsOf, iamRequestsFor, matchesPattern, type Grant, type IamRequest } from '../support/permission-check.ts';
import { removeSynthesizedApps, synthesizeApp } from '../infra/infra-app.ts';

/**
 * Every AWS call every function made in the end-to-end suites of this run (npm test
 * runs this after them), evaluated against that function's IAM role in the synthesized
 * stacks with @cloud-copilot/iam-simulate: none may be denied; and every grant of a
 * role must be needed by some call, or be listed in infra/unexercised-grants.ts.
 */
describe('the deployed permissions, against every AWS call of the end-to-end suites', () => {
  let calls: AwsCall[] = [];
  let recordedIn = '';
  let app: DeployedApp;
  const allowed: IamRequest[] = [];
  const denied: Array<IamRequest & { verdict: string }> = [];
  let requests = 0;

  beforeAll(async () => {
    const recorded = readNewestAwsCalls();
    if (!recorded) throw new Error('No recorded AWS calls: run the end-to-end suites first (npm test runs them before this check)');
    ({ calls, dir: recordedIn } = recorded);
    const synthesized = synthesizeApp();
    try {
      const stacks = { [synthesized.stateful.stackName]: synthesized.stateful$.toJSON(), [synthesized.stateless.stackName]: synthesized.stateless$.toJSON() };
      app = new DeployedApp(new Deployment(stacks as never), synthesized.stateless.stackName);
    } finally {
      removeSynthesizedApps();
    }
    const seen = new Set<string>();
    for (const call of calls) {
      for (const request of iamRequestsFor(call, app)) {
        const full: IamRequest = { ...request, function: call.function, call: `${call.service}.${call.operation}` };
        const key = JSON.stringify([full.function, full.action, full.resource, full.context]);
        if (seen.has(key)) continue;
        seen.add(key);
        requests += 1;
        const verdict = await evaluate(full, app.functions.get(call.function)!);
        if (verdict === 'Allowed') allowed.push(full);
        else denied.push({ ...full, verdict });
      }
    }
  }, 600_000);

  it('covers every function of the catalog (the whole suite ran)', () => {
    const silent = (Object.keys(FUNCTIONS) as FunctionName[]).filter((name) => !calls.some((call) => call.function === name));
    expect(silent, `no recorded call in ${recordedIn} from these functions: run the whole suite (npm test)`).toEqual([]);
  });

  it('denies none of them', () => {
    const report = denied.map((request) => `${request.function}: ${request.action} on ${request.resource} (${request.verdict}, for ${request.call}, context ${JSON.stringify(request.context)})`);
    expect(report).toEqual([]);
  });

  it('grants nothing that no call needed, beyond the reviewed exceptions', () => {
    const unused: Grant[] = [];
    for (const fn of app.functions.values()) {
      for (const grant of grantsOf(fn)) {
        const used = allowed.some((request) => request.function === fn.name && matchesPattern(grant.action, request.action, true) && matchesPattern(grant.resource, request.resource));
        if (!used) unused.push(grant);
      }
    }
    const reasonFor = (grant: Grant) =>
      UNEXERCISED_GRANTS.find(
        (exception) =>
          (exception.functions === '*' || exception.functions.includes(grant.function)) &&
          (typeof exception.action === 'string' ? exception.action === grant.action : exception.action.test(grant.action)) &&
          (!exception.resource || exception.resource.test(grant.resource)),
      );
    const unexplained = unused.filter((grant) => !reasonFor(grant)).map((grant) => `${grant.function}: ${grant.action} on ${grant.resource}`);
    const stale = UNEXERCISED_GRANTS.filter((exception) => !unused.some((grant) => reasonFor(grant) === exception)).map((exception) => exception.reason);

    const report = {
      recordedIn,
      commandsRecorded: calls.length,
      iamRequestsEvaluated: requests,
      denied: denied.length,
      grants: [...app.functions.values()].reduce((sum, fn) => sum + grantsOf(fn).length, 0),
      unusedGrants: unused.map((grant) => ({ ...grant, reason: reasonFor(grant)?.reason ?? 'UNEXPLAINED' })),
      perFunction: Object.fromEntries([...app.functions.keys()].map((name) => [name, calls.filter((call) => call.function === name).length])),
    };
    writeFileSync(join(recordedIn, '..', 'permission-report.json'), JSON.stringify(report, null, 2));
    console.log(
      `Permission check: ${report.commandsRecorded} distinct AWS calls recorded, ${report.iamRequestsEvaluated} IAM requests evaluated, ${report.denied} denied; ` +
        `${report.grants} grants, ${unused.length} not exercised (${unused.length - unexplained.length} with a reviewed reason). Report: test-results/aws-calls/permission-report.json`,
    );
    expect(unexplained, 'grant it no more, or give the reason in infra/unexercised-grants.ts').toEqual([]);
    expect(stale, 'these reviewed exceptions match no unused grant any more: remove them from infra/unexercised-grants.ts').toEqual([]);
  });
});
