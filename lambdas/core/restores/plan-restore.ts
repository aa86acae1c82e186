import type { Caller } from '../caller.ts';
import { requireSuperAdmin } from '../caller.ts';
import type { Backup } from '../model.ts';
import type { StoredPlan } from '../restore-model.ts';
import type { RestoreDeps } from './restore-deps.ts';
import { advancePlan, firstStep, planSource, storeRestorePlan, type PlanningRun, type PlanOutcome, type PlanSource } from './restore-planning.ts';
import { PLAN_LIFETIME_HOURS, requireRestorableBackup, requireRestorableSelection } from './restore-policy.ts';

export type PlanRestoreDeps = Pick<RestoreDeps, 'backups' | 'blobs' | 'sources' | 'restores' | 'audit' | 'clock' | 'ids' | 'workflows' | 'config'>;

export interface PlanRequest {
  objectType: string;
  properties: string[];
}


/**
 * Computes what restoring some properties of one object type from a backup would
 * change, changing nothing in the CRM (PRODUCT.md, Restore 2).
 *
 * Primary course:
 *  1. Check the caller is a super admin, the backup is ready and not expired, and the
 *     object type and properties may be restored.
 *  2. Stream the object type's CSV out of the backup zip with ranged reads, verifying
 *     it against the manifest's size and SHA-256 as it flows.
 *  3. Compare each backed-up record with today's record, 100 at a time, counting
 *     changes, clears, missing and unchanged records per property.
 *  4. Write the backed-up values of the chosen properties to segment files in S3: they
 *     are the restore's source, so the executed restore applies exactly what was checked.
 *  5. Store the plan as READY (counts, sample, segments) and audit it.
 * Alternate course: the run's budget ends first (a big object type): store the plan as
 *  PLANNING at its last completed segment and start the `restore-plan` state machine
 *  (execution name = plan id), which goes on with buildRestorePlan. Should this call
 *  die in between, `readRestorePlan` starts that execution when the plan is read.
 * Alternate course: a damaged archive deletes the segment files written so far and
 *  stores no plan.
 */
export async function planRestore(caller: Caller, backupId: string, request: PlanRequest, deps: PlanRestoreDeps, run: PlanningRun): Promise<PlanOutcome> {
  requireSuperAdmin(caller);
  const backup = await requireRestorableBackup(caller.accountId, backupId, deps);
  const objectType = await requireRestorableSelection(caller.accountId, request, deps);
  const source = planSource(backup, objectType);
  const started = newPlan(caller, backup, { objectType: objectType.name, properties: request.properties }, source, deps);
  const step = await firstStep(started, () => advancePlan(started, source, objectType, deps, run), deps);
  return storeRestorePlan(step, objectType, deps);
}

/** A plan with nothing compared yet; it expires after a day, or with its backup if that is sooner. */
function newPlan(caller: Caller, backup: Backup, request: PlanRequest, source: PlanSource, deps: Pick<RestoreDeps, 'clock' | 'ids'>): StoredPlan {
  const now = deps.clock.now();
  return {
    id: deps.ids.next('pl'),
    status: 'PLANNING',
    accountId: caller.accountId,
    backupId: backup.id,
    objectType: request.objectType,
    properties: request.properties,
    recordsInBackup: 0,
    recordsToChange: 0,
    recordsUnchanged: 0,
    recordsMissing: 0,
    perProperty: request.properties.map((name) => ({ name, toChange: 0, toClear: 0 })),
    sample: [],
    createdAt: now.toISOString(),
    expiresAt: new Date(Math.min(now.getTime() + PLAN_LIFETIME_HOURS * 3_600_000, Date.parse(backup.expiresAt!))).toISOString(),
    requestedBy: caller.email || caller.userId,
    segments: [],
    progress: { done: 0, total: source.records },
  };
}
