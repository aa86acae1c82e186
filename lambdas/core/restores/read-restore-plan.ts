import type { Caller } from '../caller.ts';
import { requireSuperAdmin } from '../caller.ts';
import { TransientError } from '../errors.ts';
import type { RestorePlanView, StoredPlan } from '../restore-model.ts';
import type { RestoreDeps } from './restore-deps.ts';
import { failPlan, PLANNING_STOPPED, type PlanJob } from './restore-planning.ts';
import { requireLivePlan, toPlanView as toRestorePlanView } from './restore-policy.ts';
import { toRevertPlanView, type RevertPlanView } from '../reverts/revert-policy.ts';

/** A restore plan or a revert plan, each as the API shows it. */
function toPlanView(plan: StoredPlan): RestorePlanView | RevertPlanView {
  return plan.revert ? toRevertPlanView(plan) : toRestorePlanView(plan);
}

/**
 * How long after its creation a PLANNING plan must have its `restore-plan` execution.
 * The API call that plans and starts it lives at most 29 s (restores-api's timeout,
 * after which Lambda has ended it), so past this nobody alive can still start it.
 */
export const PLAN_START_GRACE_MS = 2 * 60_000;

/**
 * Between two checks of one plan's execution. Pages and the CLI poll every few seconds;
 * the workflow engine need not hear of each poll.
 */
export const PLAN_CHECK_INTERVAL_MS = 60_000;

export type PlanRecoveryDeps = Pick<RestoreDeps, 'restores' | 'blobs' | 'clock' | 'workflows'>;

/** What a check of a PLANNING plan did. */
export type PlanRecovery = 'started' | 'failed' | 'running' | 'not-due';

/**
 * The plan again (GET /v1/restore-plans/{id}): 404 for an unknown or another account's
 * plan, 410 once expired. A PLANNING plan is checked on the way (`recoverStalledPlan`),
 * so one left behind by a crashed API call moves on while people watch it.
 *
 * Primary course:
 *  1. Check the caller is a super admin; load the live plan.
 *  2. If it is PLANNING, check that its execution runs (restarting or ending it if not).
 *  3. Answer the plan as it is after the check.
 */
export async function readRestorePlan(caller: Caller, planId: string, deps: PlanRecoveryDeps): Promise<RestorePlanView | RevertPlanView> {
  requireSuperAdmin(caller);
  const plan = await requireLivePlan(caller.accountId, planId, deps);
  if (plan.status !== 'PLANNING') return toPlanView(plan);
  let recovery: PlanRecovery;
  try {
    recovery = await recoverStalledPlan(plan, deps);
  } catch (error) {
    // The engine or the table is busy: showing the plan matters more, and the check is
    // due again in a minute, at a later poll.
    if (error instanceof TransientError) return toPlanView(plan);
    throw error;
  }
  if (recovery !== 'failed') return toPlanView(plan);
  return toPlanView((await deps.restores.getPlan(plan.accountId, plan.id)) ?? plan);
}

/**
 * Gets a PLANNING plan going again when the API call that planned it died between
 * saving its checkpoint and starting its `restore-plan` execution (a hard kill, a
 * timeout), and ends one whose execution ended without ending it. Without this such a
 * plan stays PLANNING until it expires a day later.
 *
 * Primary course:
 *  1. Only a plan past the start grace period, and only one checker a minute: a
 *     conditional claim on the plan, so simultaneous readers ask the engine once.
 *  2. Ask the engine about the execution named after the plan.
 *  3. None: start it under that same name. The name makes the start idempotent: a
 *     second start of it (another checker, a late original) starts nothing new.
 *  4. Running: nothing to do; its steps move the plan on.
 * Alternate course: the execution ended but the plan is still PLANNING (its failure
 *  went unhandled): the plan ends FAILED with its segment files deleted, as a caught
 *  failure would. `failPlan` fails only a plan still PLANNING, so one that just became
 *  READY stays READY.
 */
export async function recoverStalledPlan(plan: StoredPlan, deps: PlanRecoveryDeps): Promise<PlanRecovery> {
  const now = deps.clock.now();
  if (plan.status !== 'PLANNING' || now.getTime() < Date.parse(plan.createdAt) + PLAN_START_GRACE_MS) return 'not-due';
  const checkedBefore = new Date(now.getTime() - PLAN_CHECK_INTERVAL_MS).toISOString();
  if (!(await deps.restores.claimPlanCheck(plan.accountId, plan.id, now.toISOString(), checkedBefore))) return 'not-due';
  const job: PlanJob = { accountId: plan.accountId, planId: plan.id };
  const execution = await deps.workflows.describe('restore-plan', plan.id);
  if (!execution) {
    // The same input as planRestore's start: the engine treats an identical start of a running execution as the same one.
    await deps.workflows.start('restore-plan', plan.id, { ...job });
    return 'started';
  }
  if (execution.status === 'RUNNING' || execution.status === 'PENDING_REDRIVE') return 'running';
  await failPlan(job, PLANNING_STOPPED, deps);
  return 'failed';
}
