import type { Caller } from '../caller.ts';
import { requireSuperAdmin } from '../caller.ts';
import type { ComparisonView } from '../compare-model.ts';
import type { CompareDeps } from './compare-deps.ts';
import { toComparisonView } from './compare-policy.ts';
import { compareNowOrLater, describeComparison, newComparison, requireComparableSides, type ComparisonRequest } from './comparison-start.ts';
import type { ComparisonRun } from './comparison-work.ts';

/** What the API answers: the export, READY (201) or still COMPARING (202). */
export interface ExportOutcome {
  ready: boolean;
  comparison: ComparisonView;
}

/**
 * POST /v1/backups/{id}/compare-exports: every difference between a backup and today's
 * data or another backup, for one object type, as a CSV to download (record id, kind,
 * property, from, to), changing nothing.
 *
 * Primary course:
 *  1. The checks of a comparison (compare-backup.ts).
 *  2. A new comparison that also writes each difference it finds (always new: an
 *     export is a file the admin asked for now). Audited.
 *  3. Compared within the API call while there is time (201 READY, with the CSV's rows
 *     and bytes), otherwise 202 COMPARING with the `comparison` state machine going on.
 *     `GET /v1/compare-exports/{id}` follows it; `…/download` gives the file.
 */
export async function exportComparison(caller: Caller, backupId: string, request: ComparisonRequest, deps: CompareDeps, run: ComparisonRun): Promise<ExportOutcome> {
  requireSuperAdmin(caller);
  const sides = await requireComparableSides(caller.accountId, backupId, request, deps);
  const started = await newComparison({ accountId: caller.accountId, requestedBy: caller.email || caller.userId }, sides, request.objectType, deps, { exportRequested: true });
  await deps.comparisons.createComparison(started);
  await deps.audit.append({
    id: deps.ids.next('au'),
    accountId: caller.accountId,
    action: 'COMPARISON_EXPORTED',
    actor: started.requestedBy,
    resourceId: started.id,
    occurredAt: started.createdAt,
    summary: `Exported the differences of ${describeComparison(started)}.`,
    details: { backupId, with: request.with, objectType: request.objectType },
  });
  const step = await compareNowOrLater(started, deps, run);
  return { ready: step.done, comparison: toComparisonView(step.comparison) };
}
