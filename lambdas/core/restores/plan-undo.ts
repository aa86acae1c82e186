import type { Caller } from '../caller.ts';
import { requireSuperAdmin } from '../caller.ts';
import { NothingToUndoError } from '../errors.ts';
import type { StoredPlan, StoredRestore } from '../restore-model.ts';
import type { RestoreDeps } from './restore-deps.ts';
import { hasLedger } from './restore-ledger.ts';
import { firstStep, storeRestorePlan, type PlanningRun, type PlanOutcome } from './restore-planning.ts';
import { PLAN_LIFETIME_HOURS, requireRestorableBackup } from './restore-policy.ts';
import { advanceUndoPlan, requireUndoableRestore, undoneObjectType } from './undo-planning.ts';

export type PlanUndoDeps = Pick<RestoreDeps, 'backups' | 'blobs' | 'sources' | 'restores' | 'audit' | 'clock' | 'ids' | 'workflows' | 'config'>;

/**
 * Plans taking back what a restore changed (issue 16 §1): a plan like a restore's, of
 * kind UNDO, that sets each property the restore wrote back to its value before, only
 * where the record still holds what the restore wrote. It runs with POST /v1/restores
 * like any plan. Changes nothing in the CRM.
 *
 * Primary course:
 *  1. Require a super admin and a restore that ended having changed something (404,
 *     409 NOTHING_TO_UNDO), whose backup is still kept (410 BACKUP_EXPIRED), and whose
 *     object type still exists (400).
 *  2. Read its ledger one restore segment at a time and compare each changed record
 *     with today's: to set back, already back (unchanged), edited since (conflicting,
 *     with a sample), or deleted since (missing).
 *  3. Write the plan's segment files (each line: the values before, and the values
 *     written as the condition) and store the plan READY (201), audited.
 * Alternate course: a big ledger outlasts the API call: the plan is stored PLANNING and
 *  the `restore-plan` state machine goes on (202), as for a restore plan.
 * Alternate course: the restore ran before restores kept ledgers: 409 NOTHING_TO_UNDO.
 */
export async function planUndo(caller: Caller, restoreId: string, deps: PlanUndoDeps, run: PlanningRun): Promise<PlanOutcome> {
  requireSuperAdmin(caller);
  const undone = await requireUndoableRestore(caller.accountId, restoreId, deps);
  const objectType = await undoneObjectType(undone, deps);
  if (!(await hasLedger(deps.blobs, undone))) {
    throw new NothingToUndoError('This restore ran before restores kept a record of what they changed, so it cannot be undone.', { restoreId });
  }
  const started = await newUndoPlan(caller, undone, deps);
  const step = await firstStep(started, () => advanceUndoPlan(started, undone, deps, run), deps);
  return storeRestorePlan(step, objectType, deps);
}

/** An undo plan with nothing compared yet; it expires after a day, or with the backup if that is sooner. */
async function newUndoPlan(caller: Caller, undone: StoredRestore & { backupId: string }, deps: PlanUndoDeps): Promise<StoredPlan> {
  const backup = await requireRestorableBackup(caller.accountId, undone.backupId, deps);
  const now = deps.clock.now();
  return {
    id: deps.ids.next('pl'),
    status: 'PLANNING',
    kind: 'UNDO',
    undoOf: undone.id,
    accountId: caller.accountId,
    backupId: undone.backupId,
    objectType: undone.objectType,
    properties: undone.properties,
    recordsInBackup: 0,
    recordsToChange: 0,
    recordsUnchanged: 0,
    recordsMissing: 0,
    recordsConflicting: 0,
    perProperty: undone.properties.map((name) => ({ name, toChange: 0, toClear: 0, conflicting: 0 })),
    sample: [],
    conflictSample: [],
    createdAt: now.toISOString(),
    expiresAt: new Date(Math.min(now.getTime() + PLAN_LIFETIME_HOURS * 3_600_000, Date.parse(backup.expiresAt!))).toISOString(),
    requestedBy: caller.email || caller.userId,
    segments: [],
    ledgerSegmentsRead: 0,
    // The records it changed (or changed in part): what the ledger lists.
    progress: { done: 0, total: undone.counts.updated + (undone.counts.conflicting ?? 0) },
  };
}
