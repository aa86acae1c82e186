import type { Caller } from '../caller.ts';
import { requireSuperAdmin } from '../caller.ts';
import { PlanNotReadyError, RestoreInProgressError, ValidationError } from '../errors.ts';
import { ZERO_COUNTS, type RestoreView, type StoredRestore } from '../restore-model.ts';
import { reauthenticate, type ReauthDeps } from '../totp/reauthenticate.ts';
import type { RestoreDeps } from './restore-deps.ts';
import { describeRun, kindOf, LOCK_LEASE_MS, requireLivePlan, requireRestorableBackup, segmentsAtOnce, toRestoreView } from './restore-policy.ts';

export type StartRestoreDeps = ReauthDeps & Pick<RestoreDeps, 'backups' | 'restores' | 'sources' | 'lock' | 'workflows' | 'config'>;

export interface StartRestoreRequest {
  planId: string;
  acknowledge?: { changesData?: boolean; cannotBeUndone?: boolean };
  totp?: string;
}

/** What the restore state machine receives: ids and the Map's items, never data. */
export interface RestoreExecutionInput {
  accountId: string;
  restoreId: string;
  segments: Array<{ segment: number }>;
  /** The Map's concurrency (its MaxConcurrencyPath): see segmentsAtOnce in restore-policy.ts. */
  segmentsAtOnce: number;
}

/**
 * Executes a restore plan (PRODUCT.md, Restore 3-4). Refusals change nothing.
 *
 * Primary course:
 *  1. Require a super admin, both acknowledgements (400), a live plan of a restorable backup.
 *  2. Re-authenticate: a fresh TOTP code unless the caller signed in through SSO (401).
 *  3. Take the account's restore lock with a lease (409 RESTORE_IN_PROGRESS while held).
 *  4. Store the restore as RUNNING, audit it, and start the state machine with the
 *     restore id as execution name (a repeated start starts nothing new), applying as
 *     many segments at once as the account's data source takes (segmentsAtOnce).
 * Alternate course: if the state machine cannot be started, the restore is marked
 *  FAILED and the lock released before the error propagates.
 */
export async function startRestore(caller: Caller, request: StartRestoreRequest, deps: StartRestoreDeps): Promise<RestoreView> {
  requireSuperAdmin(caller);
  for (const [field, meaning] of [
    ['changesData', 'the restore changes data'],
    // The field keeps its first name for existing clients; what it confirms is that the
    // restore can be undone only while its backup is kept (its ledger goes with it).
    ['cannotBeUndone', 'the restore can be undone only while its backup is kept'],
  ] as const) {
    if (request.acknowledge?.[field] !== true) {
      throw new ValidationError(`acknowledge.${field}: must be true to confirm that ${meaning}.`, { field: `acknowledge.${field}` });
    }
  }
  const plan = await requireLivePlan(caller.accountId, request.planId, deps);
  if (plan.status === 'PLANNING' || plan.status === 'FAILED') {
    throw new PlanNotReadyError(
      plan.status === 'PLANNING'
        ? `This plan is still being made (${plan.progress?.done ?? 0} of ${plan.progress?.total ?? '?'} records compared); wait until it is READY.`
        : `This plan failed and cannot be executed: ${plan.error ?? 'make a new plan.'}`,
      { status: plan.status },
    );
  }
  // A revert plan reads the change history; a restore plan's backup must still be there.
  if (plan.backupId) await requireRestorableBackup(caller.accountId, plan.backupId, deps);
  await reauthenticate(caller, request.totp, deps);
  const atOnce = segmentsAtOnce(deps.config, await deps.sources.forAccount(caller.accountId), plan.segments.length);

  const restoreId = deps.ids.next('rs');
  const now = deps.clock.now();
  const lock = await deps.lock.acquire(caller.accountId, restoreId, { now: now.getTime(), durationMs: LOCK_LEASE_MS });
  if (!lock.acquired) {
    throw new RestoreInProgressError('Another restore of this account is running; wait for it to finish.', {
      restoreId: lock.holder,
    });
  }

  const restore: StoredRestore = {
    id: restoreId,
    accountId: caller.accountId,
    planId: plan.id,
    ...kindOf(plan),
    ...(plan.backupId ? { backupId: plan.backupId } : {}),
    ...(plan.revert ? { revert: plan.revert } : {}),
    objectType: plan.objectType,
    properties: plan.properties,
    status: 'RUNNING',
    requestedBy: caller.email || caller.userId,
    startedAt: now.toISOString(),
    // Every line of the plan's segments is applied and counted once (a revert plan lists only records to set back).
    progress: { done: 0, total: plan.segments.reduce((records, segment) => records + segment.records, 0) },
    counts: { ...ZERO_COUNTS },
    segmentCount: plan.segments.length,
    ...(plan.segments.every((segment) => segment.sha256) ? { segmentSha256: plan.segments.map((segment) => segment.sha256!) } : {}),
  };
  try {
    await deps.restores.createRestore(restore);
    await deps.audit.append({
      id: deps.ids.next('au'),
      accountId: caller.accountId,
      action: 'RESTORE_STARTED',
      actor: restore.requestedBy,
      resourceId: restore.id,
      occurredAt: restore.startedAt,
      summary: `${describeRun(restore, plan.objectType)} started (${restore.progress.total} records)${caller.sso ? ' (signed in through SSO)' : ' (re-authenticated with TOTP)'}.`,
      details: { planId: plan.id, ...kindOf(plan), ...(plan.backupId ? { backupId: plan.backupId } : { revert: plan.revert }), objectType: plan.objectType, properties: plan.properties },
    });
    const input: RestoreExecutionInput = {
      accountId: caller.accountId,
      restoreId,
      segments: plan.segments.map((_, segment) => ({ segment })),
      segmentsAtOnce: atOnce,
    };
    await deps.workflows.start('restore', restoreId, { ...input });
  } catch (error) {
    await deps.restores
      .updateRestore(caller.accountId, restoreId, { status: 'FAILED', completedAt: deps.clock.now().toISOString(), error: 'The restore could not be started.' }, ['RUNNING'])
      .catch(() => undefined);
    await deps.lock.release(caller.accountId, restoreId).catch(() => undefined);
    throw error;
  }
  return toRestoreView(restore);
}
