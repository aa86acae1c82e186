import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTIONS } from '#service/catalog.ts';
import { PLANNING_STOPPED } from '#core/restores/restore-planning.ts';
import type { RestoreTuning } from '#core/restores/restore-policy.ts';
import { PLAN_START_GRACE_MS } from '#core/restores/read-restore-plan.ts';
import type { AppDeps } from '#runtime/deps.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';

const ADMIN = 'admin@acme.example';
const CHOSEN = ['dealname', 'amount'];

/** `planBudgetMs: 0`: every plan is saved PLANNING at once and handed to the restore-plan state machine. */
const tuning: RestoreTuning = { segmentRecords: 15, planBudgetMs: 0 };

let offsetMs = 0;
const clock = { now: () => new Date(Date.now() + offsetMs) };

/**
 * The crash: with `killAfterCheckpoint`, the API call dies right after saving the plan
 * PLANNING, before it starts the execution (as a hard kill or a timeout would: no
 * cleanup runs). Starts of restore-plan executions are counted.
 */
const faults = { killAfterCheckpoint: false, planIds: [] as string[], planStarts: [] as string[] };

function withFaults(deps: AppDeps): AppDeps {
  const restores = Object.create(deps.restores) as typeof deps.restores;
  restores.putPlan = async (plan) => {
    await deps.restores.putPlan(plan);
    faults.planIds.push(plan.id);
    if (faults.killAfterCheckpoint && plan.status === 'PLANNING') throw new Error('The API process was killed');
  };
  const workflows = Object.create(deps.workflows) as typeof deps.workflows;
  workflows.start = async (workflow, name, input) => {
    if (workflow === 'restore-plan') faults.planStarts.push(name);
    return deps.workflows.start(workflow, name, input);
  };
  return { ...deps, restores, workflows, config: { ...deps.config, restoreTuning: tuning } };
}

describe('restore plans whose planning API call died', () => {
  let runtime: TestRuntime;
  let backupId: string;
  /** A plan of the same selection made without a fault: what a recovered plan must equal. */
  let reference: Record<string, unknown>;

  const plan = () => runtime.api('POST', `/v1/backups/${backupId}/restore-plans`, { as: ADMIN, body: { objectType: 'deals', properties: CHOSEN } });
  const show = (planId: string) => runtime.api('GET', `/v1/restore-plans/${planId}`, { as: ADMIN });
  const numbers = (view: Record<string, unknown>) => {
    const { id: _id, createdAt: _created, expiresAt: _expires, ...rest } = view;
    return rest;
  };

  /** A plan saved PLANNING whose execution was never started. */
  async function crashedPlan(): Promise<string> {
    faults.killAfterCheckpoint = true;
    const response = await plan();
    faults.killAfterCheckpoint = false;
    expect(response.status, JSON.stringify(response.body)).toBe(500);
    const planId = faults.planIds.at(-1)!;
    expect((await show(planId)).body.status).toBe('PLANNING');
    expect(await runtime.deps.workflows.describe('restore-plan', planId)).toBeUndefined();
    return planId;
  }

  beforeAll(async () => {
    runtime = await startTestRuntime({ clock, wrapDeps: withFaults });
    backupId = (await runtime.api('POST', '/v1/backups', { as: ADMIN })).body.id;
    await runtime.idle();
    // Edits since the backup, so the plan has changes to count.
    const deals = (await runtime.api('GET', '/v1/objects/deals/records?limit=5', { as: ADMIN })).body.items as Array<{ id: string }>;
    for (const deal of deals) await runtime.api('PATCH', `/v1/objects/deals/records/${deal.id}`, { as: ADMIN, body: { properties: { dealname: `renamed ${deal.id}` } } });
    const made = await plan();
    expect(made.status).toBe(202);
    await runtime.idle();
    reference = (await show(made.body.id)).body;
    expect(reference).toMatchObject({ status: 'READY', recordsInBackup: 40, recordsToChange: 5 });
  });

  afterAll(async () => {
    await runtime?.destroy();
  });

  it('waits out the API call’s lifetime, then starts the execution named after the plan, which finishes the plan', async () => {
    const planId = await crashedPlan();
    // Within the grace period the API call might still be alive: nothing is started.
    offsetMs += PLAN_START_GRACE_MS - 10_000;
    expect((await show(planId)).body.status).toBe('PLANNING');
    await runtime.idle();
    expect(await runtime.deps.workflows.describe('restore-plan', planId)).toBeUndefined();

    offsetMs += 10_000;
    const startsBefore = faults.planStarts.length;
    const polled = await show(planId);
    expect(polled.status).toBe(200);
    expect(polled.body.status).toBe('PLANNING');
    expect(faults.planStarts.slice(startsBefore)).toEqual([planId]);
    await runtime.idle();
    expect(await runtime.deps.workflows.describe('restore-plan', planId)).toMatchObject({ status: 'SUCCEEDED' });
    const finished = (await show(planId)).body;
    expect(finished.status).toBe('READY');
    expect(numbers(finished)).toEqual(numbers(reference));
  });

  it('starts one execution however many people poll the plan at once', async () => {
    const planId = await crashedPlan();
    offsetMs += PLAN_START_GRACE_MS;
    const startsBefore = faults.planStarts.length;
    const polls = await Promise.all(Array.from({ length: 8 }, () => show(planId)));
    expect(polls.map((poll) => poll.status)).toEqual(Array(8).fill(200));
    expect(faults.planStarts.slice(startsBefore)).toEqual([planId]);
    await runtime.idle();
    expect((await show(planId)).body.status).toBe('READY');
    expect(faults.planStarts.slice(startsBefore)).toEqual([planId]);
  });

  it('ends FAILED a plan whose execution ended without ending it', async () => {
    const planId = await crashedPlan();
    // An execution under the plan's name that ends without touching the plan (it works on
    // another id): as when the plan's own execution ended and the status rule missed it.
    await runtime.deps.workflows.start('restore-plan', planId, { accountId: 'acme', planId: 'pl_none' });
    await runtime.idle();
    expect(await runtime.deps.workflows.describe('restore-plan', planId)).toMatchObject({ status: 'SUCCEEDED' });
    expect((await show(planId)).body.status).toBe('PLANNING');

    offsetMs += PLAN_START_GRACE_MS;
    const failed = await show(planId);
    expect(failed.body).toMatchObject({ id: planId, status: 'FAILED', error: PLANNING_STOPPED });
    const applied = await runtime.api('POST', '/v1/restores', { as: 'sso-admin@acme.example', body: { planId, acknowledge: { changesData: true, cannotBeUndone: true } } });
    expect(applied.status).toBe(409);
    expect(applied.body.error.code).toBe('PLAN_NOT_READY');
  });

  it('never touches a plan that is READY', async () => {
    offsetMs += PLAN_START_GRACE_MS;
    const startsBefore = faults.planStarts.length;
    expect((await show(String(reference.id))).body).toEqual(reference);
    expect(faults.planStarts.length).toBe(startsBefore);
  });

  it('has a grace period longer than the planning API call can live', () => {
    expect(PLAN_START_GRACE_MS).toBeGreaterThan(FUNCTIONS['restores-api'].timeoutSeconds * 1000);
  });
});
