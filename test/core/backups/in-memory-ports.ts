import { Readable } from 'node:stream';
import type { Account, Backup, BackupObject, BackupStatus, CrmRecord, ObjectType, Page } from '#core/model.ts';
import type { AuditEntry } from '#core/ports/audit-log.ts';
import type { BackupPatch, BackupRepository, BackupSchedule, QuotaClaim, StoredBackup } from '#core/ports/backup-repository.ts';
import type { BlobStore } from '#core/ports/blob-store.ts';
import type { Email } from '#core/ports/mailer.ts';
import type { ObjectTypeWithCount, SegmentPage } from '#core/ports/record-store.ts';
import type { BackupDeps } from '#core/backups/backup-deps.ts';
import { PartsZipTarget } from '../../support/parts-zip-target.ts';

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
  async read(key: string) {
    const data = this.objects.get(key);
    if (!data) throw Object.assign(new Error(`NoSuchKey ${key}`), { name: 'NoSuchKey' });
    return Readable.from([data]);
  }
  async size(key: string) {
    return this.objects.get(key)?.length;
  }
  async presignDownload(key: string, options: { expiresInSeconds: number; filename: string }) {
    return `memory://${key}?expires=${options.expiresInSeconds}&filename=${options.filename}`;
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

/** Records of one account spread over `segmentCount` segments, paged by `pageSize`. */
export class MemoryRecords {
  readonly segmentCount = 4;
  pageSize = 3;
  readonly accounts = new Map<string, Account>();
  readonly types = new Map<string, ObjectType>();
  readonly records = new Map<string, CrmRecord[]>();

  async getAccount(accountId: string) {
    return this.accounts.get(accountId);
  }
  async listObjectTypes(): Promise<ObjectTypeWithCount[]> {
    return [...this.types.values()].map((type) => ({ ...type, records: this.records.get(type.name)?.length ?? 0 }));
  }
  async getObjectType(_accountId: string, name: string): Promise<ObjectTypeWithCount | undefined> {
    const type = this.types.get(name);
    return type ? { ...type, records: this.records.get(name)?.length ?? 0 } : undefined;
  }
  async readSegmentPage(_accountId: string, objectType: string, segment: number, options: { limit: number; resumeAfter?: string }): Promise<SegmentPage> {
    const all = (this.records.get(objectType) ?? []).filter((_, index) => index % this.segmentCount === segment);
    const start = options.resumeAfter ? all.findIndex((record) => record.id === options.resumeAfter) + 1 : 0;
    const page = all.slice(start, start + Math.min(options.limit, this.pageSize));
    const more = start + page.length < all.length;
    return { records: page.map((record) => structuredClone(record)), ...(more ? { resumeAfter: page.at(-1)!.id } : {}) };
  }
}

export interface TestDeps extends BackupDeps {
  backups: MemoryBackups;
  blobs: MemoryBlobs;
  zipAssembly: MemoryZipTarget;
  records: MemoryRecords & BackupDeps['records'];
  sent: Email[];
  audited: AuditEntry[];
  started: Array<{ name: string; input: Record<string, unknown> }>;
  /** Business metrics the steps counted, in order. */
  counted: Array<{ metric: string; value: number }>;
  clock: { now(): Date; set(iso: string): void };
}

export function memoryDeps(now = '2026-11-26T10:00:00.000Z'): TestDeps {
  let time = Date.parse(now);
  let sequence = 0;
  const sent: Email[] = [];
  const audited: AuditEntry[] = [];
  const started: Array<{ name: string; input: Record<string, unknown> }> = [];
  const counted: Array<{ metric: string; value: number }> = [];
  const blobs = new MemoryBlobs();
  return {
    backups: new MemoryBackups(),
    blobs,
    zipAssembly: new MemoryZipTarget(blobs),
    records: new MemoryRecords() as MemoryRecords & BackupDeps['records'],
    audit: { append: async (entry) => void audited.push(entry), list: async () => ({ items: audited }) },
    mailer: { send: async (email) => void sent.push(email) },
    workflows: {
      start: async (_workflow, name, input) => void started.push({ name, input }),
      // Started executions run until a test says otherwise.
      describe: async (_workflow, name) => (started.some((execution) => execution.name === name) ? { status: 'RUNNING' } : undefined),
    },
    clock: { now: () => new Date(time), set: (iso) => void (time = Date.parse(iso)) },
    ids: { next: (prefix) => `${prefix}_${String(++sequence).padStart(6, '0')}` },
    config: { appUrl: 'https://app.example' },
    metrics: { add: (metric, value) => void counted.push({ metric, value }) },
    sent,
    audited,
    started,
    counted,
  };
}
