import { Readable } from 'node:stream';
import { LockLostError } from '#core/errors.ts';
import type { Account, Backup, BackupObject, BackupStatus, ChangeEvent, ChangeStamp, ChangeWindow, CrmRecord, ObjectType, Page } from '#core/model.ts';
import type { AuditEntry } from '#core/ports/audit-log.ts';
import type { BackupPatch, BackupRepository, BackupSchedule, QuotaClaim, StoredBackup } from '#core/ports/backup-repository.ts';
import type { BlobStore } from '#core/ports/blob-store.ts';
import type { Email } from '#core/ports/mailer.ts';
import type { ChangeWindowPage, ObjectTypeWithCount, RecordChange, RecordStore, SegmentPage, StampedRecord, UpdateOptions, UpdateOutcome } from '#core/ports/record-store.ts';
import type { LockAcquisition, RestoreLock, RestoreLockState } from '#core/ports/restore-lock.ts';
import type { ImportLog, RestorePatch, RestoreRepository } from '#core/ports/restore-repository.ts';
import type { ImportEntry, RestoreStatus, SegmentProgress, StoredPlan, StoredRestore } from '#core/restore-model.ts';
import type { BackupDeps } from '#core/backups/backup-deps.ts';
import type { RestoreDeps } from '#core/restores/restore-deps.ts';
import type { RestoreTuning } from '#core/restores/restore-policy.ts';
import type { EventPublisher } from '#core/ports/event-publisher.ts';
import { builtInSources } from '#core/sources/built-in-source.ts';
import type { ComparisonKey, StoredComparison } from '#core/compare-model.ts';
import type { AnomalyCheck, AnomalyEvent, StoredAlertSettings } from '#core/alert-model.ts';
import type { AlertDeps } from '#core/alerts/alert-deps.ts';
import type { AlertSettingsRepository } from '#core/ports/alert-settings-repository.ts';
import type { CompareDeps } from '#core/compare/compare-deps.ts';
import type { CompareTuning } from '#core/compare/compare-policy.ts';
import type { ComparisonRepository } from '#core/ports/comparison-repository.ts';
import { PartsZipTarget } from './parts-zip-target.ts';

/**
 * In-memory ports for core unit tests: just enough behaviour (conditional updates,
 * quota claims, segmented pages) to run the real use cases fast. End-to-end tests
 * use the real adapters against the stand-ins.
 */
export class MemoryBackups implements BackupRepository {
  readonly backups = new Map<string, StoredBackup>();
  readonly quota = new Map<string, { backupId: string; nextAllowedAt: string; claimedAt?: string }>();
  readonly schedules = new Map<string, BackupSchedule>();

  async getBackup(accountId: string, backupId: string) {
    const backup = this.backups.get(`${accountId}/${backupId}`);
    return backup ? structuredClone(backup) : undefined;
  }
  async listBackups(accountId: string): Promise<Page<StoredBackup>> {
    return { items: [...this.backups.values()].filter((backup) => backup.accountId === accountId).reverse() };
  }
  async createBackup(backup: Backup) {
    const key = `${backup.accountId}/${backup.id}`;
    if (!this.backups.has(key)) this.backups.set(key, structuredClone(backup));
  }
  async updateBackup(accountId: string, backupId: string, patch: BackupPatch, from: BackupStatus[]) {
    const backup = this.backups.get(`${accountId}/${backupId}`);
    if (!backup || !from.includes(backup.status)) return false;
    Object.assign(backup, structuredClone(patch));
    return true;
  }
  async claimNotification(accountId: string, backupId: string, claim: { status: BackupStatus; at: string; staleBefore: string }) {
    const backup = this.backups.get(`${accountId}/${backupId}`);
    if (!backup || backup.status !== claim.status || backup.notifiedAt || (backup.notifyingAt && backup.notifyingAt >= claim.staleBefore)) return false;
    backup.notifyingAt = claim.at;
    return true;
  }
  async setAnomalyCheck(accountId: string, backupId: string, check: AnomalyCheck, from: Array<AnomalyCheck['status'] | 'NONE'>) {
    const backup = this.backups.get(`${accountId}/${backupId}`);
    if (backup?.status !== 'SUCCEEDED' || !from.includes(backup.anomalyCheck?.status ?? 'NONE')) return false;
    backup.anomalyCheck = structuredClone(check);
    return true;
  }
  async setObjectProgress(accountId: string, backupId: string, object: BackupObject, order: number) {
    const backup = this.backups.get(`${accountId}/${backupId}`);
    if (!backup) return;
    backup.objects ??= [];
    backup.objects[order] = { ...object };
  }
  async claimQuota(accountId: string, claim: { backupId: string; now: string; nextAllowedAt: string; replacing?: string }): Promise<QuotaClaim> {
    const current = this.quota.get(accountId);
    if (current && current.nextAllowedAt > claim.now && current.backupId !== claim.replacing) {
      return { claimed: false, nextAllowedAt: current.nextAllowedAt, heldBy: { backupId: current.backupId, claimedAt: current.claimedAt ?? claim.now } };
    }
    this.quota.set(accountId, { backupId: claim.backupId, nextAllowedAt: claim.nextAllowedAt, claimedAt: claim.now });
    return { claimed: true };
  }
  async getQuota(accountId: string) {
    const current = this.quota.get(accountId);
    return current ? { backupId: current.backupId, claimedAt: current.claimedAt ?? current.nextAllowedAt, nextAllowedAt: current.nextAllowedAt } : undefined;
  }
  async refundQuota(accountId: string, backupId: string) {
    if (this.quota.get(accountId)?.backupId === backupId) this.quota.delete(accountId);
  }
  async getSchedule(accountId: string) {
    return this.schedules.get(accountId) ?? { accountId, enabled: false };
  }
  async putSchedule(schedule: BackupSchedule) {
    this.schedules.set(schedule.accountId, schedule);
  }
  async listEnabledSchedules() {
    return [...this.schedules.values()].filter((schedule) => schedule.enabled);
  }
}

export class MemoryBlobs implements BlobStore {
  readonly objects = new Map<string, Buffer>();
  async upload(key: string, body: Readable) {
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(Buffer.from(chunk as Buffer));
    const data = Buffer.concat(chunks);
    this.objects.set(key, data);
    return { bytes: data.length };
  }
  async read(key: string, range?: { start: number; end: number }) {
    const data = this.objects.get(key);
    if (!data) throw Object.assign(new Error(`NoSuchKey ${key}`), { name: 'NoSuchKey' });
    return Readable.from([range ? data.subarray(range.start, range.end + 1) : data]);
  }
  async size(key: string) {
    return this.objects.get(key)?.length;
  }
  async presignDownload(key: string, options: { expiresInSeconds: number; filename: string }) {
    return `memory://${key}?expires=${options.expiresInSeconds}&filename=${options.filename}`;
  }
  async *listKeys(prefix: string) {
    for (const key of [...this.objects.keys()].filter((key) => key.startsWith(prefix)).sort()) yield key;
  }
  async deletePrefix(prefix: string) {
    for (const key of [...this.objects.keys()]) if (key.startsWith(prefix)) this.objects.delete(key);
  }
}

/**
 * A ZipAssemblyTarget over MemoryBlobs: parts kept per upload until completed, copies
 * served from the stored objects. Counts what crossed the assembler (uploads, reads).
 */
export class MemoryZipTarget extends PartsZipTarget {
  readonly blobs: MemoryBlobs;

  constructor(blobs: MemoryBlobs) {
    // No part-size rule: core tests zip a few bytes.
    super(0);
    this.blobs = blobs;
  }

  protected async store(key: string, body: Buffer): Promise<void> {
    this.blobs.objects.set(key, body);
  }

  protected async range(key: string, start: number, length: number): Promise<Buffer> {
    const data = this.blobs.objects.get(key);
    if (!data) throw Object.assign(new Error(`NoSuchKey ${key}`), { name: 'NoSuchKey' });
    if (start + length > data.length) throw new Error(`Range beyond the end of ${key}`);
    return Buffer.from(data.subarray(start, start + length));
  }
}

/**
 * The CRM data plane of one account (account ids other than the seeded accounts' are
 * not told apart): records spread over `segmentCount` segments, paged by `pageSize`,
 * blanks absent as DynamoDB keeps them, conditional updates as the real adapter makes
 * them, each record's last change stamp, and change events keyed as the real adapter
 * keys them (record, time, id: storing one again keeps one).
 */
export class MemoryRecords implements RecordStore {
  readonly segmentCount = 4;
  pageSize = 3;
  readonly accounts = new Map<string, Account>();
  readonly types = new Map<string, ObjectType>();
  readonly records = new Map<string, CrmRecord[]>();
  /** The stamp of each record's last stamped change, by `<type>/<id>`. */
  readonly stamps = new Map<string, ChangeStamp>();
  readonly changeEvents: ChangeEvent[] = [];

  async getAccount(accountId: string) {
    return this.accounts.get(accountId);
  }
  async putAccount(account: Account) {
    this.accounts.set(account.id, account);
  }
  async listObjectTypes(): Promise<ObjectTypeWithCount[]> {
    return [...this.types.values()].map((type) => ({ ...type, records: this.records.get(type.name)?.length ?? 0 }));
  }
  async getObjectType(_accountId: string, name: string): Promise<ObjectTypeWithCount | undefined> {
    const type = this.types.get(name);
    return type ? { ...type, records: this.records.get(name)?.length ?? 0 } : undefined;
  }
  async putObjectType(_accountId: string, objectType: ObjectType) {
    this.types.set(objectType.name, objectType);
  }
  async listRecords(_accountId: string, objectType: string, options: { limit: number; cursor?: string }): Promise<Page<CrmRecord>> {
    const all = this.records.get(objectType) ?? [];
    const start = options.cursor ? Number(options.cursor) : 0;
    const more = start + options.limit < all.length;
    return { items: all.slice(start, start + options.limit).map((record) => structuredClone(record)), ...(more ? { nextCursor: String(start + options.limit) } : {}) };
  }
  async readSegmentPage(_accountId: string, objectType: string, segment: number, options: { limit: number; resumeAfter?: string }): Promise<SegmentPage> {
    const all = (this.records.get(objectType) ?? []).filter((_, index) => index % this.segmentCount === segment);
    const start = options.resumeAfter ? all.findIndex((record) => record.id === options.resumeAfter) + 1 : 0;
    const page = all.slice(start, start + Math.min(options.limit, this.pageSize));
    const more = start + page.length < all.length;
    return { records: page.map((record) => structuredClone(record)), ...(more ? { resumeAfter: page.at(-1)!.id } : {}) };
  }
  async getRecord(_accountId: string, objectType: string, recordId: string) {
    const record = this.find(objectType, recordId);
    return record ? structuredClone(record) : undefined;
  }
  async getRecords(accountId: string, objectType: string, recordIds: string[]) {
    const found = new Map<string, CrmRecord>();
    for (const id of recordIds) {
      const record = await this.getRecord(accountId, objectType, id);
      if (record) found.set(id, record);
    }
    return found;
  }
  async getStampedRecords(accountId: string, objectType: string, recordIds: string[], { properties }: { properties?: string[] } = {}) {
    const found = new Map<string, StampedRecord>();
    for (const [id, whole] of await this.getRecords(accountId, objectType, recordIds)) {
      const record = properties ? { id, properties: Object.fromEntries(Object.entries(whole.properties).filter(([name]) => properties.includes(name))) } : whole;
      const stamp = this.stamps.get(`${objectType}/${id}`);
      found.set(id, stamp ? { record, stamp: structuredClone(stamp) } : { record });
    }
    return found;
  }
  async putRecords(_accountId: string, objectType: string, records: CrmRecord[]) {
    const all = this.records.get(objectType) ?? [];
    for (const record of records) {
      const stored = { id: record.id, properties: withoutBlanks(record.properties) };
      const index = all.findIndex((candidate) => candidate.id === record.id);
      if (index < 0) all.push(stored);
      else all[index] = stored;
      this.stamps.delete(`${objectType}/${record.id}`);
    }
    this.records.set(objectType, all);
  }
  async updateRecord(_accountId: string, objectType: string, recordId: string, change: RecordChange, options: UpdateOptions = {}): Promise<UpdateOutcome> {
    const record = this.find(objectType, recordId);
    if (!record) return { status: 'MISSING' };
    const holds = (property: string, value: string) => (record.properties[property] ?? '') === value;
    const expected = Object.entries(options.expect ?? {}).every(([property, value]) => holds(property, value));
    const differs = Object.entries(change.set).some(([property, value]) => !holds(property, value));
    if (!expected || (options.onlyIfDifferent && !differs)) return { status: 'CONFLICT' };
    const before = structuredClone(record);
    record.properties = withoutBlanks({ ...record.properties, ...change.set });
    if (options.stamp) this.stamps.set(`${objectType}/${recordId}`, structuredClone(options.stamp));
    return { status: 'UPDATED', before, after: structuredClone(record) };
  }
  async deleteRecord(_accountId: string, objectType: string, recordId: string) {
    const all = this.records.get(objectType) ?? [];
    const index = all.findIndex((record) => record.id === recordId);
    this.stamps.delete(`${objectType}/${recordId}`);
    return index < 0 ? undefined : all.splice(index, 1)[0];
  }
  async appendChangeEvents(events: ChangeEvent[]) {
    for (const event of structuredClone(events)) {
      const index = this.changeEvents.findIndex((stored) => stored.accountId === event.accountId && stored.recordId === event.recordId && stored.occurredAt === event.occurredAt && stored.id === event.id);
      if (index < 0) this.changeEvents.push(event);
      else this.changeEvents[index] = event;
    }
  }
  async listChangeEvents(accountId: string, options: { recordId?: string; limit: number }): Promise<Page<ChangeEvent>> {
    const events = this.changeEvents.filter((event) => event.accountId === accountId && (options.recordId === undefined || event.recordId === options.recordId));
    return { items: events.reverse().slice(0, options.limit) };
  }

  readonly changePartitions = 1;
  async readChangeWindow(accountId: string, window: ChangeWindow, _partition: number, options: { limit: number; resumeAfter?: string }): Promise<ChangeWindowPage> {
    const key = (event: ChangeEvent) => `${event.occurredAt}#${event.id}`;
    const inWindow = this.changeEvents
      .filter((event) => event.accountId === accountId && event.occurredAt >= window.from && event.occurredAt <= window.to)
      .sort((a, b) => (key(a) < key(b) ? -1 : 1));
    const start = options.resumeAfter ? inWindow.findIndex((event) => key(event) === options.resumeAfter) + 1 : 0;
    const page = inWindow.slice(start, start + options.limit);
    const events = page.filter(
      (event) =>
        event.kind === 'UPDATED' &&
        event.objectType === window.objectType &&
        (window.actor === undefined || event.actor === window.actor) &&
        (window.source === undefined || event.source === window.source),
    );
    return { events: structuredClone(events), ...(start + page.length < inWindow.length ? { resumeAfter: key(page.at(-1)!) } : {}) };
  }

  private find(objectType: string, recordId: string): CrmRecord | undefined {
    return this.records.get(objectType)?.find((record) => record.id === recordId);
  }
}

function withoutBlanks(properties: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(properties).filter(([, value]) => value !== ''));
}

/** Plans, restores, their segment progress and the import log, with the real adapter's conditions. */
export class MemoryRestores implements RestoreRepository, ImportLog {
  readonly plans = new Map<string, StoredPlan & { planCheckedAt?: string }>();
  readonly restores = new Map<string, StoredRestore>();
  readonly progress = new Map<string, SegmentProgress>();
  readonly imports = new Map<string, ImportEntry>();

  async putPlan(plan: StoredPlan) {
    this.plans.set(`${plan.accountId}/${plan.id}`, structuredClone(plan));
  }
  async getPlan(accountId: string, planId: string) {
    const plan = this.plans.get(`${accountId}/${planId}`);
    if (!plan) return undefined;
    const { planCheckedAt: _checked, ...stored } = structuredClone(plan);
    return stored;
  }
  async savePlan(plan: StoredPlan, fromRecords?: number) {
    const current = this.plans.get(`${plan.accountId}/${plan.id}`);
    if (current?.status !== 'PLANNING' || (fromRecords !== undefined && current.recordsInBackup !== fromRecords)) return false;
    await this.putPlan(plan);
    return true;
  }
  async claimPlanCheck(accountId: string, planId: string, at: string, staleBefore: string) {
    const plan = this.plans.get(`${accountId}/${planId}`);
    if (plan?.status !== 'PLANNING' || (plan.planCheckedAt !== undefined && plan.planCheckedAt >= staleBefore)) return false;
    plan.planCheckedAt = at;
    return true;
  }
  async createRestore(restore: StoredRestore) {
    const key = `${restore.accountId}/${restore.id}`;
    if (!this.restores.has(key)) this.restores.set(key, structuredClone(restore));
  }
  async getRestore(accountId: string, restoreId: string) {
    const restore = this.restores.get(`${accountId}/${restoreId}`);
    return restore ? structuredClone(restore) : undefined;
  }
  async listRestores(accountId: string): Promise<Page<StoredRestore>> {
    return { items: [...this.restores.values()].filter((restore) => restore.accountId === accountId).reverse().map((restore) => structuredClone(restore)) };
  }
  async updateRestore(accountId: string, restoreId: string, patch: RestorePatch, fromStatuses: RestoreStatus[]) {
    const restore = this.restores.get(`${accountId}/${restoreId}`);
    if (!restore || !fromStatuses.includes(restore.status)) return false;
    Object.assign(restore, structuredClone(patch));
    return true;
  }
  async claimNotification(accountId: string, restoreId: string, at: string) {
    const restore = this.restores.get(`${accountId}/${restoreId}`);
    if (!restore || restore.notifiedAt) return false;
    restore.notifiedAt = at;
    return true;
  }
  async getSegmentProgress(accountId: string, restoreId: string, segment: number) {
    const progress = this.progress.get(`${accountId}/${restoreId}/${segment}`);
    return progress ? structuredClone(progress) : undefined;
  }
  async saveSegmentProgress(accountId: string, restoreId: string, segment: number, progress: SegmentProgress, fromIndex: number) {
    const key = `${accountId}/${restoreId}/${segment}`;
    const current = this.progress.get(key);
    if ((current?.cursor.index ?? 0) !== fromIndex) return false;
    this.progress.set(key, structuredClone(progress));
    return true;
  }
  async listSegmentProgress(accountId: string, restoreId: string) {
    return [...this.progress.entries()].filter(([key]) => key.startsWith(`${accountId}/${restoreId}/`)).map(([, progress]) => structuredClone(progress));
  }
  async put(entry: ImportEntry) {
    this.imports.set(`${entry.accountId}/${entry.id}`, structuredClone(entry));
  }
  async list(accountId: string): Promise<Page<ImportEntry>> {
    return { items: [...this.imports.values()].filter((entry) => entry.accountId === accountId).reverse() };
  }
}

/** Comparisons and the latest-comparison pointers, with the real adapter's conditions. */
export class MemoryComparisons implements ComparisonRepository {
  readonly comparisons = new Map<string, StoredComparison & { checkedAt?: string }>();
  readonly latest = new Map<string, string>();
  /** Checkpoints written (tests count them). */
  saves = 0;

  async createComparison(comparison: StoredComparison) {
    const key = `${comparison.accountId}/${comparison.id}`;
    if (!this.comparisons.has(key)) this.comparisons.set(key, structuredClone(comparison));
  }
  async getComparison(accountId: string, comparisonId: string) {
    const comparison = this.comparisons.get(`${accountId}/${comparisonId}`);
    if (!comparison) return undefined;
    const { checkedAt: _checked, ...stored } = structuredClone(comparison);
    return stored;
  }
  async saveComparison(comparison: StoredComparison, fromVersion: number) {
    const current = this.comparisons.get(`${comparison.accountId}/${comparison.id}`);
    if (current?.status !== 'COMPARING' || current.version !== fromVersion) return false;
    this.saves += 1;
    this.comparisons.set(`${comparison.accountId}/${comparison.id}`, structuredClone(comparison));
    return true;
  }
  async claimComparisonCheck(accountId: string, comparisonId: string, at: string, staleBefore: string) {
    const comparison = this.comparisons.get(`${accountId}/${comparisonId}`);
    if (comparison?.status !== 'COMPARING' || (comparison.checkedAt !== undefined && comparison.checkedAt >= staleBefore)) return false;
    comparison.checkedAt = at;
    return true;
  }
  async findLatest(accountId: string, key: ComparisonKey) {
    return this.latest.get(latestKey(accountId, key));
  }
  async setLatest(accountId: string, key: ComparisonKey, comparisonId: string, replacing: string | undefined) {
    if (this.latest.get(latestKey(accountId, key)) !== replacing) return false;
    this.latest.set(latestKey(accountId, key), comparisonId);
    return true;
  }
}

function latestKey(accountId: string, key: ComparisonKey): string {
  return `${accountId}/${key.backupId}/${key.with}/${key.objectType}`;
}

/** The account's restore lock with a lease and a version, as the real adapter keeps it. */
export class MemoryRestoreLock implements RestoreLock {
  readonly locks = new Map<string, RestoreLockState>();

  async acquire(accountId: string, holder: string, lease: { now: number; durationMs: number }): Promise<LockAcquisition> {
    const current = this.locks.get(accountId);
    if (current && current.leaseExpiresAt >= lease.now && current.holder !== holder) {
      return { acquired: false, holder: current.holder, leaseExpiresAt: current.leaseExpiresAt };
    }
    const version = (current?.version ?? 0) + 1;
    this.locks.set(accountId, { holder, leaseExpiresAt: lease.now + lease.durationMs, version });
    return { acquired: true, version };
  }
  async renew(accountId: string, holder: string, lease: { now: number; durationMs: number }) {
    const current = this.locks.get(accountId);
    if (current?.holder !== holder) throw new LockLostError('The restore lost its lock (its lease ended and the lock was taken or released), so it stopped writing.');
    this.locks.set(accountId, { holder, leaseExpiresAt: lease.now + lease.durationMs, version: current.version + 1 });
  }
  async release(accountId: string, holder: string) {
    if (this.locks.get(accountId)?.holder !== holder) return false;
    this.locks.delete(accountId);
    return true;
  }
  async get(accountId: string) {
    return this.locks.get(accountId);
  }
}

export interface TestDeps extends BackupDeps, RestoreDeps, CompareDeps, AlertDeps {
  backups: MemoryBackups;
  blobs: MemoryBlobs;
  zipAssembly: MemoryZipTarget;
  records: MemoryRecords;
  restores: MemoryRestores;
  imports: MemoryRestores;
  lock: MemoryRestoreLock;
  /** Where the built-in source publishes the change events it stores. */
  events: EventPublisher;
  comparisons: MemoryComparisons;
  sent: Email[];
  audited: AuditEntry[];
  published: ChangeEvent[];
  anomalies: AnomalyEvent[];
  alertSettings: MemoryAlertSettings;
  started: Array<{ name: string; input: Record<string, unknown> }>;
  /** Business metrics the steps counted, in order. */
  counted: Array<{ metric: string; value: number }>;
  clock: { now(): Date; set(iso: string): void };
  config: { appUrl: string; restoreTuning: RestoreTuning; compareTuning: CompareTuning };
}

export function memoryDeps(now = '2026-11-26T10:00:00.000Z'): TestDeps {
  let time = Date.parse(now);
  let sequence = 0;
  const sent: Email[] = [];
  const audited: AuditEntry[] = [];
  const published: ChangeEvent[] = [];
  const anomalies: AnomalyEvent[] = [];
  const started: Array<{ name: string; input: Record<string, unknown> }> = [];
  const counted: Array<{ metric: string; value: number }> = [];
  const blobs = new MemoryBlobs();
  const restores = new MemoryRestores();
  const records = new MemoryRecords();
  const events: EventPublisher = { publish: async (batch) => void published.push(...batch), publishAnomaly: async (event) => void anomalies.push(event) };
  const clock = { now: () => new Date(time), set: (iso: string) => void (time = Date.parse(iso)) };
  const ids = { next: (prefix: string) => `${prefix}_${String(++sequence).padStart(6, '0')}` };
  return {
    backups: new MemoryBackups(),
    blobs,
    zipAssembly: new MemoryZipTarget(blobs),
    records,
    sources: builtInSources({ records, events, clock }),
    restores,
    imports: restores,
    lock: new MemoryRestoreLock(),
    comparisons: new MemoryComparisons(),
    audit: { append: async (entry) => void audited.push(entry), list: async () => ({ items: audited }) },
    mailer: { send: async (email) => void sent.push(email) },
    events,
    workflows: {
      start: async (_workflow, name, input) => void started.push({ name, input }),
      // Started executions run until a test says otherwise.
      describe: async (_workflow, name) => (started.some((execution) => execution.name === name) ? { status: 'RUNNING' } : undefined),
    },
    clock,
    ids,
    config: { appUrl: 'https://app.example', restoreTuning: {}, compareTuning: {} },
    alertSettings: new MemoryAlertSettings(),
    directory: { superAdminEmails: async (accountId) => (accountId === 'acme' ? ['admin@acme.example', 'sso-admin@acme.example'] : []) },
    metrics: { add: (metric, value) => void counted.push({ metric, value }) },
    sent,
    audited,
    published,
    anomalies,
    started,
    counted,
  };
}

/** Alert thresholds per account. */
export class MemoryAlertSettings implements AlertSettingsRepository {
  readonly settings = new Map<string, StoredAlertSettings>();
  async getAlertSettings(accountId: string) {
    return structuredClone(this.settings.get(accountId));
  }
  async putAlertSettings(settings: StoredAlertSettings) {
    this.settings.set(settings.accountId, structuredClone(settings));
  }
}
