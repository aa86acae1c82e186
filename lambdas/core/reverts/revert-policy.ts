import { ChangeHistoryUnavailableError, ValidationError } from '../errors.ts';
import { isRestorable, type ObjectType } from '../model.ts';
import type { ChangeHistory, DataSource } from '../ports/data-source.ts';
import type { RestorePlanView, StoredPlan } from '../restore-model.ts';
import type { RevertSelection } from '../revert-model.ts';
import { planPrefix, tuningOf, type RestoreTuning } from '../restores/restore-policy.ts';

/**
 * Rules and names the revert steps share: how long a window may be, where a revert
 * plan's working files are, the checks before the history is read, and how a revert
 * plan is shown.
 */

/**
 * The longest window a revert reads. A revert answers "what did this integration do
 * last night": a month covers any incident noticed late, and keeps one plan's reading
 * bounded by what an account changes in a month rather than by its whole history.
 */
export const MAX_WINDOW_DAYS = 31;

/** The sizes of a revert's sorted runs, from the restore tuning. */
export function revertTuningOf(config: { restoreTuning?: RestoreTuning }): { runBytes: number; mergeFanIn: number } {
  const tuning = tuningOf(config);
  return { runBytes: tuning.historyRunBytes, mergeFanIn: tuning.historyMergeFanIn };
}

/** A sorted run of the history a revert plan read; deleted with the plan's folder. */
export function historyRunKey(accountId: string, planId: string, run: number): string {
  return `${planPrefix(accountId, planId)}history/run-${String(run).padStart(5, '0')}.ndjson`;
}

/** A run made of merged runs (when there are more than one merge reads at once). */
export function mergedRunKey(accountId: string, planId: string, merge: number): string {
  return `${planPrefix(accountId, planId)}history/merged-${String(merge).padStart(5, '0')}.ndjson`;
}

/** The folder of the history's runs: deleted once the plan is READY. */
export function historyPrefix(accountId: string, planId: string): string {
  return `${planPrefix(accountId, planId)}history/`;
}

/**
 * A window that makes sense: `from` before `to`, `to` not in the future (a few
 * seconds of clock skew are forgiven and the window ends now), at most MAX_WINDOW_DAYS
 * long. Answers it with both ends as ISO times in UTC, the history's own format.
 */
export function requireSaneWindow(request: { from: string; to: string }, now: Date): { from: string; to: string } {
  const from = new Date(request.from);
  let to = new Date(request.to);
  if (Number.isNaN(from.getTime())) throw new ValidationError('from: must be a date and time, such as 2026-12-06T22:00:00Z.', { field: 'from' });
  if (Number.isNaN(to.getTime())) throw new ValidationError('to: must be a date and time, such as 2026-12-07T06:00:00Z.', { field: 'to' });
  if (to.getTime() > now.getTime() + 60_000) throw new ValidationError('to: must not be in the future; changes not made yet cannot be reverted.', { field: 'to' });
  if (to.getTime() > now.getTime()) to = now;
  if (from.getTime() >= to.getTime()) throw new ValidationError('from: must be before to.', { field: 'from' });
  if (to.getTime() - from.getTime() > MAX_WINDOW_DAYS * 86_400_000) {
    throw new ValidationError(`The window must be at most ${MAX_WINDOW_DAYS} days long; revert a longer period in several plans.`, { field: 'from' });
  }
  return { from: from.toISOString(), to: to.toISOString() };
}

/** The source's change history, or a 409 saying in a sentence why there is none to revert from. */
export function requireChangeHistory(source: DataSource): DataSource & { changeHistory: ChangeHistory } {
  if (source.changeHistory) return source as DataSource & { changeHistory: ChangeHistory };
  throw new ChangeHistoryUnavailableError(
    `This account's data is in a connected CRM (${source.kind}) whose change history this service cannot read by person, source and time, so changes there cannot be reverted. Restore the properties from a backup instead.`,
    { source: source.kind },
  );
}

/** The object type to revert: one of the account's and restorable, or a ValidationError. */
export async function requireRevertibleType(source: DataSource, name: string): Promise<ObjectType> {
  const objectType = isRestorable({ name }) ? await source.getObjectType(name) : undefined;
  if (!objectType) throw new ValidationError(`"${name}" is not an object type of this account whose changes can be reverted.`, { field: 'objectType' });
  return objectType;
}

/** What a revert plan answers (API.md, Reverts): the restore plan's figures, named for a revert. */
export interface RevertPlanView extends Omit<RestorePlanView, 'backupId' | 'recordsInBackup' | 'kind' | 'recordsConflicting' | 'conflictSample'> {
  kind: 'REVERT';
  actor?: string;
  source?: RevertSelection['source'];
  from: string;
  to: string;
  /** Records the actor changed in the window (each counted once). */
  recordsChanged: number;
  recordsConflicting: number;
  conflictSample: NonNullable<RestorePlanView['conflictSample']>;
}

export function toRevertPlanView(plan: StoredPlan): RevertPlanView {
  const { accountId: _account, requestedBy: _by, segments: _segments, work: _work, backupId: _backup, recordsInBackup, revert, status, kind: _kind, ...view } = plan;
  return {
    ...view,
    kind: 'REVERT',
    status: status ?? 'READY',
    ...revert!,
    recordsChanged: recordsInBackup,
    recordsConflicting: plan.recordsConflicting ?? 0,
    conflictSample: plan.conflictSample ?? [],
  };
}
