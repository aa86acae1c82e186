import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { newComparison } from '#core/compare/comparison-start.ts';
import { advanceComparison } from '#core/compare/comparison-work.ts';
import type { CompareDeps } from '#core/compare/compare-deps.ts';
import type { CompareTuning } from '#core/compare/compare-policy.ts';
import type { ComparisonFigures, StoredComparison } from '#core/compare-model.ts';
import { ArchiveIntegrityError } from '#core/errors.ts';
import type { Backup } from '#core/model.ts';
import type { BlobStore } from '#core/ports/blob-store.ts';
import { systemClock } from '#core/ports/clock.ts';
import { timeOrderedIds } from '#core/ports/ids.ts';
import { readBackupManifest, type BackupManifestFile } from './verify-zip.ts';

/**
 * `crm-backup diff a.zip b.zip`: the service's comparison (lambdas/core/compare) run on
 * two downloaded backups, so the counts are the same as the API's. Memory stays flat the
 * same way: each CSV is streamed out of its zip (checked against the manifest's size and
 * SHA-256), cut into sorted runs in a temporary folder, and the runs are merged.
 */

/** One object type's outcome, as `diff --json` prints it. */
export interface TypeDifference extends ComparisonFigures {
  objectType: string;
  /** Records of the type in each backup, as their manifests count them. */
  records: { from: number; to: number };
}

export interface DiffReport {
  from: { file: string; backupId: string; accountId: string; completedAt: string };
  to: { file: string; backupId: string; accountId: string; completedAt: string };
  objectTypes: TypeDifference[];
  /** Where every difference went, when asked for (`--csv`, one object type). */
  csv?: { file: string; rows: number };
}

export interface DiffOptions {
  /** Only this object type (default: every type of either backup). */
  objectType?: string;
  /** Also write every difference (record id, kind, property, from, to) to this CSV; needs `objectType`. */
  csvFile?: string;
  /** Where the sorted runs go (default: a new folder under the system's temporary folder, removed after). */
  workDir?: string;
  /** Smaller runs for tests. */
  tuning?: CompareTuning;
}

/** A backup offline: what newComparison and the side reader need, from its manifest; the zip's path is its key. */
function offlineBackup(path: string, manifest: BackupManifestFile): Backup {
  return {
    id: manifest.backupId,
    accountId: manifest.accountId,
    status: 'SUCCEEDED',
    trigger: 'api',
    requestedBy: 'offline',
    createdAt: manifest.completedAt,
    completedAt: manifest.completedAt,
    // Offline files do not expire; the comparison's expiry is never looked at here.
    expiresAt: '9999-12-31T00:00:00.000Z',
    zipKey: path,
    objects: manifest.files.map((file) => ({ objectType: file.objectType, records: file.records, file: file.name, sha256: file.sha256, bytes: file.bytes })),
  };
}

/**
 * The blob store on this machine's disk: absolute keys are the zips given on the command
 * line (read only), relative ones the comparison's working files under `root`.
 */
class DiskBlobStore implements BlobStore {
  private readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  private path(key: string): string {
    return isAbsolute(key) ? key : join(this.root, key);
  }

  async upload(key: string, body: Readable): Promise<{ bytes: number }> {
    if (isAbsolute(key)) throw new Error(`diff never writes outside its working folder (${key})`);
    await mkdir(dirname(this.path(key)), { recursive: true });
    await pipeline(body, createWriteStream(this.path(key)));
    return { bytes: (await stat(this.path(key))).size };
  }

  async read(key: string, range?: { start: number; end: number }): Promise<Readable> {
    return createReadStream(this.path(key), range ? { start: range.start, end: range.end } : {});
  }

  async size(key: string): Promise<number | undefined> {
    return stat(this.path(key)).then(
      (found) => found.size,
      () => undefined,
    );
  }

  async presignDownload(): Promise<string> {
    throw new Error('diff has no downloads to sign');
  }

  async *listKeys(prefix: string): AsyncIterable<string> {
    const entries = await readdir(this.path(prefix), { recursive: true, withFileTypes: true }).catch(() => []);
    const keys = entries.filter((entry) => entry.isFile()).map((entry) => join(prefix, relative(this.path(prefix), join(entry.parentPath, entry.name))));
    yield* keys.sort();
  }

  async deletePrefix(prefix: string): Promise<void> {
    if (!isAbsolute(prefix)) await rm(this.path(prefix), { recursive: true, force: true });
  }
}

/** The one comparison diff is moving on, kept in memory (a checkpoint is a few numbers per run). */
function singleComparisonStore(): CompareDeps['comparisons'] {
  const kept = new Map<string, StoredComparison>();
  return {
    async createComparison(comparison) {
      if (!kept.has(comparison.id)) kept.set(comparison.id, comparison);
    },
    async getComparison(_accountId, id) {
      return kept.get(id);
    },
    async saveComparison(comparison, fromVersion) {
      const current = kept.get(comparison.id);
      if (!current || current.status !== 'COMPARING' || current.version !== fromVersion) return false;
      kept.set(comparison.id, comparison);
      return true;
    },
    async claimComparisonCheck() {
      return false;
    },
    async findLatest() {
      return undefined;
    },
    async setLatest() {
      return true;
    },
  };
}

/** Compares two downloaded backup zips, type by type ("from" = the first, "to" = the second). */
export async function diffBackupZips(fromFile: string, toFile: string, options: DiffOptions = {}): Promise<DiffReport> {
  const paths = [resolve(fromFile), resolve(toFile)] as const;
  const manifests = [await readBackupManifest(paths[0]), await readBackupManifest(paths[1])] as const;
  const [from, to] = [offlineBackup(paths[0], manifests[0]), offlineBackup(paths[1], manifests[1])];
  const known = [...new Set([...from.objects!, ...to.objects!].map((object) => object.objectType))].sort();
  if (options.objectType !== undefined && !known.includes(options.objectType)) {
    throw new DiffRefusedError(`"${options.objectType}" is not an object type of either backup (they hold ${known.join(', ') || 'none'}).`);
  }
  if (options.csvFile && options.objectType === undefined) throw new DiffRefusedError('--csv writes one object type\'s differences: name it with --object.');
  if (from.id === to.id) throw new DiffRefusedError(`Both files are backup ${from.id}: give two different backups.`);
  const types = options.objectType !== undefined ? [options.objectType] : known;

  const workDir = options.workDir ?? (await mkdtemp(join(tmpdir(), 'crm-backup-diff-')));
  const blobs = new DiskBlobStore(workDir);
  const deps = {
    backups: { getBackup: async (_accountId: string, backupId: string) => [from, to].find((backup) => backup.id === backupId) },
    blobs,
    sources: noLiveData,
    comparisons: singleComparisonStore(),
    zipAssembly: noAssembly,
    clock: systemClock,
    ids: timeOrderedIds(systemClock),
    config: { compareTuning: options.tuning },
  } satisfies Omit<CompareDeps, 'audit' | 'workflows'>;

  const report: DiffReport = {
    from: { file: paths[0], backupId: from.id, accountId: from.accountId, completedAt: from.completedAt! },
    to: { file: paths[1], backupId: to.id, accountId: to.accountId, completedAt: to.completedAt! },
    objectTypes: [],
  };
  try {
    for (const objectType of types) {
      let comparison = await newComparison({ accountId: from.accountId, requestedBy: 'offline' }, { backup: from, other: to }, objectType, deps, {
        ...(options.csvFile ? { exportRequested: true } : {}),
      });
      await deps.comparisons.createComparison(comparison);
      // No time limit here: one call reads both sides and merges them (a single export part).
      const step = await advanceComparison(comparison, deps, { keepGoing: () => true });
      comparison = step.comparison;
      // The only way an offline comparison fails: a CSV that does not match its manifest.
      if (comparison.status !== 'READY') throw new ArchiveIntegrityError(comparison.error ?? `The comparison of ${objectType} did not finish.`);
      const count = (backup: Backup) => backup.objects!.find((object) => object.objectType === objectType)?.records ?? 0;
      const { added, removed, changed, unchanged, perProperty, sample } = comparison;
      report.objectTypes.push({ objectType, records: { from: count(from), to: count(to) }, added, removed, changed, unchanged, perProperty, sample });
      if (options.csvFile && comparison.exportKey) {
        await mkdir(dirname(resolve(options.csvFile)), { recursive: true });
        await rename(join(workDir, comparison.exportKey), resolve(options.csvFile));
        report.csv = { file: resolve(options.csvFile), rows: comparison.export?.rows ?? 0 };
      }
    }
  } finally {
    if (!options.workDir) await rm(workDir, { recursive: true, force: true });
  }
  return report;
}

/** Two backups that cannot be compared as asked (a type neither has, the same backup twice). */
export class DiffRefusedError extends Error {
  override readonly name = 'DiffRefusedError';
}

/** Offline there is no today's data: only backups are compared. */
const noLiveData: CompareDeps['sources'] = {
  forAccount: () => Promise.reject(new Error('diff compares two backup files, never live data')),
};

/** With no time limit the differences CSV is written in one part: nothing to assemble. */
const noAssembly = new Proxy({} as CompareDeps['zipAssembly'], {
  get: () => () => Promise.reject(new Error('diff writes its differences CSV in one part')),
});
