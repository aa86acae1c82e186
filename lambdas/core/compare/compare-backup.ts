import type { Caller } from '../caller.ts';
import { requireSuperAdmin } from '../caller.ts';
import { LIVE, type ComparisonKey, type ComparisonView, type StoredComparison } from '../compare-model.ts';
import type { CompareDeps } from './compare-deps.ts';
import { LIVE_COMPARISON_FRESH_MS, toComparisonView } from './compare-policy.ts';
import { recoverStalledComparison } from './comparison-recovery.ts';
import { compareNowOrLater, describeComparison, newComparison, requireComparableSides, type ComparisonRequest } from './comparison-start.ts';
import type { ComparisonRun } from './comparison-work.ts';

export interface CompareRequest extends ComparisonRequest {
  /** Compare again even if a comparison for the same backup, side and type is kept. */
  refresh?: boolean;
}

/** What the API answers: the comparison, and whether it is final (200) or still COMPARING (202). */
export interface CompareOutcome {
  ready: boolean;
  comparison: ComparisonView;
}

/**
 * GET /v1/backups/{id}/compare: how one object type differs between a backup and
 * today's data or another backup, changing nothing (issue 16, Compare).
 *
 * Primary course:
 *  1. Check the caller is a super admin, both backups are complete and not expired, and
 *     the object type is one of theirs (or the account's, for live data).
 *  2. Show the latest comparison of the same backup, side and type when it is still
 *     good: one of two backups is final; one with today's data is good for 5 minutes
 *     after it finished. One still COMPARING is shown with its progress (and its
 *     execution checked, should it have stalled).
 *  3. Otherwise start a new one (audited: it shows backed-up values), make it the latest,
 *     and compare within the API call while there is time: READY (200), or COMPARING
 *     (202) with the `comparison` state machine going on.
 */
export async function compareBackup(caller: Caller, backupId: string, request: CompareRequest, deps: CompareDeps, run: ComparisonRun): Promise<CompareOutcome> {
  requireSuperAdmin(caller);
  const sides = await requireComparableSides(caller.accountId, backupId, request, deps);
  const key: ComparisonKey = { backupId, with: request.with, objectType: request.objectType };
  const latestId = await deps.comparisons.findLatest(caller.accountId, key);
  const latest = latestId ? await deps.comparisons.getComparison(caller.accountId, latestId) : undefined;
  if (latest && !request.refresh && stillGood(latest, deps.clock.now())) return outcome(await recoverStalledComparison(latest, deps));

  const started = await newComparison({ accountId: caller.accountId, requestedBy: caller.email || caller.userId }, sides, request.objectType, deps);
  await deps.comparisons.createComparison(started);
  if (!(await deps.comparisons.setLatest(caller.accountId, key, started.id, latestId, started.expiresAt))) {
    // Another request started one for the same key meanwhile: show that one.
    const winner = await deps.comparisons.findLatest(caller.accountId, key);
    const shown = winner ? await deps.comparisons.getComparison(caller.accountId, winner) : undefined;
    if (shown) return outcome(shown);
  }
  await deps.audit.append({
    id: deps.ids.next('au'),
    accountId: caller.accountId,
    action: 'BACKUP_COMPARED',
    actor: started.requestedBy,
    resourceId: started.id,
    occurredAt: started.createdAt,
    summary: `Compared ${describeComparison(started)}.`,
    details: { backupId, with: request.with, objectType: request.objectType },
  });
  const step = await compareNowOrLater(started, deps, run);
  return outcome(step.comparison);
}

function stillGood(comparison: StoredComparison, now: Date): boolean {
  if (comparison.with !== LIVE || comparison.status !== 'READY') return true;
  return now.getTime() - Date.parse(comparison.completedAt!) < LIVE_COMPARISON_FRESH_MS;
}

function outcome(comparison: StoredComparison): CompareOutcome {
  return { ready: comparison.status !== 'COMPARING', comparison: toComparisonView(comparison) };
}
