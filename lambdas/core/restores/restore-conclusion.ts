import type { AuditEntry } from '../ports/audit-log.ts';
import { importName, totalOf, type ImportEntry, type RestoreCounts, type RestoreStatus, type StoredRestore } from '../restore-model.ts';
import type { RestoreDeps } from './restore-deps.ts';
import { restoreEndedEmail, type ObjectTypeNames } from './restore-emails.ts';
import { describeCounts, describeProperties, describeRun, kindOf } from './restore-policy.ts';
import { conflictsOf, failuresOf, sumProgress } from './segment-progress.ts';

/**
 * How a restore ends, the same whether it succeeded (finalizeRestore) or failed
 * (failRestore): its status and counts, an import entry, an audit entry, one email,
 * and the account's restore lock released.
 */

export type ConcludeRestoreDeps = Pick<RestoreDeps, 'restores' | 'imports' | 'lock' | 'sources' | 'audit' | 'mailer' | 'clock' | 'config' | 'metrics'>;

/** What the restore state machine hands its last steps: ids only. */
export interface RestoreStepInput {
  accountId: string;
  restoreId: string;
}

/** How long to wait for batches still running in other segments to save their progress. */
const SETTLE_INTERVAL_MS = 1000;
const SETTLE_ROUNDS = 20;

/**
 * Ends a restore in `outcome.status` and does what follows, idempotently: every write
 * has a deterministic key or a condition, so running it twice (a retried step, or the
 * state machine's Catch followed by the execution-status rule) changes nothing more.
 * Answers the restore's final status (which may be the one an earlier call set).
 */
export async function concludeRestore(
  input: RestoreStepInput,
  outcome: { status: 'SUCCEEDED' | 'FAILED'; error?: string },
  deps: ConcludeRestoreDeps,
): Promise<RestoreStatus> {
  const restore = await endRestore(input, outcome, deps);
  if (!restore) return 'FAILED';
  if (restore.status === 'RUNNING' || !restore.completedAt) return restore.status;
  const names = await objectTypeNames(restore, deps);
  await deps.imports.put(importEntry(restore, names));
  await deps.audit.append(endAuditEntry(restore, names));
  if (await deps.restores.claimNotification(restore.accountId, restore.id, deps.clock.now().toISOString())) {
    // Counted by the one caller that announces it, so a restore counts once.
    deps.metrics.add(restore.status === 'SUCCEEDED' ? 'RestoresSucceeded' : 'RestoresFailed', 1);
    deps.metrics.add('RecordsRestored', restore.counts.updated);
    await deps.mailer.send(restoreEndedEmail(restore, names, deps.config.appUrl));
  }
  await deps.lock.release(restore.accountId, restore.id);
  return restore.status;
}

/** Moves a RUNNING restore to its end status with its final counts (only from RUNNING); answers the restore as it now is. */
async function endRestore(
  input: RestoreStepInput,
  outcome: { status: 'SUCCEEDED' | 'FAILED'; error?: string },
  deps: ConcludeRestoreDeps,
): Promise<StoredRestore | undefined> {
  const { accountId, restoreId } = input;
  const restore = await deps.restores.getRestore(accountId, restoreId);
  if (restore?.status !== 'RUNNING') return restore;
  if (outcome.status === 'FAILED') await settledCounts(input, deps);
  const segments = await deps.restores.listSegmentProgress(accountId, restoreId);
  const counts = sumProgress(segments);
  const failures = failuresOf(segments);
  const conflicts = conflictsOf(segments);
  const patch = {
    status: outcome.status,
    completedAt: deps.clock.now().toISOString(),
    counts,
    ...(failures.length ? { failures } : {}),
    ...(conflicts.length ? { conflicts } : {}),
    progress: { done: totalOf(counts), total: restore.progress.total },
    ...(outcome.error ? { error: outcome.error } : {}),
  };
  await deps.restores.updateRestore(accountId, restoreId, patch, ['RUNNING']);
  return deps.restores.getRestore(accountId, restoreId);
}

/**
 * The counts of a failing restore once no batch is still writing. When one segment
 * fails, Step Functions stops the others, but a Lambda invocation already running
 * finishes its round of writes. Releasing the lock first makes each of them stop at
 * its next renewal (LockLostError); the counts are read once they stop changing, so
 * the FAILED restore reports what was applied.
 */
async function settledCounts({ accountId, restoreId }: RestoreStepInput, deps: ConcludeRestoreDeps): Promise<RestoreCounts> {
  await deps.lock.release(accountId, restoreId);
  let counts = sumProgress(await deps.restores.listSegmentProgress(accountId, restoreId));
  for (let round = 0; round < SETTLE_ROUNDS; round += 1) {
    await new Promise((resolve) => setTimeout(resolve, SETTLE_INTERVAL_MS));
    const again = sumProgress(await deps.restores.listSegmentProgress(accountId, restoreId));
    if (totalOf(again) === totalOf(counts) && again.updated === counts.updated) return again;
    counts = again;
  }
  return counts;
}

/** The object type's labels, or its name when the type is gone meanwhile or its source does not answer (the restore still ends). */
async function objectTypeNames(restore: StoredRestore, deps: Pick<RestoreDeps, 'sources'>): Promise<ObjectTypeNames> {
  const objectType = await deps.sources
    .forAccount(restore.accountId)
    .then((source) => source.getObjectType(restore.objectType))
    .catch(() => undefined);
  return { label: objectType?.label ?? restore.objectType, plural: (objectType?.pluralLabel ?? restore.objectType).toLowerCase() };
}

/** "Data restore - Deal" (or "Data restore undo - Deal", …) in the account's imports; its id is the restore's, so a second run overwrites it. */
function importEntry(restore: StoredRestore, names: ObjectTypeNames): ImportEntry {
  const kind = restore.kind ?? 'RESTORE';
  return {
    id: `im_${restore.id}`,
    accountId: restore.accountId,
    name: importName(kind, names.label),
    source: 'RESTORE',
    restoreId: restore.id,
    kind,
    objectType: restore.objectType,
    status: restore.status === 'SUCCEEDED' ? 'SUCCEEDED' : 'FAILED',
    counts: restore.counts,
    requestedBy: restore.requestedBy,
    startedAt: restore.startedAt,
    completedAt: restore.completedAt!,
  };
}

function endAuditEntry(restore: StoredRestore, names: ObjectTypeNames): AuditEntry {
  const done = restore.status === 'SUCCEEDED';
  const selection = describeProperties(restore.properties);
  return {
    // Deterministic id and time: a second run overwrites the same entry.
    id: `au_${restore.id}_${done ? 'completed' : 'failed'}`,
    accountId: restore.accountId,
    action: done ? 'RESTORE_COMPLETED' : 'RESTORE_FAILED',
    actor: restore.requestedBy,
    resourceId: restore.id,
    occurredAt: restore.completedAt!,
    summary: done
      ? `${describeRun(restore, names.plural)} is complete (${totalOf(restore.counts)} records): ${describeCounts(restore.counts)}.`
      : `${describeRun(restore, names.plural)} failed (${restore.error ?? 'unknown error'}); applied before it stopped: ${describeCounts(restore.counts)}.`,
    details: {
      ...kindOf(restore),
      ...(restore.backupId ? { backupId: restore.backupId } : {}),
      ...(restore.revert ? { revert: restore.revert } : {}),
      objectType: restore.objectType,
      properties: restore.properties,
      counts: restore.counts,
    },
  };
}
