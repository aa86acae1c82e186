import type { Caller } from '../caller.ts';
import { requireSuperAdmin } from '../caller.ts';
import { NotFoundError } from '../errors.ts';
import type { Page } from '../model.ts';
import type { AuditEntry, AuditLog } from '../ports/audit-log.ts';
import type { ImportLog, RestoreRepository } from '../ports/restore-repository.ts';
import { totalOf, type ImportEntry, type RestoreView, type StoredRestore } from '../restore-model.ts';
import { toRestoreView } from './restore-policy.ts';
import { conflictsOf, failuresOf, sumProgress } from './segment-progress.ts';

/** One restore, with live progress while it runs. 404 for unknown ids and other accounts' ids. */
export async function getRestore(caller: Caller, restoreId: string, deps: { restores: RestoreRepository }): Promise<RestoreView> {
  requireSuperAdmin(caller);
  const restore = await deps.restores.getRestore(caller.accountId, restoreId);
  if (!restore) throw new NotFoundError(`Restore "${restoreId}"`);
  return withLiveProgress(restore, deps);
}

/** The account's restores, newest first; running ones show live progress. */
export async function listRestores(caller: Caller, page: { limit: number; cursor?: string }, deps: { restores: RestoreRepository }): Promise<Page<RestoreView>> {
  requireSuperAdmin(caller);
  const result = await deps.restores.listRestores(caller.accountId, page);
  return { ...result, items: await Promise.all(result.items.map((restore) => withLiveProgress(restore, deps))) };
}

async function withLiveProgress(restore: StoredRestore, deps: { restores: RestoreRepository }): Promise<RestoreView> {
  if (restore.status !== 'RUNNING') return toRestoreView(restore);
  const segments = await deps.restores.listSegmentProgress(restore.accountId, restore.id);
  const counts = sumProgress(segments);
  const failures = failuresOf(segments);
  const conflicts = conflictsOf(segments);
  return toRestoreView({ ...restore, counts, ...(failures.length ? { failures } : {}), ...(conflicts.length ? { conflicts } : {}), progress: { done: totalOf(counts), total: restore.progress.total } });
}

/** Completed imports of the account (restores appear as "Data restore - Deal"). Any user of the account. */
export async function listImports(caller: Caller, page: { limit: number; cursor?: string }, deps: { imports: ImportLog }): Promise<Page<Omit<ImportEntry, 'accountId'>>> {
  const result = await deps.imports.list(caller.accountId, page);
  return { ...result, items: result.items.map(({ accountId: _account, ...entry }) => entry) };
}

/** The account's audit log, newest first. Super admins only: it says who restored what. */
export async function listAuditLog(caller: Caller, page: { limit: number; cursor?: string }, deps: { audit: AuditLog }): Promise<Page<Omit<AuditEntry, 'accountId'>>> {
  requireSuperAdmin(caller);
  const result = await deps.audit.list(caller.accountId, page);
  return { ...result, items: result.items.map(({ accountId: _account, ...entry }) => entry) };
}
