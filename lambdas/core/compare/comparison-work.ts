import { backupFileOf } from '../backups/backup-policy.ts';
import { ArchiveIntegrityError } from '../errors.ts';
import type { SideProgress, StoredComparison } from '../compare-model.ts';
import { planConcatenation } from '../zip/assembly-plan.ts';
import { assembleZip } from '../zip/assemble-zip.ts';
import type { CompareDeps } from './compare-deps.ts';
import { compareTuningOf, comparisonPrefix, exportKey, exportPartKey, runKey, workPrefix } from './compare-policy.ts';
import { mergeSides } from './comparison-merge.ts';
import { backupSideReader, liveSideReader, readSideIntoRuns, type SideReader } from './comparison-sides.ts';
import { mergeRunsInto } from './sorted-runs.ts';

/**
 * What every compare step shares: moving a comparison on from its checkpoint (the API
 * call that starts it, the `comparison` and `anomaly-check` state machines), and ending
 * it READY or FAILED.
 */

export type ComparisonWorkDeps = Pick<CompareDeps, 'backups' | 'blobs' | 'sources' | 'comparisons' | 'zipAssembly' | 'clock' | 'ids' | 'config'>;

/** How long one invocation may go on: asked between batches and every thousand records merged. */
export interface ComparisonRun {
  keepGoing(): boolean;
}

/** What the state machines hand the compare step: ids only. */
export interface ComparisonJob {
  accountId: string;
  comparisonId: string;
}

export interface ComparisonStep {
  comparison: StoredComparison;
  /** READY or FAILED (by this call or another worker). */
  done: boolean;
}

/** What a comparison failed by an unexpected error says (the details are in the logs). */
export const COMPARISON_STOPPED = 'An internal error stopped the comparison; nothing was changed. Compare again.';

/**
 * Moves a COMPARING comparison on from its checkpoint until it is READY or `run` says
 * stop, saving a checkpoint at every run written, every merge of runs, and the merge's
 * stop.
 *
 * 1. Read both sides at once (a backup's CSV, today's records or another backup's CSV)
 *    into sorted runs in the bucket.
 * 2. While a side has more runs than one merge reads at once, merge the oldest into one.
 * 3. Merge the two sides by id, counting (and, for an export, writing) every difference.
 * 4. READY: the figures and the sample; an export's parts joined into one CSV; the
 *    working files deleted.
 * A damaged backup ends it FAILED with a sentence. A checkpoint refused because another
 * worker moved the comparison on ends this call, answering the comparison as it is.
 */
export async function advanceComparison(comparison: StoredComparison, deps: ComparisonWorkDeps, run: ComparisonRun): Promise<ComparisonStep> {
  if (comparison.status !== 'COMPARING') return { comparison, done: true };
  const work = new Checkpoints(comparison, deps);
  try {
    return await work.advance(run);
  } catch (error) {
    if (!(error instanceof ArchiveIntegrityError)) throw error;
    const failed = await failComparison(work.current, `${error.message} The comparison stopped; nothing was changed.`, deps);
    return { comparison: failed ?? work.current, done: true };
  }
}

/** A comparison as one worker moves it on: the latest state it saved, and whether another worker won a checkpoint. */
class Checkpoints {
  current: StoredComparison;
  private lost = false;
  private saving: Promise<unknown> = Promise.resolve();
  private readonly deps: ComparisonWorkDeps;
  /** This invocation's mark in the names of the files it writes. */
  private readonly writer: string;

  constructor(comparison: StoredComparison, deps: ComparisonWorkDeps) {
    this.current = comparison;
    this.deps = deps;
    this.writer = deps.ids.next('w');
  }

  async advance(run: ComparisonRun): Promise<ComparisonStep> {
    const tuning = compareTuningOf(this.deps.config);
    const keepGoing = () => !this.lost && run.keepGoing();
    const { accountId, id } = this.current;

    // 1. Both sides at once: a live side waits on the CRM while the backup's CSV is parsed.
    const reading = ([0, 1] as const).filter((side) => !this.current.sides[side].done);
    if (reading.length > 0) {
      const readers = await sideReaders(this.current, this.deps, tuning.batchRecords);
      await Promise.all(
        reading.map((side) =>
          readSideIntoRuns(this.current.sides[side], readers[side], {
            blobs: this.deps.blobs,
            runKey: (index) => runKey(accountId, id, side, { read: index }, this.writer),
            runBytes: tuning.runBytes,
            keepGoing,
            checkpoint: (progress) => this.save((comparison) => withSide(comparison, side, progress)),
          }),
        ),
      );
      if (!this.current.sides.every((side) => side.done)) return this.settled();
    }

    // 2. A merge reads at most `mergeFanIn` runs of a side at once.
    let merges = 0;
    for (const side of [0, 1] as const) {
      while (this.current.sides[side].runs.length > tuning.mergeFanIn) {
        if (!keepGoing()) return this.settled();
        const runs = this.current.sides[side].runs;
        const merged = await mergeRunsInto(this.deps.blobs, runs.slice(0, tuning.mergeFanIn), runKey(accountId, id, side, { merged: merges++ }, this.writer));
        if (!(await this.save((comparison) => withSide(comparison, side, { ...comparison.sides[side], runs: [merged, ...runs.slice(tuning.mergeFanIn)] })))) {
          return this.settled();
        }
      }
    }

    // 3. The merge, from where it stopped.
    const { merge, done } = await mergeSides(this.current.sides, this.current.merge, {
      blobs: this.deps.blobs,
      keepGoing,
      ...(this.current.exportRequested ? { exportPartKey: exportPartKey(accountId, id, this.current.merge?.exportParts.length ?? 0, this.writer) } : {}),
    });
    if (!done) {
      await this.save((comparison) => ({ ...comparison, merge }));
      return this.settled();
    }

    // 4. READY.
    const { sample, ...counts } = merge.figures;
    let exported: Pick<StoredComparison, 'exportKey' | 'export'> = {};
    if (this.current.exportRequested) {
      const parts = merge.exportParts;
      const key = parts.length === 1 ? parts[0]!.key : exportKey(accountId, id);
      if (parts.length > 1) await assembleZip(planConcatenation(parts), key, this.deps.zipAssembly);
      exported = { exportKey: key, export: { rows: parts.reduce((sum, part) => sum + part.rows, 0), bytes: parts.reduce((sum, part) => sum + part.bytes, 0) } };
    }
    const saved = await this.save((comparison) => {
      const { merge: _merge, ...rest } = comparison;
      return { ...rest, ...counts, sample, ...exported, status: 'READY', completedAt: this.deps.clock.now().toISOString() };
    });
    if (saved) await this.deps.blobs.deletePrefix(workPrefix(accountId, id));
    return this.settled();
  }

  /**
   * Saves the next state (made from the latest saved one), one save at a time: the two
   * sides' readers checkpoint independently. False once another worker won a checkpoint.
   */
  save(next: (comparison: StoredComparison) => StoredComparison): Promise<boolean> {
    const saved = this.saving.then(async () => {
      if (this.lost) return false;
      const from = this.current;
      const updated = { ...next(from), version: from.version + 1, updatedAt: this.deps.clock.now().toISOString() };
      if (!(await this.deps.comparisons.saveComparison(updated, from.version))) {
        this.lost = true;
        return false;
      }
      this.current = updated;
      return true;
    });
    this.saving = saved.catch(() => undefined);
    return saved;
  }

  /** The comparison as this call leaves it: as saved, or as the worker that won left it. */
  private async settled(): Promise<ComparisonStep> {
    await this.saving;
    const comparison = this.lost ? ((await this.deps.comparisons.getComparison(this.current.accountId, this.current.id)) ?? this.current) : this.current;
    return { comparison, done: comparison.status !== 'COMPARING' };
  }
}

function withSide(comparison: StoredComparison, index: 0 | 1, side: SideProgress): StoredComparison {
  const sides: [SideProgress, SideProgress] = [...comparison.sides];
  sides[index] = side;
  return { ...comparison, sides };
}

/** Where each side's records come from: the backups' CSVs (checked against their manifests), or today's records. */
async function sideReaders(comparison: StoredComparison, deps: ComparisonWorkDeps, batchRecords: number): Promise<[SideReader, SideReader]> {
  const reader = async (side: SideProgress): Promise<SideReader> => {
    if (side.source.kind === 'live') return liveSideReader(await deps.sources.forAccount(comparison.accountId), comparison.objectType);
    const backup = await deps.backups.getBackup(comparison.accountId, side.source.backupId);
    if (!backup?.zipKey) throw new ArchiveIntegrityError(`Backup ${side.source.backupId} is no longer in storage.`);
    return backupSideReader(deps.blobs, backupFileOf(backup, comparison.objectType), comparison.objectType, batchRecords);
  };
  return [await reader(comparison.sides[0]), await reader(comparison.sides[1])];
}

/**
 * Ends a COMPARING comparison as FAILED with a sentence, deleting its files; one that is
 * no longer COMPARING stays as it is. Answers the comparison as it ends up.
 */
export async function failComparison(comparison: Pick<StoredComparison, 'accountId' | 'id'>, reason: string, deps: Pick<CompareDeps, 'comparisons' | 'blobs' | 'clock'>): Promise<StoredComparison | undefined> {
  for (;;) {
    const current = await deps.comparisons.getComparison(comparison.accountId, comparison.id);
    if (!current || current.status !== 'COMPARING') return current;
    const { merge: _merge, ...rest } = current;
    const now = deps.clock.now().toISOString();
    const failed: StoredComparison = { ...rest, status: 'FAILED', error: reason, version: current.version + 1, updatedAt: now };
    if (await deps.comparisons.saveComparison(failed, current.version)) {
      await deps.blobs.deletePrefix(comparisonPrefix(comparison.accountId, comparison.id));
      return failed;
    }
  }
}
