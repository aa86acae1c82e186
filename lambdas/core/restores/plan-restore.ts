import { Readable } from 'node:stream';
import { CsvError, parse } from 'csv-parse';
import type { Caller } from '../caller.ts';
import { requireSuperAdmin } from '../caller.ts';
import { ArchiveIntegrityError, ConflictError, GoneError, NotFoundError, ValidationError } from '../errors.ts';
import { isRestorable, isRestorableProperty, type Backup, type CrmRecord, type ObjectType } from '../model.ts';
import type { AuditLog } from '../ports/audit-log.ts';
import type { BlobStore } from '../ports/blob-store.ts';
import type { Clock } from '../ports/clock.ts';
import type { IdGenerator } from '../ports/ids.ts';
import type { RecordStore } from '../ports/record-store.ts';
import type { RestoreRepository } from '../ports/restore-repository.ts';
import {
  PLAN_LIFETIME_HOURS,
  planSegmentKey,
  type PlannedChange,
  type PlanSegment,
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
}

export interface PlanRestoreDeps {
  backups: { getBackup(accountId: string, backupId: string): Promise<Backup | undefined> };
  blobs: BlobStore;
  records: RecordStore;
  restores: RestoreRepository;
  audit: AuditLog;
  clock: Clock;
  ids: IdGenerator;
  config: { restoreTuning?: RestoreTuning };
}

export interface PlanRequest {
  objectType: string;
  properties: string[];
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
 *  5. Store the plan (counts, sample, segments) and audit it.
 * Alternate course: a damaged archive deletes the segment files written so far and
 * stores no plan.
 */
export async function planRestore(caller: Caller, backupId: string, request: PlanRequest, deps: PlanRestoreDeps): Promise<RestorePlanView> {
  requireSuperAdmin(caller);
  const backup = await requireRestorableBackup(caller.accountId, backupId, deps);
  const objectType = await requireRestorableSelection(caller.accountId, request, deps.records);
  const backupObject = backup.objects?.find((object) => object.objectType === objectType.name);
  if (!backupObject?.file || !backupObject.sha256 || backupObject.bytes === undefined || !backup.zipKey) {
    throw new ValidationError(`This backup holds no ${objectType.pluralLabel.toLowerCase()} to restore.`, { field: 'objectType' });
  }

  const planId = deps.ids.next('pl');
  const now = deps.clock.now();
  const segmentRecords = deps.config.restoreTuning?.segmentRecords ?? DEFAULT_SEGMENT_RECORDS;
  let tally: Tally;
  try {
    const csv = await openVerifiedZipEntry(deps.blobs, backup.zipKey, {
      name: backupObject.file,
      bytes: backupObject.bytes,
      sha256: backupObject.sha256,
    });
    tally = await compareWithToday(caller.accountId, objectType, request.properties, csv, segmentRecords, planId, deps);
  } catch (error) {
    await deps.blobs.deletePrefix(`plans/${caller.accountId}/${planId}/`).catch(() => undefined);
    if (error instanceof ArchiveIntegrityError) {
      // The download people hold and the restore source must be the same bytes: refuse, plainly.
      throw new ConflictError('BACKUP_DAMAGED', `${error.message} Nothing was planned or changed; restore from another backup.`);
    }
    throw error;
  }

  const plan: StoredPlan = {
    id: planId,
    accountId: caller.accountId,
    backupId: backup.id,
    objectType: objectType.name,
    properties: request.properties,
    recordsInBackup: tally.records,
    recordsToChange: tally.toChange,
    recordsUnchanged: tally.unchanged,
    recordsMissing: tally.missing,
    perProperty: request.properties.map((name) => ({ name, toChange: tally.perProperty.get(name)!.toChange, toClear: tally.perProperty.get(name)!.toClear })),
    sample: tally.sample,
    createdAt: now.toISOString(),
    expiresAt: new Date(Math.min(now.getTime() + PLAN_LIFETIME_HOURS * 3_600_000, Date.parse(backup.expiresAt!))).toISOString(),
    requestedBy: caller.email || caller.userId,
    segments: tally.segments,
  };
  await deps.restores.putPlan(plan);
  await deps.audit.append({
    id: deps.ids.next('au'),
    accountId: caller.accountId,
    action: 'RESTORE_PLANNED',
    actor: plan.requestedBy,
    resourceId: plan.id,
    occurredAt: plan.createdAt,
    summary: `Planned a restore of ${describeProperties(plan.properties)} of ${objectType.pluralLabel.toLowerCase()} from backup ${backup.id}: ${plan.recordsToChange} of ${plan.recordsInBackup} records would change.`,
    details: { backupId: backup.id, objectType: plan.objectType, properties: plan.properties },
  });
  return toPlanView(plan);
}

/** The plan again, or 404; 410 once it expired (a plan previews data that moves on). */
export async function getRestorePlan(caller: Caller, planId: string, deps: Pick<PlanRestoreDeps, 'restores' | 'clock'>): Promise<RestorePlanView> {
  requireSuperAdmin(caller);
  return toPlanView(await requireLivePlan(caller.accountId, planId, deps));
}

/** Loads a plan that can still be executed. */
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

interface Tally {
  records: number;
  toChange: number;
  unchanged: number;
  missing: number;
  perProperty: Map<string, { toChange: number; toClear: number }>;
  sample: RestorePlanView['sample'];
  segments: PlanSegment[];
}

/** Streams the CSV once: counts against today's records and writes the segment files. */
async function compareWithToday(
  accountId: string,
  objectType: ObjectType,
  properties: string[],
  csv: Readable,
  segmentRecords: number,
  planId: string,
  deps: PlanRestoreDeps,
): Promise<Tally> {
  const tally: Tally = {
    records: 0,
    toChange: 0,
    unchanged: 0,
    missing: 0,
    perProperty: new Map(properties.map((name) => [name, { toChange: 0, toClear: 0 }])),
    sample: [],
    segments: [],
  };
  let sampleBytes = 0;
  let segmentLines: string[] = [];
  let segmentBytes = 0;
  const flushSegment = async () => {
    if (segmentLines.length === 0) return;
    const key = planSegmentKey(accountId, planId, tally.segments.length);
    tally.segments.push({ records: segmentLines.length, bytes: segmentBytes });
    const body = Readable.from([segmentLines.join('')]);
    segmentLines = [];
    segmentBytes = 0;
    await deps.blobs.upload(key, body, { contentType: 'application/x-ndjson' });
  };

  const compare = async (rows: BackedUpRecord[], today: Map<string, CrmRecord>) => {
    for (const row of rows) {
      tally.records += 1;
      const line = `${JSON.stringify({ id: row.id, values: row.values })}\n`;
      segmentLines.push(line);
      segmentBytes += Buffer.byteLength(line);
      const current = today.get(row.id);
      if (!current) {
        tally.missing += 1;
      } else {
        const changes = diff(current, row.values);
        if (changes.length === 0) tally.unchanged += 1;
        else {
          tally.toChange += 1;
          for (const change of changes) {
            const counter = tally.perProperty.get(change.property)!;
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
    const today = deps.records.getRecords(accountId, objectType.name, rows.map((row) => row.id));
    today.catch(() => undefined); // awaited below; avoids an unhandled rejection meanwhile
    inFlight.push({ rows, today });
  };
  let batch: BackedUpRecord[] = [];
  for await (const row of backedUpRecords(csv, properties, objectType)) {
    batch.push(row);
    if (batch.length < LOOKUP_BATCH) continue;
    lookUp(batch);
    batch = [];
    if (inFlight.length >= LOOKUPS_IN_FLIGHT) {
      const next = inFlight.shift()!;
      await compare(next.rows, await next.today);
    }
  }
  if (batch.length) lookUp(batch);
  for (const next of inFlight.splice(0)) await compare(next.rows, await next.today);
  await flushSegment();
  return tally;
}

export interface BackedUpRecord {
  id: string;
  /** The backed-up value of each chosen property ("" = blank). */
  values: Record<string, string>;
}

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

export function toPlanView(plan: StoredPlan): RestorePlanView {
  const { accountId: _account, requestedBy: _by, segments: _segments, ...view } = plan;
  return view;
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
