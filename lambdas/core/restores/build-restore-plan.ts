import { ArchiveIntegrityError, ClientError, ValidationError } from '../errors.ts';
import type { ObjectType } from '../model.ts';
import type { StoredPlan } from '../restore-model.ts';
import type { RestoreDeps } from './restore-deps.ts';
import { advancePlan, auditPlanned, damagedSentence, failPlan, PLANNING_STOPPED, planSource, readyPlan, type PlanJob, type PlanningRun, type PlanStep } from './restore-planning.ts';
import { planPrefix, requireRestorableBackup } from './restore-policy.ts';
import { nextUndoStep } from './undo-planning.ts';
import { advanceRevertPlan, auditRevertPlanned, readyRevertPlan } from '../reverts/revert-planning.ts';
import { requireChangeHistory, requireRevertibleType } from '../reverts/revert-policy.ts';

export type BuildRestorePlanDeps = Pick<RestoreDeps, 'backups' | 'blobs' | 'sources' | 'restores' | 'audit' | 'clock' | 'ids' | 'config'>;

/**
 * Goes on with a PLANNING plan (a restore's or a revert's) from its checkpoint, for as long as `run` allows
 * (the `restore-plan` state machine loops until `done`).
 *
 * Primary course:
 *  1. Load the plan; anything but PLANNING is done (a repeated step changes nothing).
 *  2. Re-open the CSV, skip the rows already planned, compare and write segments on
 *     (an UNDO plan: read the undone restore's ledger on from its last segment read).
 *  3. Out of time: save the new checkpoint (only if still at the old one, so of two
 *     duplicate invocations one counts) and answer not done.
 *  4. End of the CSV, its SHA-256 verified: store the plan READY and audit it.
 * Alternate course: the backup expired or is damaged, or the property is not in it:
 *  the plan becomes FAILED with that sentence and its segment files are deleted.
 */
export async function buildRestorePlan(job: PlanJob, deps: BuildRestorePlanDeps, run: PlanningRun): Promise<{ done: boolean }> {
  const plan = await deps.restores.getPlan(job.accountId, job.planId);
  if (!plan || plan.status !== 'PLANNING') return { done: true };
  let step: PlanStep & { objectType: ObjectType };
  try {
    step = plan.kind === 'UNDO' ? await nextUndoStep(plan, deps, run) : await nextStep(plan, deps, run);
  } catch (error) {
    if (error instanceof ArchiveIntegrityError) await failPlan(job, damagedSentence(error), deps);
    else if (error instanceof ClientError) await failPlan(job, error.message, deps);
    else throw error;
    return { done: true };
  }
  const saved = !step.done ? step.plan : plan.revert ? await readyRevertPlan(step.plan, deps) : readyPlan(step.plan);
  if (await deps.restores.savePlan(saved, plan.recordsInBackup)) {
    if (step.done) await (plan.revert ? auditRevertPlanned(saved, step.objectType, deps) : auditPlanned(saved, step.objectType, deps));
    return { done: step.done };
  }
  // Another invocation moved the plan on, or it failed (stopped) meanwhile: then the
  // segment files this one wrote after the cleanup must go too.
  const now = await deps.restores.getPlan(plan.accountId, plan.id);
  if (now?.status === 'FAILED') await deps.blobs.deletePrefix(planPrefix(now.accountId, now.id));
  return { done: now?.status !== 'PLANNING' };
}

/**
 * The `restore-plan` state machine's failure step (its Catch, and the rule on executions
 * that ended without reaching it): the plan ends FAILED and its segment files go.
 */
export async function failRestorePlan(job: PlanJob, deps: Pick<RestoreDeps, 'restores' | 'blobs'>): Promise<{ done: boolean }> {
  await failPlan(job, PLANNING_STOPPED, deps);
  return { done: true };
}

/** The plan's backup and object type checked again (either may have gone meanwhile), then the next stretch of planning. */
async function nextStep(plan: StoredPlan, deps: BuildRestorePlanDeps, run: PlanningRun): Promise<PlanStep & { objectType: ObjectType }> {
  if (!plan.backupId) {
    // A revert plan: the account's source (and its history) checked again, it may have been switched meanwhile.
    const source = requireChangeHistory(await deps.sources.forAccount(plan.accountId));
    const objectType = await requireRevertibleType(source, plan.objectType);
    return { ...(await advanceRevertPlan(plan, source, deps, run)), objectType };
  }
  const backup = await requireRestorableBackup(plan.accountId, plan.backupId, deps);
  const objectType = await (await deps.sources.forAccount(plan.accountId)).getObjectType(plan.objectType);
  if (!objectType) throw new ValidationError(`"${plan.objectType}" is no longer an object type of this account.`, { field: 'objectType' });
  return { ...(await advancePlan(plan, planSource(backup, objectType), objectType, deps, run)), objectType };
}
