import type { AuditLog } from '../ports/audit-log.ts';
import type { Clock } from '../ports/clock.ts';
import type { Mailer } from '../ports/mailer.ts';
import type { BusinessMetrics } from '../ports/metrics.ts';
import type { RecordStore } from '../ports/record-store.ts';
import type { RestoreLock } from '../ports/restore-lock.ts';
import type { ImportLog, RestoreRepository } from '../ports/restore-repository.ts';
import { describeProperties } from './plan-restore.ts';
import { totalOf, type RestoreStatus, type StoredRestore } from './restore-model.ts';
import { sumProgress } from './restore-queries.ts';

export interface ConcludeRestoreDeps {
  restores: RestoreRepository;
  imports: ImportLog;
  lock: RestoreLock;
  records: RecordStore;
  audit: AuditLog;
  mailer: Mailer;
  clock: Clock;
  metrics: BusinessMetrics;
  config: { appUrl: string };
}

export interface RestoreStepInput {
  accountId: string;
  restoreId: string;
}

/**
 * The last step of a restore whose batches all succeeded.
 *
 * Primary course:
 *  1. Sum the segments' counts and mark the restore SUCCEEDED (only from RUNNING, so a
 *     retried step or a late failure report cannot flip it).
 *  2. Add "Data restore - <Object>" to the account's imports, and an audit entry.
 *  3. Email the requester, once.
 *  4. Release the account's restore lock (only if this restore still holds it).
 */
export async function finalizeRestore(input: RestoreStepInput, deps: ConcludeRestoreDeps): Promise<RestoreStepInput & { status: RestoreStatus }> {
  const status = await concludeRestore(input, { status: 'SUCCEEDED' }, deps);
  return { ...input, status };
}

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
  const { accountId, restoreId } = input;
  let restore = await deps.restores.getRestore(accountId, restoreId);
  if (!restore) return 'FAILED';
  if (restore.status === 'RUNNING') {
    const counts =
      outcome.status === 'FAILED' ? await settledCounts(accountId, restoreId, deps) : sumProgress(await deps.restores.listSegmentProgress(accountId, restoreId));
    await deps.restores.updateRestore(
      accountId,
      restoreId,
      {
        status: outcome.status,
        completedAt: deps.clock.now().toISOString(),
        counts,
        progress: { done: totalOf(counts), total: restore.progress.total },
        ...(outcome.error ? { error: outcome.error } : {}),
      },
      ['RUNNING'],
    );
    restore = (await deps.restores.getRestore(accountId, restoreId))!;
  }
  if (restore.status === 'RUNNING' || !restore.completedAt) return restore.status;

  const objectType = await deps.records.getObjectType(accountId, restore.objectType);
  const label = objectType?.label ?? restore.objectType;
  const plural = (objectType?.pluralLabel ?? restore.objectType).toLowerCase();
  const done = restore.status === 'SUCCEEDED';
  await deps.imports.put({
    id: `im_${restore.id}`,
    accountId,
    name: `Data restore - ${label}`,
    source: 'RESTORE',
    restoreId: restore.id,
    objectType: restore.objectType,
    status: done ? 'SUCCEEDED' : 'FAILED',
    counts: restore.counts,
    requestedBy: restore.requestedBy,
    startedAt: restore.startedAt,
    completedAt: restore.completedAt,
  });
  const countsText = `${restore.counts.updated} updated, ${restore.counts.unchanged} unchanged, ${restore.counts.missing} no longer exist, ${restore.counts.failed} failed`;
  await deps.audit.append({
    // Deterministic id and time: a second run overwrites the same entry.
    id: `au_${restore.id}_${done ? 'completed' : 'failed'}`,
    accountId,
    action: done ? 'RESTORE_COMPLETED' : 'RESTORE_FAILED',
    actor: restore.requestedBy,
    resourceId: restore.id,
    occurredAt: restore.completedAt,
    summary: done
      ? `Restored ${describeProperties(restore.properties)} of ${totalOf(restore.counts)} ${plural} from backup ${restore.backupId}: ${countsText}.`
      : `The restore of ${describeProperties(restore.properties)} of ${plural} from backup ${restore.backupId} failed (${restore.error ?? 'unknown error'}); applied before it stopped: ${countsText}.`,
    details: { backupId: restore.backupId, objectType: restore.objectType, properties: restore.properties, counts: restore.counts },
  });
  if (await deps.restores.claimNotification(accountId, restore.id, deps.clock.now().toISOString())) {
    // Counted by the one caller that announces it, so a restore counts once.
    deps.metrics.add(done ? 'RestoresSucceeded' : 'RestoresFailed', 1);
    deps.metrics.add('RecordsRestored', restore.counts.updated);
    await deps.mailer.send(restoreEmail(restore, label, plural, countsText, deps.config.appUrl));
  }
  await deps.lock.release(accountId, restore.id);
  return restore.status;
}

/** How long to wait for batches still running in other segments to save their progress. */
const SETTLE_INTERVAL_MS = 1000;
const SETTLE_ROUNDS = 20;

/**
 * The counts of a failing restore once no batch is still writing. When one segment
 * fails, Step Functions stops the others, but a Lambda invocation already running
 * finishes its round of writes. Releasing the lock first makes each of them stop at
 * its next renewal (LockLostError); the counts are read once they stop changing, so
 * the FAILED restore reports what was applied.
 */
async function settledCounts(accountId: string, restoreId: string, deps: ConcludeRestoreDeps) {
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

function restoreEmail(restore: StoredRestore, label: string, plural: string, countsText: string, appUrl: string) {
  const link = `${appUrl}/restores/${restore.id}`;
  const done = restore.status === 'SUCCEEDED';
  return {
    to: [restore.requestedBy],
    subject: done ? `Your restore of ${plural} is complete` : `Your restore of ${plural} failed`,
    text: [
      done
        ? `The restore of ${describeProperties(restore.properties)} of ${plural} from backup ${restore.backupId} is complete.`
        : `The restore of ${describeProperties(restore.properties)} of ${plural} from backup ${restore.backupId} failed: ${restore.error ?? 'unknown error'}.`,
      '',
      `Records: ${countsText}.`,
      done ? `It is listed in your imports as "Data restore - ${label}".` : 'Changes applied before it stopped stay in place; you can run the same plan again.',
      '',
      `Details: ${link}`,
    ].join('\n'),
  };
}
