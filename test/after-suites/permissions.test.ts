import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FUNCTIONS, type FunctionName } from '#service/catalog.ts';
import { UNEXERCISED_GRANTS } from '../../infra/unexercised-grants.ts';
import { readRecordedAwsCalls, type RecordedAwsCall } from '../support/aws-calls.ts';
import { Deployment } from '../support/cloudformation.ts';
import { DeployedApp, evaluate, grantsOf, iamRequestsFor, matchesPattern, type Grant, type IamRequest } from '../support/permission-check.ts';
import { removeSynthesizedApps, synthesizeApp } from '../infra/infra-app.ts';

/** The stacks as synthesized with `-c mfa=<mfa>` (optional adds the download step-up's grants). */
function deployedApp(mfa: RecordedAwsCall['mfa']): DeployedApp {
  const synthesized = synthesizeApp({ mfa });
  try {
    const stacks = { [synthesized.stateful.stackName]: synthesized.stateful$.toJSON(), [synthesized.stateless.stackName]: synthesized.stateless$.toJSON() };
    return new DeployedApp(new Deployment(stacks as never), synthesized.stateless.stackName);
  } finally {
    removeSynthesizedApps();
  }
}

/**
 * Every AWS call every function made in the end-to-end suites of this run (npm test
 * runs this after them), evaluated against that function's IAM role in the synthesized
 * stacks with @cloud-copilot/iam-simulate: none may be denied; and every grant of a
 * role must be needed by some call, or be listed in infra/unexercised-grants.ts.
 * A call made by a runtime standing for `-c mfa=optional` is evaluated against that
 * deployment; the others against both (optional only adds grants).
 */
describe('the deployed permissions, against every AWS call of the end-to-end suites', () => {
  let calls: RecordedAwsCall[] = [];
  let recordedIn = '';
  const apps = new Map<RecordedAwsCall['mfa'], DeployedApp>();
  const allowed: IamRequest[] = [];
  const denied: Array<IamRequest & { verdict: string; mfa: string }> = [];
  let requests = 0;

  beforeAll(async () => {
    const recorded = readRecordedAwsCalls();
    if (!recorded) throw new Error('No recorded AWS calls: run the end-to-end suites first (npm test runs them before this check)');
    ({ calls, dir: recordedIn } = recorded);
    if (recorded.earlier) console.log(`This run recorded no AWS calls: checking those of an earlier run, in ${recordedIn}`);
    for (const mfa of ['required', 'optional'] as const) apps.set(mfa, deployedApp(mfa));
    for (const [mfa, app] of apps) {
      const seen = new Set<string>();
      for (const call of calls.filter((candidate) => mfa === 'optional' || candidate.mfa === mfa)) {
        for (const request of iamRequestsFor(call, app)) {
          const full: IamRequest = { ...request, function: call.function, call: `${call.service}.${call.operation}` };
          const key = JSON.stringify([full.function, full.action, full.resource, full.context]);
          if (seen.has(key)) continue;
          seen.add(key);
          requests += 1;
          const verdict = await evaluate(full, app.functions.get(call.function)!);
          if (verdict === 'Allowed') allowed.push(full);
          else denied.push({ ...full, verdict, mfa });
        }
      }
    }
  }, 600_000);

  it('covers every function of the catalog (the whole suite ran)', () => {
    const silent = (Object.keys(FUNCTIONS) as FunctionName[]).filter((name) => !calls.some((call) => call.function === name));
    expect(silent, `no recorded call in ${recordedIn} from these functions: run the whole suite (npm test)`).toEqual([]);
  });

  it('denies none of them', () => {
    const report = denied.map(
      (request) => `${request.function} (mfa=${request.mfa}): ${request.action} on ${request.resource} (${request.verdict}, for ${request.call}, context ${JSON.stringify(request.context)})`,
    );
    expect(report).toEqual([]);
  });

  it('grants nothing that no call needed, beyond the reviewed exceptions', () => {
    const unused = new Map<string, Grant>();
    for (const app of apps.values()) {
      for (const fn of app.functions.values()) {
        for (const grant of grantsOf(fn)) {
          const used = allowed.some((request) => request.function === fn.name && matchesPattern(grant.action, request.action, true) && matchesPattern(grant.resource, request.resource));
          if (!used) unused.set(JSON.stringify(grant), grant);
        }
      }
    }
    const reasonFor = (grant: Grant) =>
      UNEXERCISED_GRANTS.find(
        (exception) =>
          (exception.functions === '*' || exception.functions.includes(grant.function)) &&
          (typeof exception.action === 'string' ? exception.action === grant.action : exception.action.test(grant.action)) &&
          (!exception.resource || exception.resource.test(grant.resource)),
      );
    const unexplained = [...unused.values()].filter((grant) => !reasonFor(grant)).map((grant) => `${grant.function}: ${grant.action} on ${grant.resource}`);
    const stale = UNEXERCISED_GRANTS.filter((exception) => ![...unused.values()].some((grant) => reasonFor(grant) === exception)).map((exception) => exception.reason);

    const grants = new Set([...apps.values()].flatMap((app) => [...app.functions.values()].flatMap((fn) => grantsOf(fn).map((grant) => JSON.stringify(grant)))));
    const report = {
      recordedIn,
      commandsRecorded: calls.length,
      iamRequestsEvaluated: requests,
      denied: denied.length,
      grants: grants.size,
      unusedGrants: [...unused.values()].map((grant) => ({ ...grant, reason: reasonFor(grant)?.reason ?? 'UNEXPLAINED' })),
      perFunction: Object.fromEntries((Object.keys(FUNCTIONS) as FunctionName[]).map((name) => [name, calls.filter((call) => call.function === name).length])),
    };
    writeFileSync(join(recordedIn, '..', 'permission-report.json'), JSON.stringify(report, null, 2));
    console.log(
      `Permission check: ${report.commandsRecorded} distinct AWS calls recorded, ${report.iamRequestsEvaluated} IAM requests evaluated, ${report.denied} denied; ` +
        `${report.grants} grants, ${unused.size} not exercised (${unused.size - unexplained.length} with a reviewed reason). Report: test-results/aws-calls/permission-report.json`,
    );
    expect(unexplained, 'grant it no more, or give the reason in infra/unexercised-grants.ts').toEqual([]);
    expect(stale, 'these reviewed exceptions match no unused grant any more: remove them from infra/unexercised-grants.ts').toEqual([]);
  });
});
