import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { CsvError, parse } from 'csv-parse';
import type { Caller } from '../caller.ts';
import { requireSuperAdmin } from '../caller.ts';
import { ArchiveIntegrityError, ClientError, ConflictError, GoneError, NotFoundError, ValidationError } from '../errors.ts';
import { isRestorable, isRestorableProperty, type Backup, type CrmRecord, type ObjectType } from '../model.ts';
import type { AuditLog } from '../ports/audit-log.ts';
import type { BlobStore } from '../ports/blob-store.ts';
import type { Clock } from '../ports/clock.ts';
import type { IdGenerator } from '../ports/ids.ts';
import type { RecordStore } from '../ports/record-store.ts';
import type { RestoreRepository } from '../ports/restore-repository.ts';
import type { WorkflowStarter } from '../ports/workflow-starter.ts';
import {
  PLAN_LIFETIME_HOURS,
  planSegmentKey,
  type PlannedChange,
  type PlannedRecord,
  type RestorePlanView,
  type StoredPlan,
} from './restore-model.ts';
import { openVerifiedZipEntry } from './zip-entry-reader.ts';

/** Knobs for plan and batch sizes; tests shrink them to exercise segments and loops. */
export interface RestoreTuning {
  /** Backed-up records per plan segment (one Map item in the state machine). */
  segmentRecords?: number;
  /** Most records one apply-batch invocation handles before handing back a cursor. */
  batchRecords?: number;
  /** How long the API plans before it answers 202 and lets the plan state machine go on. */
  planBudgetMs?: number;
  /** Most segments one planning invocation completes (tests: force a resume). */
  planSegmentsPerInvocation?: number;
}

export interface PlanRestoreDeps {
  backups: { getBackup(accountId: string, backupId: string): Promise<Backup | undefined> };
  blobs: BlobStore;
  records: RecordStore;
  restores: RestoreRepository;
  audit: AuditLog;
  clock: Clock;
  ids: IdGenerator;
  workflows: WorkflowStarter;
  config: { restoreTuning?: RestoreTuning };
}

export interface PlanRequest {
  objectType: string;
  properties: string[];
}

/**
 * How long one invocation may plan: asked before each backed-up row with the number of
 * segments this invocation completed. Stopping loses at most the segment in progress.
 */
export interface PlanningRun {
  keepGoing(segmentsCompleted: number): boolean;
}

/** What the API answers: the plan, and whether it is READY (201) or still PLANNING (202). */
export interface PlanOutcome {
  ready: boolean;
  plan: RestorePlanView;
}

/**
 * 10,000 records a segment: a segment file stays a few MB and one Lambda applies it in
 * well under its 15 minutes, while 10 million records still make only 1,000 Map items
 * (a few KB of state, far from the 256 KB payload limit).
 */
export const DEFAULT_SEGMENT_RECORDS = 10_000;
/** Records compared per BatchGet round. */
const LOOKUP_BATCH = 100;
/** BatchGet rounds in flight while the CSV streams on. */
const LOOKUPS_IN_FLIGHT = 4;
const SAMPLE_SIZE = 10;
/** Sample values are for people to eyeball; long texts are cut so a plan item stays small. */
const SAMPLE_VALUE_CHARS = 200;
/** The whole sample stays far below DynamoDB's 400 KB item limit, however many properties are chosen. */
const SAMPLE_BUDGET_BYTES = 64 * 1024;
/** What a plan failed by an unexpected error says (the details are in the logs). */
export const PLANNING_STOPPED = 'An internal error stopped the planning; nothing was changed. Make a new plan.';

/**
 * Computes what restoring some properties of one object type from a backup would
 * change, changing nothing in the CRM (PRODUCT.md, Restore 2).
 *
 * Primary course:
 *  1. Check the caller is a super admin, the backup is ready and not expired, and the
 *     object type and properties may be restored.
 *  2. Stream the object type's CSV out of the backup zip with ranged reads, verifying
 *     it against the manifest's size and SHA-256 as it flows.
 *  3. Compare each backed-up record with today's record, 100 at a time, counting
 *     changes, clears, missing and unchanged records per property.
 *  4. Write the backed-up values of the chosen properties to segment files in S3: they
 *     are the restore's source, so the executed restore applies exactly what was checked.
 *  5. Store the plan as READY (counts, sample, segments) and audit it.
 * Alternate course: the run's budget ends first (a big object type): store the plan as
 *  PLANNING at its last completed segment and start the `restore-plan` state machine
 *  (execution name = plan id), which goes on with buildRestorePlan. Should this call
 *  die in between, `readRestorePlan` starts that execution when the plan is read.
 * Alternate course: a damaged archive deletes the segment files written so far and
 *  stores no plan.
 */
export async function planRestore(caller: Caller, backupId: string, request: PlanRequest, deps: PlanRestoreDeps, run: PlanningRun): Promise<PlanOutcome> {
  requireSuperAdmin(caller);
  const backup = await requireRestorableBackup(caller.accountId, backupId, deps);
  const objectType = await requireRestorableSelection(caller.accountId, request, deps.records);
  const source = planSource(backup, objectType);

  const now = deps.clock.now();
  const started: StoredPlan = {
    id: deps.ids.next('pl'),
    status: 'PLANNING',
    accountId: caller.accountId,
    backupId: backup.id,
    objectType: objectType.name,
    properties: request.properties,
    recordsInBackup: 0,
    recordsToChange: 0,
    recordsUnchanged: 0,
    recordsMissing: 0,
    perProperty: request.properties.map((name) => ({ name, toChange: 0, toClear: 0 })),
    sample: [],
    createdAt: now.toISOString(),
    expiresAt: new Date(Math.min(now.getTime() + PLAN_LIFETIME_HOURS * 3_600_000, Date.parse(backup.expiresAt!))).toISOString(),
    requestedBy: caller.email || caller.userId,
    segments: [],
    progress: { done: 0, total: source.records },
  };
  let step: PlanStep;
  try {
    step = await advancePlan(started, source, objectType, deps, run);
  } catch (error) {
    await deps.blobs.deletePrefix(planPrefix(started)).catch(() => undefined);
    if (error instanceof ArchiveIntegrityError) throw new ConflictError('BACKUP_DAMAGED', damagedSentence(error));
    throw error;
  }
  if (step.done) {
    const ready = readyPlan(step.plan);
    await deps.restores.putPlan(ready);
    await auditPlanned(ready, objectType, deps);
    return { ready: true, plan: toPlanView(ready) };
  }
  await deps.restores.putPlan(step.plan);
  try {
    await deps.workflows.start('restore-plan', started.id, { accountId: started.accountId, planId: started.id } satisfies PlanJob);
  } catch (error) {
    await failPlan(step.plan, PLANNING_STOPPED, deps);
    throw error;
  }
  return { ready: false, plan: toPlanView(step.plan) };
}

/** What the `restore-plan` state machine hands its steps: ids only. */
export interface PlanJob {
  accountId: string;
  planId: string;
}

/**
 * Goes on with a PLANNING plan from its checkpoint, for as long as `run` allows
 * (the `restore-plan` state machine loops until `done`).
 *
 * Primary course:
 *  1. Load the plan; anything but PLANNING is done (a repeated step changes nothing).
 *  2. Re-open the CSV, skip the rows already planned, compare and write segments on.
 *  3. Out of time: save the new checkpoint (only if still at the old one, so of two
 *     duplicate invocations one counts) and answer not done.
 *  4. End of the CSV, its SHA-256 verified: store the plan READY and audit it.
 * Alternate course: the backup expired or is damaged, or the property is not in it:
 *  the plan becomes FAILED with that sentence and its segment files are deleted.
 */
export async function buildRestorePlan(job: PlanJob, deps: PlanRestoreDeps, run: PlanningRun): Promise<{ done: boolean }> {
  const plan = await deps.restores.getPlan(job.accountId, job.planId);
  if (!plan || plan.status !== 'PLANNING') return { done: true };
  let step: PlanStep;
  let objectType: ObjectType | undefined;
  try {
    const backup = await requireRestorableBackup(plan.accountId, plan.backupId, deps);
    objectType = await deps.records.getObjectType(plan.accountId, plan.objectType);
    if (!objectType) throw new ValidationError(`"${plan.objectType}" is no longer an object type of this account.`, { field: 'objectType' });
    step = await advancePlan(plan, planSource(backup, objectType), objectType, deps, run);
  } catch (error) {
    if (error instanceof ArchiveIntegrityError) await failPlan(plan, damagedSentence(error), deps);
    else if (error instanceof ClientError) await failPlan(plan, error.message, deps);
    else throw error;
    return { done: true };
  }
  const ready = step.done ? readyPlan(step.plan) : step.plan;
  if (await deps.restores.savePlan(ready, plan.recordsInBackup)) {
    if (step.done) await auditPlanned(ready, objectType, deps);
    return { done: step.done };
  }
  // Another invocation moved the plan on, or it failed (stopped) meanwhile: then the
  // segment files this one wrote after the cleanup must go too.
  const now = await deps.restores.getPlan(plan.accountId, plan.id);
  if (now?.status === 'FAILED') await deps.blobs.deletePrefix(planPrefix(now));
  return { done: now?.status !== 'PLANNING' };
}

/**
 * Ends a PLANNING plan as FAILED with a sentence, deleting its segment files: the
 * `restore-plan` state machine's failure step, and the API's when it cannot start it.
 */
export async function failPlan(plan: Pick<StoredPlan, 'accountId' | 'id'>, reason: string, deps: Pick<PlanRestoreDeps, 'restores' | 'blobs'>): Promise<void> {
  const current = await deps.restores.getPlan(plan.accountId, plan.id);
  if (!current || current.status !== 'PLANNING') return;
  await deps.blobs.deletePrefix(planPrefix(current));
  await deps.restores.savePlan({ ...current, status: 'FAILED', error: reason, segments: [] });
}

interface PlanSource {
  zipKey: string;
  file: string;
  bytes: number;
  sha256: string;
  records: number;
}

function planSource(backup: Backup, objectType: ObjectType): PlanSource {
  const backupObject = backup.objects?.find((object) => object.objectType === objectType.name);
  if (!backupObject?.file || !backupObject.sha256 || backupObject.bytes === undefined || !backup.zipKey) {
    throw new ValidationError(`This backup holds no ${objectType.pluralLabel.toLowerCase()} to restore.`, { field: 'objectType' });
  }
  return { zipKey: backup.zipKey, file: backupObject.file, bytes: backupObject.bytes, sha256: backupObject.sha256, records: backupObject.records };
}

function damagedSentence(error: ArchiveIntegrityError): string {
  // The download people hold and the restore source must be the same bytes: refuse, plainly.
  return `${error.message} Nothing was planned or changed; restore from another backup.`;
}

function planPrefix(plan: Pick<StoredPlan, 'accountId' | 'id'>): string {
  return `plans/${plan.accountId}/${plan.id}/`;
}

function readyPlan(plan: StoredPlan): StoredPlan {
  const { progress: _progress, ...rest } = plan;
  return { ...rest, status: 'READY' };
}

async function auditPlanned(plan: StoredPlan, objectType: ObjectType, deps: Pick<PlanRestoreDeps, 'audit' | 'ids'>): Promise<void> {
  await deps.audit.append({
    id: deps.ids.next('au'),
    accountId: plan.accountId,
    action: 'RESTORE_PLANNED',
    actor: plan.requestedBy,
    resourceId: plan.id,
    occurredAt: plan.createdAt,
    summary: `Planned a restore of ${describeProperties(plan.properties)} of ${objectType.pluralLabel.toLowerCase()} from backup ${plan.backupId}: ${plan.recordsToChange} of ${plan.recordsInBackup} records would change.`,
    details: { backupId: plan.backupId, objectType: plan.objectType, properties: plan.properties },
  });
}

/**
 * Loads a plan that can still be executed, or 404; 410 once it expired (a plan previews
 * data that moves on). `readRestorePlan` (recover-plan.ts) answers GETs with it.
 */
export async function requireLivePlan(accountId: string, planId: string, deps: Pick<PlanRestoreDeps, 'restores' | 'clock'>): Promise<StoredPlan> {
  const plan = await deps.restores.getPlan(accountId, planId);
  if (!plan) throw new NotFoundError(`Restore plan "${planId}"`);
  if (Date.parse(plan.expiresAt) <= deps.clock.now().getTime()) {
    throw new GoneError('PLAN_EXPIRED', `This restore plan expired at ${plan.expiresAt}; make a new plan to see today's changes.`, { expiresAt: plan.expiresAt });
  }
  return plan;
}

/** A backup of the account that a restore may read: 404, 409 BACKUP_NOT_READY or 410 BACKUP_EXPIRED otherwise. */
export async function requireRestorableBackup(accountId: string, backupId: string, deps: Pick<PlanRestoreDeps, 'backups' | 'clock'>): Promise<Backup> {
  const backup = await deps.backups.getBackup(accountId, backupId);
  if (!backup) throw new NotFoundError(`Backup "${backupId}"`);
  if (backup.status === 'EXPIRED' || (backup.expiresAt && Date.parse(backup.expiresAt) <= deps.clock.now().getTime())) {
    throw new GoneError('BACKUP_EXPIRED', `This backup expired at ${backup.expiresAt} and its file is deleted; it can no longer be restored.`, {
      expiresAt: backup.expiresAt,
    });
  }
  if (backup.status !== 'SUCCEEDED' || !backup.expiresAt) {
    throw new ConflictError('BACKUP_NOT_READY', `This backup is ${backup.status.toLowerCase()}; only a completed backup can be restored.`, {
      status: backup.status,
    });
  }
  return backup;
}

async function requireRestorableSelection(accountId: string, request: PlanRequest, records: RecordStore): Promise<ObjectType> {
  if (!isRestorable({ name: request.objectType })) {
    throw new ValidationError(`${capitalize(request.objectType)} cannot be restored; restore another object type.`, { field: 'objectType' });
  }
  const objectType = await records.getObjectType(accountId, request.objectType);
  if (!objectType) throw new ValidationError(`"${request.objectType}" is not an object type of this account.`, { field: 'objectType' });
  for (const name of request.properties) {
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

interface PlanStep {
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
async function advancePlan(plan: StoredPlan, source: PlanSource, objectType: ObjectType, deps: PlanRestoreDeps, run: PlanningRun): Promise<PlanStep> {
  const segmentRecords = deps.config.restoreTuning?.segmentRecords ?? DEFAULT_SEGMENT_RECORDS;
  const skip = plan.recordsInBackup;
  let tally: StoredPlan = { ...plan, perProperty: plan.perProperty.map((entry) => ({ ...entry })), sample: [...plan.sample], segments: [...plan.segments] };
  let checkpoint = plan;
  let segmentsCompleted = 0;
  let sampleBytes = plan.sample.reduce((bytes, entry) => bytes + Buffer.byteLength(JSON.stringify(entry)), 0);
  let segmentLines: string[] = [];
  const perProperty = () => new Map(tally.perProperty.map((entry) => [entry.name, entry]));
  let counters = perProperty();
  const flushSegment = async () => {
    if (segmentLines.length === 0) return;
    const key = planSegmentKey(plan.accountId, plan.id, tally.segments.length);
    // Encoded once: the size, the SHA-256 (the apply step checks the file against it
    // before writing anything from it) and the upload all come from the same bytes.
    const data = Buffer.from(segmentLines.join(''), 'utf8');
    const segment = { records: segmentLines.length, bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') };
    segmentLines = [];
    await deps.blobs.upload(key, Readable.from([data]), { contentType: 'application/x-ndjson' });
    tally.segments.push(segment);
    segmentsCompleted += 1;
    // The checkpoint: counts, sample and segments exactly up to this boundary.
    checkpoint = { ...tally, progress: { done: tally.recordsInBackup, total: source.records } };
    tally = { ...tally, perProperty: tally.perProperty.map((entry) => ({ ...entry })), sample: [...tally.sample], segments: [...tally.segments] };
    counters = perProperty();
  };

  const compare = async (rows: BackedUpRecord[], today: Map<string, CrmRecord>) => {
    for (const row of rows) {
      tally.recordsInBackup += 1;
      const current = today.get(row.id);
      const changes = current ? diff(current, row.values) : [];
      const planned: PlannedRecord = { id: row.id, values: row.values, ...(changes.length ? { differs: true as const } : {}) };
      segmentLines.push(`${JSON.stringify(planned)}\n`);
      if (!current) {
        tally.recordsMissing += 1;
      } else {
        if (changes.length === 0) tally.recordsUnchanged += 1;
        else {
          tally.recordsToChange += 1;
          for (const change of changes) {
            const counter = counters.get(change.property)!;
            if (change.to === '') counter.toClear += 1;
            else counter.toChange += 1;
          }
          if (tally.sample.length < SAMPLE_SIZE && sampleBytes < SAMPLE_BUDGET_BYTES) {
            const entry = {
              recordId: row.id,
              changes: changes.map((change) => ({ property: change.property, from: cut(change.from), to: cut(change.to) })),
            };
            sampleBytes += Buffer.byteLength(JSON.stringify(entry));
            tally.sample.push(entry);
          }
        }
      }
      if (segmentLines.length >= segmentRecords) await flushSegment();
    }
  };

  // Lookups run ahead of the comparison (in order), so DynamoDB latency overlaps CSV parsing.
  const inFlight: Array<{ rows: BackedUpRecord[]; today: Promise<Map<string, CrmRecord>> }> = [];
  const lookUp = (rows: BackedUpRecord[]) => {
    const today = deps.records.getRecords(plan.accountId, objectType.name, rows.map((row) => row.id));
    today.catch(() => undefined); // awaited below (or abandoned at a stop); avoids an unhandled rejection
    inFlight.push({ rows, today });
  };
  const csv = await openVerifiedZipEntry(deps.blobs, source.zipKey, { name: source.file, bytes: source.bytes, sha256: source.sha256 });
  let seen = 0;
  let stopped = false;
  let batch: BackedUpRecord[] = [];
  for await (const row of backedUpRecords(csv, plan.properties, objectType)) {
    seen += 1;
    if (seen <= skip) continue; // planned by an earlier invocation: its segments are written
    if (!run.keepGoing(segmentsCompleted)) {
      stopped = true;
      break;
    }
    batch.push(row);
    // At a segment's last row, compare everything read so far: the segment is written
    // and checkpointed before the next row asks whether to go on.
    const segmentEnds = seen % segmentRecords === 0;
    if (batch.length < LOOKUP_BATCH && !segmentEnds) continue;
    lookUp(batch);
    batch = [];
    while (inFlight.length >= (segmentEnds ? 1 : LOOKUPS_IN_FLIGHT)) {
      const next = inFlight.shift()!;
      await compare(next.rows, await next.today);
    }
  }
  // Stopped: what was read past the checkpoint is dropped and read again next time.
  if (stopped) return { plan: checkpoint, done: false };
  if (batch.length) lookUp(batch);
  for (const next of inFlight.splice(0)) await compare(next.rows, await next.today);
  await flushSegment();
  return { plan: checkpoint, done: true };
}

/** One row of the backup CSV: a plan line before the comparison says whether it `differs`. */
type BackedUpRecord = Omit<PlannedRecord, 'differs'>;

/** Parses the backup CSV (header: `id`, then property names) into the chosen properties' values. */
async function* backedUpRecords(csv: Readable, properties: string[], objectType: ObjectType): AsyncGenerator<BackedUpRecord> {
  const parser = csv.pipe(parse({ relax_column_count: false, bom: true }));
  csv.once('error', (error) => parser.destroy(error));
  let columns: number[] | undefined;
  try {
    for await (const row of parser as AsyncIterable<string[]>) {
      if (!columns) {
        if (row[0] !== 'id') throw new ArchiveIntegrityError(`The backup's ${objectType.name} CSV does not start with an id column.`);
        columns = properties.map((name) => {
          const index = row.indexOf(name);
          if (index < 0) {
            throw new ValidationError(`"${name}" is not in this backup (the property was added after it was taken).`, { field: 'properties' });
          }
          return index;
        });
        continue;
      }
      const values: Record<string, string> = {};
      properties.forEach((name, i) => (values[name] = row[columns![i]!] ?? ''));
      yield { id: row[0]!, values };
    }
  } catch (error) {
    // A checksum failure surfaces through the parser: keep its own, clearer error.
    const cause = (error as { cause?: unknown }).cause;
    if (cause instanceof ArchiveIntegrityError) throw cause;
    // We wrote this CSV and its bytes decompressed: a row that does not parse is damage
    // the SHA-256 would catch at the end of the file, so say so now rather than fail with a 500.
    if (error instanceof CsvError) throw new ArchiveIntegrityError(`The backup's ${objectType.name} CSV is damaged: ${error.message}`, { cause: error });
    throw error;
  } finally {
    csv.destroy();
  }
  if (!columns) throw new ArchiveIntegrityError(`The backup's ${objectType.name} CSV is empty.`);
}

/** The chosen properties whose value today differs from the backed-up one. */
export function diff(current: CrmRecord, values: Record<string, string>): PlannedChange[] {
  const changes: PlannedChange[] = [];
  for (const [property, to] of Object.entries(values)) {
    const from = current.properties[property] ?? '';
    if (from !== to) changes.push({ property, from, to });
  }
  return changes;
}

/**
 * A plan as the API shows it: READY plans exactly as before statuses existed plus
 * `status`; PLANNING ones with `progress`; FAILED ones with `error`.
 */
export function toPlanView(plan: StoredPlan): RestorePlanView {
  const { accountId: _account, requestedBy: _by, segments: _segments, status, ...view } = plan;
  return { ...view, status: status ?? 'READY' };
}

function cut(value: string): string {
  return value.length > SAMPLE_VALUE_CHARS ? `${value.slice(0, SAMPLE_VALUE_CHARS)}…` : value;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export function describeProperties(properties: string[]): string {
  return properties.length === 1 ? `property ${properties[0]}` : `${properties.length} properties (${properties.join(', ')})`;
}
