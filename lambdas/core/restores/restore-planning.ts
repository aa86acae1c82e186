import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { ArchiveIntegrityError, BackupDamagedError, ValidationError } from '../errors.ts';
import type { Backup, CrmRecord, ObjectType } from '../model.ts';
import type { DataSource } from '../ports/data-source.ts';
import type { PlanSegment, RestorePlanView, StoredPlan } from '../restore-model.ts';
import { readBackedUpRecords, type BackedUpRecord } from './backed-up-records.ts';
import { PlanTally } from './plan-tally.ts';
import { backupFileOf, type BackupFile } from '../backups/backup-policy.ts';
import type { RestoreDeps } from './restore-deps.ts';
import { describeProperties, kindOf, planPrefix, planSegmentKey, toPlanView, tuningOf } from './restore-policy.ts';
import { openVerifiedZipEntry } from '../zip/zip-entry-reader.ts';

/**
 * What the planning steps share (planRestore in the API, buildRestorePlan in the
 * `restore-plan` state machine, readRestorePlan's recovery): moving a plan on from its
 * checkpoint, and ending it READY or FAILED.
 */

export type PlanningDeps = Pick<RestoreDeps, 'blobs' | 'sources' | 'config'>;

/** What the `restore-plan` state machine hands its steps: ids only. */
export interface PlanJob {
  accountId: string;
  planId: string;
}

/**
 * How long one invocation may plan: asked before each backed-up row with the number of
 * segments this invocation completed. Stopping loses at most the segment in progress.
 */
export interface PlanningRun {
  keepGoing(segmentsCompleted: number): boolean;
}

/** What a plan failed by an unexpected error says (the details are in the logs). */
export const PLANNING_STOPPED = 'An internal error stopped the planning; nothing was changed. Make a new plan.';

/** Records compared per lookup (a DynamoDB BatchGet, a HubSpot batch read). */
const LOOKUP_BATCH = 100;
/** Lookups in flight while the CSV streams on. */
const LOOKUPS_IN_FLIGHT = 4;

/** Where the backed-up records of a plan are: one CSV in the backup zip, and what the manifest says of it. */
export type PlanSource = BackupFile;

/** The object type's CSV in a backup; ValidationError when the backup holds no records of it. */
export function planSource(backup: Backup, objectType: ObjectType): PlanSource {
  const file = backupFileOf(backup, objectType.name);
  if (!file) throw new ValidationError(`This backup holds no ${objectType.pluralLabel.toLowerCase()} to restore.`, { field: 'objectType' });
  return file;
}

/** What the API answers: the plan, and whether it is READY (201) or still PLANNING (202). */
export interface PlanOutcome {
  ready: boolean;
  plan: RestorePlanView;
}

export interface PlanStep {
  /** The plan up to its last completed segment (all of it when done). */
  plan: StoredPlan;
  done: boolean;
}

/**
 * Streams the CSV from the start, skips the rows the plan already counts, and goes on
 * comparing with today's records and writing segment files until the end or until
 * `run` says stop. Stops land on segment boundaries: segment i always holds the same
 * records, so a duplicate or resumed invocation rewrites identical files.
 */
export async function advancePlan(plan: StoredPlan, source: PlanSource, objectType: ObjectType, deps: PlanningDeps, run: PlanningRun): Promise<PlanStep> {
  const { segmentRecords } = tuningOf(deps.config);
  const builder = new PlanBuilder(plan, source.records, segmentRecords, deps);
  const lookups = new RecordLookups(await deps.sources.forAccount(plan.accountId), objectType.name, plan.properties);
  const csv = await openVerifiedZipEntry(deps.blobs, source.zipKey, source.entry);
  let row = 0;
  let batch: BackedUpRecord[] = [];
  for await (const record of readBackedUpRecords(csv, plan.properties, objectType)) {
    row += 1;
    if (row <= plan.recordsInBackup) continue; // planned by an earlier invocation: its segments are written
    // Stopped: what was read past the checkpoint is dropped and read again next time.
    if (!run.keepGoing(builder.segmentsCompleted)) return { plan: builder.checkpoint, done: false };
    batch.push(record);
    const segmentEnds = row % segmentRecords === 0;
    if (batch.length < LOOKUP_BATCH && !segmentEnds) continue;
    lookups.start(batch);
    batch = [];
    // At a segment's last row, compare everything read so far: the segment is written
    // and checkpointed before the next row asks whether to go on.
    await builder.compare(lookups.settled(segmentEnds ? 0 : LOOKUPS_IN_FLIGHT - 1));
  }
  if (batch.length) lookups.start(batch);
  await builder.compare(lookups.settled(0));
  await builder.endSegment();
  return { plan: builder.checkpoint, done: true };
}

/** Backed-up records with today's version of each (absent when it no longer exists). */
interface LookedUp {
  rows: BackedUpRecord[];
  today: Map<string, CrmRecord>;
}

/** Lookups of today's records, run ahead of the comparison (in order) so the source's latency overlaps CSV parsing. */
class RecordLookups {
  private readonly inFlight: Array<{ rows: BackedUpRecord[]; today: Promise<Map<string, CrmRecord>> }> = [];
  private readonly source: DataSource;
  private readonly objectType: string;
  private readonly properties: string[];

  constructor(source: DataSource, objectType: string, properties: string[]) {
    this.source = source;
    this.objectType = objectType;
    this.properties = properties;
  }

  start(rows: BackedUpRecord[]): void {
    const today = this.source.readRecords(this.objectType, rows.map((row) => row.id), this.properties);
    today.catch(() => undefined); // awaited in settled() (or abandoned at a stop); avoids an unhandled rejection
    this.inFlight.push({ rows, today });
  }

  /** The oldest lookups as they answer, until at most `keep` are still in flight. */
  async *settled(keep: number): AsyncGenerator<LookedUp> {
    while (this.inFlight.length > keep) {
      const next = this.inFlight.shift()!;
      yield { rows: next.rows, today: await next.today };
    }
  }
}

/**
 * A plan growing from its checkpoint: the tally, the lines of the segment in progress,
 * and the checkpoint at the last segment written.
 */
class PlanBuilder {
  /** The plan as of the last segment written: what a stop saves and a resume starts from. */
  checkpoint: StoredPlan;
  segmentsCompleted = 0;
  private readonly tally: PlanTally;
  private readonly segments: PlanSegment[];
  private lines: string[] = [];
  private readonly total: number;
  private readonly segmentRecords: number;
  private readonly deps: Pick<RestoreDeps, 'blobs'>;

  constructor(plan: StoredPlan, total: number, segmentRecords: number, deps: Pick<RestoreDeps, 'blobs'>) {
    this.checkpoint = plan;
    this.tally = new PlanTally(plan);
    this.segments = [...plan.segments];
    this.total = total;
    this.segmentRecords = segmentRecords;
    this.deps = deps;
  }

  /** Counts each looked-up record and adds its line, writing each segment as it fills. */
  async compare(batches: AsyncIterable<LookedUp>): Promise<void> {
    for await (const { rows, today } of batches) {
      for (const row of rows) {
        this.lines.push(`${JSON.stringify(this.tally.count(row, today.get(row.id)))}\n`);
        if (this.lines.length >= this.segmentRecords) await this.endSegment();
      }
    }
  }

  /** Writes the segment in progress (if any) and moves the checkpoint to its end. */
  async endSegment(): Promise<void> {
    if (this.lines.length === 0) return;
    const plan = this.checkpoint;
    const segment = await writePlanSegment(this.deps.blobs, plan, this.segments.length, this.lines);
    this.lines = [];
    this.segments.push(segment);
    this.segmentsCompleted += 1;
    const figures = this.tally.snapshot();
    this.checkpoint = { ...plan, ...figures, segments: [...this.segments], progress: { done: figures.recordsInBackup, total: this.total } };
  }
}

/**
 * Writes segment `index` of a plan: its lines (NDJSON, newline included). Encoded once:
 * the size, the SHA-256 (the apply step checks the file against it before writing
 * anything from it) and the upload all come from the same bytes.
 */
export async function writePlanSegment(blobs: RestoreDeps['blobs'], plan: Pick<StoredPlan, 'accountId' | 'id'>, index: number, lines: string[]): Promise<PlanSegment> {
  const data = Buffer.from(lines.join(''), 'utf8');
  await blobs.upload(planSegmentKey(plan.accountId, plan.id, index), Readable.from([data]), { contentType: 'application/x-ndjson' });
  return { records: lines.length, bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') };
}

/**
 * Stores what an API call planned (a restore's or a revert's): READY once `finish`ed
 * (201), or PLANNING with its `restore-plan` execution started to go on (202). A plan
 * whose execution cannot be started ends FAILED before the error goes on.
 */
export async function storeFirstStep(
  step: PlanStep,
  finish: (plan: StoredPlan) => Promise<StoredPlan>,
  deps: Pick<RestoreDeps, 'restores' | 'blobs' | 'workflows'>,
): Promise<{ ready: boolean; plan: StoredPlan }> {
  if (step.done) {
    const ready = await finish(step.plan);
    await deps.restores.putPlan(ready);
    return { ready: true, plan: ready };
  }
  await deps.restores.putPlan(step.plan);
  const job: PlanJob = { accountId: step.plan.accountId, planId: step.plan.id };
  try {
    await deps.workflows.start('restore-plan', job.planId, { ...job });
  } catch (error) {
    await failPlan(job, PLANNING_STOPPED, deps);
    throw error;
  }
  return { ready: false, plan: step.plan };
}

/** A plan whose every backed-up record is compared: READY, without planning progress. */
export function readyPlan(plan: StoredPlan): StoredPlan {
  const { progress: _progress, ...rest } = plan;
  return { ...rest, status: 'READY' };
}

/** The audit entry of a plan that became READY. */
export async function auditPlanned(plan: StoredPlan, objectType: ObjectType, deps: Pick<RestoreDeps, 'audit' | 'ids'>): Promise<void> {
  await deps.audit.append({
    id: deps.ids.next('au'),
    accountId: plan.accountId,
    action: 'RESTORE_PLANNED',
    actor: plan.requestedBy,
    resourceId: plan.id,
    occurredAt: plan.createdAt,
    summary:
      plan.kind === 'UNDO'
        ? `Planned an undo of restore ${plan.undoOf} (${describeProperties(plan.properties)} of ${objectType.pluralLabel.toLowerCase()}): ${plan.recordsToChange} of ${plan.recordsInBackup} records would be set back, ${plan.recordsConflicting ?? 0} were edited since.`
        : `Planned a restore of ${describeProperties(plan.properties)} of ${objectType.pluralLabel.toLowerCase()} from backup ${plan.backupId}: ${plan.recordsToChange} of ${plan.recordsInBackup} records would change.`,
    details: { ...kindOf(plan), backupId: plan.backupId, objectType: plan.objectType, properties: plan.properties },
  });
}

/** What a plan says when the backup turned out damaged while it was read. */
export function damagedSentence(error: ArchiveIntegrityError): string {
  // The download people hold and the restore source must be the same bytes: refuse, plainly.
  return `${error.message} Nothing was planned or changed; restore from another backup.`;
}

/**
 * Ends a PLANNING plan as FAILED with a sentence, deleting its segment files; a plan
 * that is no longer PLANNING stays as it is.
 */
export async function failPlan(plan: PlanJob, reason: string, deps: Pick<RestoreDeps, 'restores' | 'blobs'>): Promise<void> {
  const current = await deps.restores.getPlan(plan.accountId, plan.planId);
  if (!current || current.status !== 'PLANNING') return;
  await deps.blobs.deletePrefix(planPrefix(current.accountId, current.id));
  await deps.restores.savePlan({ ...current, status: 'FAILED', error: reason, segments: [] });
}

/** Plans within the API call; a failure leaves no segment files, and a damaged backup is a BackupDamagedError. */
export async function firstStep(plan: StoredPlan, advance: () => Promise<PlanStep>, deps: Pick<RestoreDeps, 'blobs'>): Promise<PlanStep> {
  try {
    return await advance();
  } catch (error) {
    await deps.blobs.deletePrefix(planPrefix(plan.accountId, plan.id)).catch(() => undefined);
    if (error instanceof ArchiveIntegrityError) throw new BackupDamagedError(damagedSentence(error));
    throw error;
  }
}

/** Stores a restore or undo plan after its first stretch (storeFirstStep), audited once READY, as the API answers it. */
export async function storeRestorePlan(step: PlanStep, objectType: ObjectType, deps: Pick<RestoreDeps, 'blobs' | 'restores' | 'audit' | 'ids' | 'workflows'>): Promise<PlanOutcome> {
  const stored = await storeFirstStep(step, async (plan) => readyPlan(plan), deps);
  if (stored.ready) await auditPlanned(stored.plan, objectType, deps);
  return { ready: stored.ready, plan: toPlanView(stored.plan) };
}
