import { StepFailedError, TransientError } from '../errors.ts';
import type { BackupManifest, BackupObject, BackupRef } from '../model.ts';
import type { ZipAssemblyTarget } from '../ports/zip-assembly-target.ts';
import { assembleZip } from '../zip/assemble-zip.ts';
import { planZipAssembly, type SegmentedEntry, type ZipEntrySource } from '../zip/assembly-plan.ts';
import { ResumableSha256 } from '../zip/resumable-sha256.ts';
import type { BackupDeps } from './backup-deps.ts';
import { backupPrefix, csvFileName, partKey, partsPrefix, zipKey } from './backup-policy.ts';
import { readPartDigest } from './part-digests.ts';

/** What each export left behind, as the Map state collected it. */
export interface ExportSummary {
  objectType: string;
  records: number;
  parts: number;
}

export interface ZipBackupInput extends BackupRef {
  exports: ExportSummary[];
}

/** The ports the zip step uses: the parts' digests through the blob store, the archive through the assembly target. */
export type ZipBackupDeps = Pick<BackupDeps, 'backups' | 'blobs' | 'clock'> & { zipAssembly: ZipAssemblyTarget };

type ManifestFile = BackupManifest['files'][number];

/**
 * Zips the exported CSVs into the backup's one download.
 *
 * Primary course:
 *  1. Check the backup runs; if a previous attempt already stored the zip, stop there.
 *  2. Read each object type's part digests (small JSONs the export wrote): every part is
 *     a raw deflate segment with its CRC-32 and sizes, and the last digest carries the
 *     CSV's SHA-256 state, so the manifest's checksums and sizes are known up front.
 *  3. Plan the archive (lambdas/core/zip/assembly-plan.ts): one `<objectType>.csv` entry
 *     per type made of its segments in order, then `manifest.json` inline.
 *  4. Assemble it with one multipart upload: UploadPartCopy moves the big segments inside
 *     S3, only headers, descriptors, the directory and small pieces pass through here,
 *     so the step's time and memory do not grow with the backup's size.
 *  5. Record the zip key, its size and the manifest's files on the backup, then delete
 *     the part files (the zip now holds them).
 *
 * Alternate course: the backup FAILED while the zip was written: delete everything it
 * has in the bucket (the zip included) and stop.
 *
 * Object types without records get no file (PRODUCT.md, Backup 2).
 */
export async function zipBackup(input: ZipBackupInput, deps: ZipBackupDeps): Promise<BackupRef & { sizeBytes: number }> {
  try {
    return await writeZip(input, deps);
  } catch (error) {
    if (error instanceof TransientError || error instanceof StepFailedError) throw error;
    throw new StepFailedError('Zipping the exported files failed: an internal error occurred.', { cause: error });
  }
}

async function writeZip(input: ZipBackupInput, deps: ZipBackupDeps): Promise<BackupRef & { sizeBytes: number }> {
  const { accountId, backupId } = input;
  const backup = await deps.backups.getBackup(accountId, backupId);
  if (!backup || backup.status !== 'RUNNING') throw new StepFailedError(`Backup ${backupId} is no longer running.`);
  const key = zipKey(backup);
  if (backup.zipKey === key && backup.sizeBytes !== undefined && (await deps.blobs.size(key)) === backup.sizeBytes) {
    // A retry after the zip was stored: its parts may already be gone, so do not rebuild.
    await deps.blobs.deletePrefix(partsPrefix(accountId, backupId));
    return { accountId, backupId, sizeBytes: backup.sizeBytes };
  }

  const completedAt = deps.clock.now().toISOString();
  const date = new Date(completedAt);
  const files: ManifestFile[] = [];
  const sources: ZipEntrySource[] = [];
  for (const summary of input.exports) {
    if (summary.records === 0) continue;
    const entry = await segmentedEntry(deps, accountId, backupId, summary, date);
    files.push({ name: entry.name, objectType: summary.objectType, records: summary.records, bytes: entry.bytes, sha256: entry.sha256 });
    sources.push(entry);
  }
  const manifest: BackupManifest = { accountId, backupId, completedAt, files };
  sources.push({ name: 'manifest.json', modified: date, content: Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8') });
  const plan = planZipAssembly(sources);
  const { size: bytes } = await assembleZip(plan, key, deps.zipAssembly);

  const objects: BackupObject[] = input.exports.map((summary) => {
    const file = files.find((candidate) => candidate.objectType === summary.objectType);
    return file
      ? { objectType: summary.objectType, records: summary.records, file: file.name, bytes: file.bytes, sha256: file.sha256, status: 'EXPORTED' }
      : { objectType: summary.objectType, records: 0, status: 'EXPORTED' };
  });
  const stored = await deps.backups.updateBackup(accountId, backupId, { zipKey: key, sizeBytes: bytes, completedAt, objects }, ['RUNNING']);
  if (!stored) {
    // The backup failed while this ran (a timeout or stop: the invocation outlives its
    // execution), and the failure step's cleanup may have come and gone before the upload
    // completed: remove the zip rather than leave a FAILED backup's data in the bucket.
    const now = await deps.backups.getBackup(accountId, backupId);
    if (!now || now.status === 'FAILED') await deps.blobs.deletePrefix(backupPrefix(accountId, backupId));
    throw new StepFailedError(`Backup ${backupId} stopped running while it was being zipped.`);
  }
  await deps.blobs.deletePrefix(partsPrefix(accountId, backupId));
  return { accountId, backupId, sizeBytes: bytes };
}

/** One object type's parts as a ZIP entry of stored segments, with the CSV's size and SHA-256. */
async function segmentedEntry(
  deps: Pick<BackupDeps, 'blobs'>,
  accountId: string,
  backupId: string,
  summary: ExportSummary,
  modified: Date,
): Promise<SegmentedEntry & { bytes: number; sha256: string }> {
  const digests = await Promise.all(Array.from({ length: summary.parts }, (_, part) => readPartDigest(deps, accountId, backupId, summary.objectType, part)));
  const last = digests.at(-1);
  if (!last) throw new Error(`No parts for ${summary.objectType}`);
  return {
    name: csvFileName(summary.objectType),
    modified,
    segments: digests.map(({ crc32, uncompressedSize, compressedSize }, part) => ({
      key: partKey(accountId, backupId, summary.objectType, part),
      crc32,
      uncompressedSize,
      compressedSize,
    })),
    bytes: digests.reduce((sum, digest) => sum + digest.uncompressedSize, 0),
    sha256: ResumableSha256.resume(last.sha256State).digest(),
  };
}
