import type { Caller } from '../caller.ts';
import { requireSuperAdmin } from '../caller.ts';
import { ComparisonExpiredError, ComparisonNotReadyError, NotFoundError } from '../errors.ts';
import type { ComparisonView, StoredComparison } from '../compare-model.ts';
import type { CompareDeps } from './compare-deps.ts';
import { exportFileName, toComparisonView } from './compare-policy.ts';
import { recoverStalledComparison } from './comparison-recovery.ts';
import { describeComparison } from './comparison-start.ts';

/** Presigned links to an export live as long as a backup's: minutes. */
const EXPORT_URL_SECONDS = 300;

/** An export of the account (404 for another account's, or for a comparison that is not an export); 410 once its backup expired. */
async function requireExport(caller: Caller, exportId: string, deps: Pick<CompareDeps, 'comparisons' | 'clock'>): Promise<StoredComparison> {
  requireSuperAdmin(caller);
  const comparison = await deps.comparisons.getComparison(caller.accountId, exportId);
  if (!comparison?.exportRequested) throw new NotFoundError(`Export "${exportId}"`);
  if (Date.parse(comparison.expiresAt) <= deps.clock.now().getTime()) {
    throw new ComparisonExpiredError(`This export expired at ${comparison.expiresAt} with its backup, and its file is deleted.`, { expiresAt: comparison.expiresAt });
  }
  return comparison;
}

/** GET /v1/compare-exports/{id}: the export's comparison, with progress while COMPARING (checked on the way, should it have stalled). */
export async function getCompareExport(caller: Caller, exportId: string, deps: CompareDeps): Promise<ComparisonView> {
  const comparison = await requireExport(caller, exportId, deps);
  return toComparisonView(await recoverStalledComparison(comparison, deps));
}

/**
 * GET /v1/compare-exports/{id}/download: a presigned URL to the differences CSV, valid
 * for 5 minutes; audited, like a backup's download. 409 until it is READY.
 */
export async function downloadCompareExport(caller: Caller, exportId: string, deps: CompareDeps): Promise<{ url: string; expiresAt: string }> {
  const comparison = await requireExport(caller, exportId, deps);
  if (comparison.status !== 'READY' || !comparison.exportKey) {
    throw new ComparisonNotReadyError(
      comparison.status === 'FAILED' ? `This export failed: ${comparison.error}` : 'This export is still comparing; download it once it is ready.',
      { status: comparison.status },
    );
  }
  const now = deps.clock.now();
  const url = await deps.blobs.presignDownload(comparison.exportKey, { expiresInSeconds: EXPORT_URL_SECONDS, filename: exportFileName(comparison) });
  await deps.audit.append({
    id: deps.ids.next('au'),
    accountId: caller.accountId,
    action: 'COMPARISON_EXPORT_DOWNLOADED',
    actor: caller.email || caller.userId,
    resourceId: comparison.id,
    occurredAt: now.toISOString(),
    summary: `Downloaded the differences of ${describeComparison(comparison)}.`,
  });
  return { url, expiresAt: new Date(now.getTime() + EXPORT_URL_SECONDS * 1000).toISOString() };
}
