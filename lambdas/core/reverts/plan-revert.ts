import type { Caller } from '../caller.ts';
import { requireSuperAdmin } from '../caller.ts';
import { ValidationError } from '../errors.ts';
import type { ChangeSourceName } from '../model.ts';
import type { StoredPlan } from '../restore-model.ts';
import { firstStep, storeFirstStep, type PlanningRun } from '../restores/restore-planning.ts';
import type { RestoreDeps } from '../restores/restore-deps.ts';
import { PLAN_LIFETIME_HOURS } from '../restores/restore-policy.ts';
import { advanceRevertPlan, auditRevertPlanned, readyRevertPlan, startingWork } from './revert-planning.ts';
import { requireChangeHistory, requireRevertibleType, requireSaneWindow, toRevertPlanView, type RevertPlanView } from './revert-policy.ts';

export type PlanRevertDeps = Pick<RestoreDeps, 'blobs' | 'sources' | 'restores' | 'audit' | 'clock' | 'ids' | 'workflows' | 'config'>;

export interface RevertRequest {
  objectType: string;
  actor?: string;
  source?: ChangeSourceName;
  from: string;
  to: string;
}

/**
 * Plans to set back what one actor (or source) changed on one object type in a
 * window, from the data source's change history, without a backup (issue 16 §3).
 * Changes nothing in the CRM; the plan runs with POST /v1/restores like any other.
 *
 * Primary course:
 *  1. Check the caller is a super admin, the request names an actor or a source and
 *     a sane window, and the account's data source keeps a change history (409 if not).
 *  2. Read the history's window into sorted runs in S3 (revert-planning.ts).
 *  3. Merge them record by record: each property the actor changed is set back to its
 *     value before their first change in the window, where the record still holds their
 *     last value; the others are conflicts, counted and sampled, and left alone.
 *  4. Store the plan READY (counts, sample, conflicts, segments), audit it.
 * Alternate course: the API call's time runs out first: the plan is stored PLANNING at
 *  its last checkpoint and the `restore-plan` state machine goes on (202), as for a big
 *  restore plan.
 */
export async function planRevert(caller: Caller, request: RevertRequest, deps: PlanRevertDeps, run: PlanningRun): Promise<{ ready: boolean; plan: RevertPlanView }> {
  requireSuperAdmin(caller);
  if (request.actor === undefined && request.source === undefined) {
    throw new ValidationError('Name whose changes to revert: an actor, a source, or both.', { field: 'actor' });
  }
  const window = requireSaneWindow(request, deps.clock.now());
  const source = requireChangeHistory(await deps.sources.forAccount(caller.accountId));
  const objectType = await requireRevertibleType(source, request.objectType);
  const started = newRevertPlan(caller, { ...request, ...window }, startingWork(source.changeHistory), deps);
  const step = await firstStep(started, () => advanceRevertPlan(started, source, deps, run), deps);
  const stored = await storeFirstStep(step, (plan) => readyRevertPlan(plan, deps), deps);
  if (stored.ready) await auditRevertPlanned(stored.plan, objectType, deps);
  return { ready: stored.ready, plan: toRevertPlanView(stored.plan) };
}

function newRevertPlan(caller: Caller, request: RevertRequest, work: StoredPlan['work'], deps: Pick<RestoreDeps, 'clock' | 'ids'>): StoredPlan {
  const now = deps.clock.now();
  const id = deps.ids.next('pl');
  return {
    id,
    kind: 'REVERT',
    // What its restore's change events carry: the plan says whose changes, made when.
    revertOf: id,
    status: 'PLANNING',
    accountId: caller.accountId,
    revert: {
      ...(request.actor !== undefined ? { actor: request.actor } : {}),
      ...(request.source !== undefined ? { source: request.source } : {}),
      from: request.from,
      to: request.to,
    },
    objectType: request.objectType,
    properties: [],
    recordsInBackup: 0,
    recordsToChange: 0,
    recordsUnchanged: 0,
    recordsMissing: 0,
    recordsConflicting: 0,
    perProperty: [],
    sample: [],
    conflictSample: [],
    createdAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + PLAN_LIFETIME_HOURS * 3_600_000).toISOString(),
    requestedBy: caller.email || caller.userId,
    segments: [],
    progress: { done: 0, total: 0 },
    work,
  };
}
