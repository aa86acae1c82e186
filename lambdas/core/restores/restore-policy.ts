import { requireReadableBackup } from '../backups/backup-policy.ts';
import { NotFoundError, PlanExpiredError, ValidationError } from '../errors.ts';
import { isRestorable, isRestorableProperty, type Backup, type CrmRecord, type ObjectType } from '../model.ts';
import { addCounts, ZERO_COUNTS, type PlanKind, type PlannedChange, type RestoreCounts, type RestorePlanView, type RestoreView, type StoredPlan, type StoredRestore } from '../restore-model.ts';
import type { RevertSelection } from '../revert-model.ts';
import type { Clock } from '../ports/clock.ts';
import type { DataSource, DataSources } from '../ports/data-source.ts';
import type { RestoreRepository } from '../ports/restore-repository.ts';

/**
 * Rules and names every restore step shares: how big plans and batches are, how long
 * plans and the lock live, where a plan's files are, the checks a restore passes
 * before it reads or writes anything, and how plans and restores are shown.
 */

/** Knobs for plan and batch sizes; tests shrink them to exercise segments and loops. */
export interface RestoreTuning {
  /** Backed-up records per plan segment (one Map item in the state machine). */
  segmentRecords?: number;
  /** Most records one apply-batch invocation handles before handing back a cursor. */
  batchRecords?: number;
  /** Records per apply round: one `applyChanges` of the data source, one lock renewal, one progress save. */
  roundRecords?: number;
  /** How long the API plans before it answers 202 and lets the plan state machine go on. */
  planBudgetMs?: number;
  /** Most segments one planning invocation completes (tests: force a resume). */
  planSegmentsPerInvocation?: number;
  /**
   * Most plan segments applied at once (the restore state machine's Map concurrency),
   * whatever the data source takes: a runtime whose store is one process on a laptop
   * (the local stand-in) sets fewer. Absent: as many as the source takes.
   */
  segmentsAtOnce?: number;
  /** About how much text one sorted run of a revert's change history holds (its reading's memory is a small multiple). */
  historyRunBytes?: number;
  /** Most runs of a revert's history one merge reads at once; more are merged into bigger runs first. */
  historyMergeFanIn?: number;
}

export const DEFAULT_TUNING: Required<Omit<RestoreTuning, 'segmentsAtOnce'>> & Pick<RestoreTuning, 'segmentsAtOnce'> = {
  // 10,000 records a segment: a segment file stays a few MB and one Lambda applies it in
  // well under its 15 minutes, while 10 million records still make only 1,000 Map items
  // (a few KB of state, far from the 256 KB payload limit).
  segmentRecords: 10_000,
  batchRecords: 50_000,
  // A round is one applyChanges of the source, one lock renewal, one progress save. Its
  // end is a join (its last writes drain and its events are stored before the next round
  // writes): at 100 records those joins cost a third of apply's time on the local store
  // (docs/performance.md); at 500 a fifth of that, for at most 500 records redone by a
  // retry. Sources cut it into their own batches (BatchGetItem and HubSpot take 100).
  roundRecords: 500,
  // Of API Gateway's 29 s: a plan that takes longer answers 202 and goes on in the background.
  planBudgetMs: 20_000,
  // As many as the invocation's time allows.
  planSegmentsPerInvocation: Number.POSITIVE_INFINITY,
  // ~100,000 property changes a run: 40,000 contacts with a few properties each fit in
  // one or two, and 16 runs merged at once cover a window of ~1.5 million changes
  // before a merge of merges is needed.
  historyRunBytes: 16 * 1024 * 1024,
  // As for comparisons: 16 streams at once stay well below the SDK's 50 sockets.
  historyMergeFanIn: 16,
};

/** The tuning in force: the configured knobs, the defaults for the rest (a knob set to undefined included). */
export function tuningOf(config: { restoreTuning?: RestoreTuning }): typeof DEFAULT_TUNING {
  const set = Object.entries(config.restoreTuning ?? {}).filter(([, value]) => value !== undefined);
  return { ...DEFAULT_TUNING, ...Object.fromEntries(set) };
}

/**
 * How many of a plan's segments the restore state machine applies at once: as many as
 * the account's data source takes (`applyConcurrency`: the built-in CRM's 16 write
 * partitions, a HubSpot portal what keeps its request budget busy), at most the
 * tuning's `segmentsAtOnce`, never more than the plan has segments, at least one.
 */
export function segmentsAtOnce(config: { restoreTuning?: RestoreTuning }, source: Pick<DataSource, 'applyConcurrency'>, planSegments: number): number {
  return Math.max(1, Math.min(tuningOf(config).segmentsAtOnce ?? Number.POSITIVE_INFINITY, source.applyConcurrency, planSegments));
}

/** How long the restore lock lives without renewal; every round of an apply batch renews it. */
export const LOCK_LEASE_MS = 5 * 60_000;

/** Plans are a preview of today's data: they go stale, so they expire after a day (or with their backup). */
export const PLAN_LIFETIME_HOURS = 24;

/** Everything of one plan is under this prefix: the bucket's 14-day rule on `plans/` removes it, a failed plan deletes it at once. */
export function planPrefix(accountId: string, planId: string): string {
  return `plans/${accountId}/${planId}/`;
}

/** S3 key of a plan's segment file. Keys come from ids the service made, never from requests. */
export function planSegmentKey(accountId: string, planId: string, segment: number): string {
  return `${planPrefix(accountId, planId)}segment-${String(segment).padStart(5, '0')}.ndjson`;
}

/** A backup of the account that a restore may read: NotFoundError, BackupNotReadyError or BackupExpiredError otherwise. */
export function requireRestorableBackup(
  accountId: string,
  backupId: string,
  deps: { backups: { getBackup(accountId: string, backupId: string): Promise<Backup | undefined> }; clock: Clock },
): Promise<Backup> {
  return requireReadableBackup(accountId, backupId, deps, { subject: 'This backup', verb: 'restored' });
}

/** An object type of the account that may be restored, and properties of it that may be written: ValidationError otherwise. */
export async function requireRestorableSelection(
  accountId: string,
  selection: { objectType: string; properties: string[] },
  deps: { sources: DataSources },
): Promise<ObjectType> {
  if (!isRestorable({ name: selection.objectType })) {
    throw new ValidationError(`${capitalize(selection.objectType)} cannot be restored; restore another object type.`, { field: 'objectType' });
  }
  const objectType = await (await deps.sources.forAccount(accountId)).getObjectType(selection.objectType);
  if (!objectType) throw new ValidationError(`"${selection.objectType}" is not an object type of this account.`, { field: 'objectType' });
  for (const name of selection.properties) {
    const definition = objectType.properties.find((property) => property.name === name);
    if (!definition) {
      throw new ValidationError(`"${name}" is not a property of ${objectType.pluralLabel.toLowerCase()}.`, { field: 'properties' });
    }
    if (!isRestorableProperty(definition)) {
      throw new ValidationError(`"${name}" is ${definition.calculated ? 'calculated' : 'read-only'} and cannot be restored.`, { field: 'properties' });
    }
  }
  return objectType;
}

/** A plan that can still be executed, or NotFoundError; PlanExpiredError once it expired (a plan previews data that moves on). */
export async function requireLivePlan(accountId: string, planId: string, deps: { restores: Pick<RestoreRepository, 'getPlan'>; clock: Clock }): Promise<StoredPlan> {
  const plan = await deps.restores.getPlan(accountId, planId);
  if (!plan) throw new NotFoundError(`Restore plan "${planId}"`);
  if (Date.parse(plan.expiresAt) <= deps.clock.now().getTime()) {
    throw new PlanExpiredError(`This restore plan expired at ${plan.expiresAt}; make a new plan to see today's changes.`, { expiresAt: plan.expiresAt });
  }
  return plan;
}

/** The chosen properties whose value today differs from the backed-up one (a blank is ""). */
export function diff(current: CrmRecord, values: Record<string, string>): PlannedChange[] {
  const changes: PlannedChange[] = [];
  for (const [property, to] of Object.entries(values)) {
    const from = current.properties[property] ?? '';
    if (from !== to) changes.push({ property, from, to });
  }
  return changes;
}

/** "property email" or "2 properties (email, phone)": how audit entries and emails name a selection. */
export function describeProperties(properties: string[]): string {
  return properties.length === 1 ? `property ${properties[0]}` : `${properties.length} properties (${properties.join(', ')})`;
}

/** What a plan or restore is (its kind, and what it takes back), as restores, audit details and apply requests carry it. */
export function kindOf(run: Pick<StoredPlan, 'kind' | 'undoOf' | 'revertOf'>): { kind: PlanKind; undoOf?: string; revertOf?: string } {
  return { kind: run.kind ?? 'RESTORE', ...(run.undoOf ? { undoOf: run.undoOf } : {}), ...(run.revertOf ? { revertOf: run.revertOf } : {}) };
}

/** "changes by ada@example.com between … and …": how audit entries and emails name a revert's selection. */
export function describeRevert(selection: RevertSelection): string {
  const who = selection.actor ? `${selection.actor}${selection.source ? ` through ${selection.source}` : ''}` : `source ${selection.source}`;
  return `changes by ${who} between ${selection.from} and ${selection.to}`;
}

/**
 * What a restore did, as a sentence's subject: "The restore of property amount of deals
 * from backup bk_1", "The undo of restore rs_1 (property amount of deals)", "The revert
 * of … (…)". Audit entries and emails use it.
 */
export function describeRun(restore: Pick<StoredRestore, 'kind' | 'undoOf' | 'revert' | 'properties' | 'backupId'>, plural: string): string {
  const selection = `${describeProperties(restore.properties)} of ${plural}`;
  if (restore.kind === 'UNDO') return `The undo of restore ${restore.undoOf} (${selection})`;
  if (restore.kind === 'REVERT') return `The revert of ${restore.revert ? describeRevert(restore.revert) : 'changes'} (${selection})`;
  return `The restore of ${selection} from backup ${restore.backupId}`;
}

/** "3 updated, 1 unchanged, 0 no longer exist, 0 failed" (", 2 edited since, left alone" when any): a restore's counts in audit entries and emails. */
export function describeCounts(counts: RestoreCounts): string {
  const conflicting = counts.conflicting ? `, ${counts.conflicting} edited since, left alone` : '';
  return `${counts.updated} updated, ${counts.unchanged} unchanged, ${counts.missing} no longer exist, ${counts.failed} failed${conflicting}`;
}

/**
 * A plan as the API shows it: READY plans exactly as before statuses existed plus
 * `status`; PLANNING ones with `progress`; FAILED ones with `error`.
 */
export function toPlanView(plan: StoredPlan): RestorePlanView {
  const { accountId: _account, requestedBy: _by, segments: _segments, ledgerSegmentsRead: _read, status, kind, backupId, ...view } = plan;
  // Only RESTORE and UNDO plans are shown this way (a REVERT plan: toRevertPlanView), and they always name a backup.
  return { ...view, backupId: backupId!, kind: kind ?? 'RESTORE', status: status ?? 'READY' };
}

/** A restore as the API shows it: no storage details; restores stored before kinds and conflicts existed read as RESTORE with 0 conflicting. */
export function toRestoreView(restore: StoredRestore): RestoreView {
  const { accountId: _account, segmentCount: _segments, segmentSha256: _hashes, notifiedAt: _notified, kind, counts, ...view } = restore;
  return { ...view, kind: kind ?? 'RESTORE', counts: addCounts(ZERO_COUNTS, counts) };
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
