import { requireReadableBackup } from '../backups/backup-policy.ts';
import { NotFoundError, NothingToUndoError, ValidationError } from '../errors.ts';
import type { ObjectType } from '../model.ts';
import type { RecordTarget } from '../ports/data-source.ts';
import type { StoredPlan, StoredRestore } from '../restore-model.ts';
import { PlanTally } from './plan-tally.ts';
import type { RestoreDeps } from './restore-deps.ts';
import { readLedgerSegment, type LedgerEntry } from './restore-ledger.ts';
import { writePlanSegment, type PlanningDeps, type PlanningRun, type PlanStep } from './restore-planning.ts';

/**
 * Planning an undo (planUndo in the API, buildRestorePlan when it goes on in the
 * background): the undone restore's ledger, one of its segments at a time, compared
 * with today's records.
 */

/** Records looked up at once (a DynamoDB BatchGet, a HubSpot batch read). */
const LOOKUP_BATCH = 100;

/**
 * The restore an undo plan takes back, if it may be undone: it ended having changed
 * something (SUCCEEDED, or FAILED part-way), and its backup is still kept (410 after:
 * the ledger is kept as long as the backup).
 */
export async function requireUndoableRestore(
  accountId: string,
  restoreId: string,
  deps: Pick<RestoreDeps, 'restores' | 'backups' | 'clock'>,
): Promise<StoredRestore & { backupId: string }> {
  const restore = await deps.restores.getRestore(accountId, restoreId);
  if (!restore) throw new NotFoundError(`Restore "${restoreId}"`);
  if (!restore.backupId) {
    // A revert comes from the change history, not a backup: its own changes are history too.
    throw new NothingToUndoError(
      `This is a revert, which no backup keeps: take it back by reverting its changes (source RESTORE, by ${restore.requestedBy}, from ${restore.startedAt} to ${restore.completedAt ?? 'now'}).`,
      { restoreId },
    );
  }
  if (restore.status === 'RUNNING') {
    throw new NothingToUndoError('This restore is still running; it can be undone once it has ended.', { restoreId });
  }
  if (restore.counts.updated + (restore.counts.conflicting ?? 0) === 0) {
    throw new NothingToUndoError(
      restore.status === 'FAILED' ? 'This restore failed before it changed any record, so there is nothing to undo.' : 'This restore changed no record, so there is nothing to undo.',
      { restoreId },
    );
  }
  await requireReadableBackup(accountId, restore.backupId, deps, { subject: `Backup ${restore.backupId}, which this restore came from,`, verb: 'used to undo it' });
  return { ...restore, backupId: restore.backupId };
}

/** The undone restore's object type as today's source has it (ValidationError when it is gone). */
export async function undoneObjectType(restore: StoredRestore, deps: Pick<RestoreDeps, 'sources'>): Promise<ObjectType> {
  const objectType = await (await deps.sources.forAccount(restore.accountId)).getObjectType(restore.objectType);
  if (!objectType) throw new ValidationError(`"${restore.objectType}" is no longer an object type of this account, so the restore cannot be undone.`, { field: 'objectType' });
  return objectType;
}

/**
 * Goes on comparing the ledger with today's records from the plan's checkpoint, one
 * restore segment at a time, until the end or until `run` says stop. Each ledger
 * segment makes at most one plan segment (none when it holds nothing), so a stop
 * between them loses nothing and a resumed invocation rewrites identical files.
 */
export async function advanceUndoPlan(plan: StoredPlan, undone: StoredRestore, deps: PlanningDeps, run: PlanningRun): Promise<PlanStep> {
  const source = await deps.sources.forAccount(plan.accountId);
  const tally = new PlanTally(plan);
  const segments = [...plan.segments];
  let checkpoint = plan;
  let completed = 0;
  for (let segment = plan.ledgerSegmentsRead ?? 0; segment < undone.segmentCount; segment += 1) {
    if (!run.keepGoing(completed)) return { plan: checkpoint, done: false };
    const entries = await readLedgerSegment(deps.blobs, undone, segment);
    const lines: string[] = [];
    for (let start = 0; start < entries.length; start += LOOKUP_BATCH) {
      const batch = entries.slice(start, start + LOOKUP_BATCH);
      const today = await source.readRecords(plan.objectType, batch.map((entry) => entry.id), plan.properties);
      for (const entry of batch) lines.push(`${JSON.stringify(tally.countTakeBack(takeBackTarget(entry), today.get(entry.id)))}\n`);
    }
    if (lines.length) segments.push(await writePlanSegment(deps.blobs, plan, segments.length, lines));
    const figures = tally.snapshot();
    checkpoint = { ...plan, ...figures, segments: [...segments], ledgerSegmentsRead: segment + 1, progress: { done: figures.recordsInBackup, total: plan.progress?.total ?? 0 } };
    completed += 1;
  }
  return { plan: checkpoint, done: true };
}

/** What taking one ledger entry back means: each property set to its value before, where it still holds the value written. */
function takeBackTarget(entry: LedgerEntry): RecordTarget {
  return {
    id: entry.id,
    values: Object.fromEntries(entry.changes.map((change) => [change.property, change.from])),
    expect: Object.fromEntries(entry.changes.map((change) => [change.property, change.to])),
    ifUnchanged: true,
  };
}

/** The undo plan's restore and backup checked again (either may have gone meanwhile), then the next stretch of planning. */
export async function nextUndoStep(plan: StoredPlan, deps: PlanningDeps & Pick<RestoreDeps, 'restores' | 'backups' | 'clock'>, run: PlanningRun): Promise<PlanStep & { objectType: ObjectType }> {
  const undone = await requireUndoableRestore(plan.accountId, plan.undoOf!, deps);
  const objectType = await undoneObjectType(undone, deps);
  return { ...(await advanceUndoPlan(plan, undone, deps, run)), objectType };
}
