import type { Caller } from '../caller.ts';
import { backupFileOf } from '../backups/backup-policy.ts';
import { ValidationError } from '../errors.ts';
import type { Backup } from '../model.ts';
import { LIVE, type ComparedWith, type ComparisonRunner, type SideProgress, type SideSource, type StoredComparison } from '../compare-model.ts';
import type { CompareDeps } from './compare-deps.ts';
import { describeOtherSide, requireComparableBackup } from './compare-policy.ts';
import { advanceComparison, COMPARISON_STOPPED, failComparison, type ComparisonRun, type ComparisonStep } from './comparison-work.ts';

/**
 * Starting a comparison, shared by the steps that start one: the API's compare and
 * export, and the alert check after a backup.
 */

/** What is compared: a backup of the caller's account with live data or another backup, for one object type. */
export interface ComparisonRequest {
  with: ComparedWith;
  objectType: string;
}

/** The two backups (the second undefined for live data), checked: completed, not expired, not the same. */
export async function requireComparableSides(
  accountId: string,
  backupId: string,
  request: ComparisonRequest,
  deps: Pick<CompareDeps, 'backups' | 'clock' | 'sources'>,
): Promise<{ backup: Backup; other?: Backup }> {
  if (request.with === backupId) throw new ValidationError('with: compare a backup with another backup, or with "live" (today\'s data).', { field: 'with' });
  const backup = await requireComparableBackup(accountId, backupId, deps);
  const other = request.with === LIVE ? undefined : await requireComparableBackup(accountId, request.with, deps);
  const known = [backup, other].some((side) => side?.objects?.some((object) => object.objectType === request.objectType));
  if (!known && !(request.with === LIVE && (await (await deps.sources.forAccount(accountId)).getObjectType(request.objectType)))) {
    throw new ValidationError(`"${request.objectType}" is not an object type of ${request.with === LIVE ? 'this account or this backup' : 'either backup'}.`, {
      field: 'objectType',
    });
  }
  return { backup, other };
}

/**
 * A new COMPARING comparison of `backup` with `other` (undefined: today's data). It is
 * kept, with its files, until the first of the two backups expires.
 */
export async function newComparison(
  by: Pick<Caller, 'accountId'> & { requestedBy: string },
  sides: { backup: Backup; other?: Backup },
  objectType: string,
  deps: Pick<CompareDeps, 'clock' | 'ids' | 'sources'>,
  options: { exportRequested?: boolean; runner?: ComparisonRunner } = {},
): Promise<StoredComparison> {
  const now = deps.clock.now().toISOString();
  const expected = (backup: Backup) => backup.objects?.find((object) => object.objectType === objectType)?.records ?? 0;
  const side = (source: SideSource, records: number): SideProgress => ({ source, runs: [], read: 0, expected: records, done: false });
  const live = sides.other ? undefined : await (await deps.sources.forAccount(by.accountId)).getObjectType(objectType);
  const expiries = [sides.backup.expiresAt!, ...(sides.other ? [sides.other.expiresAt!] : [])].sort();
  return {
    id: deps.ids.next('cmp'),
    status: 'COMPARING',
    accountId: by.accountId,
    requestedBy: by.requestedBy,
    backupId: sides.backup.id,
    with: sides.other?.id ?? LIVE,
    objectType,
    added: 0,
    removed: 0,
    changed: 0,
    unchanged: 0,
    perProperty: [],
    sample: [],
    createdAt: now,
    updatedAt: now,
    expiresAt: expiries[0]!,
    version: 0,
    sides: [
      side({ kind: 'backup', backupId: sides.backup.id }, backupFileOf(sides.backup, objectType)?.records ?? expected(sides.backup)),
      sides.other ? side({ kind: 'backup', backupId: sides.other.id }, expected(sides.other)) : side({ kind: 'live' }, live?.records ?? 0),
    ],
    ...(options.exportRequested ? { exportRequested: true } : {}),
    ...(options.runner ? { runner: options.runner } : {}),
  };
}

/**
 * Compares within the API call while `run` allows (most object types finish in it);
 * otherwise hands the comparison to the `comparison` state machine (execution name = its
 * id). Should this call die in between, a later read starts that execution
 * (comparison-recovery.ts).
 */
export async function compareNowOrLater(comparison: StoredComparison, deps: CompareDeps, run: ComparisonRun): Promise<ComparisonStep> {
  const step = await advanceComparison(comparison, deps, run);
  if (step.done) return step;
  const job = { accountId: comparison.accountId, comparisonId: comparison.id };
  try {
    await deps.workflows.start('comparison', comparison.id, { ...job });
  } catch (error) {
    await failComparison(comparison, COMPARISON_STOPPED, deps);
    throw error;
  }
  return step;
}

/** "Compared acme's deals in backup bk_… with today's data": how audit entries name a comparison. */
export function describeComparison(comparison: Pick<StoredComparison, 'objectType' | 'backupId' | 'with'>): string {
  return `${comparison.objectType} in backup ${comparison.backupId} with ${describeOtherSide(comparison.with)}`;
}
