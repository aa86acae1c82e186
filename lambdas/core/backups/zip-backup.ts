import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { ZipArchive } from 'archiver';
import { StepFailedError, TransientError } from '../errors.ts';
import type { BackupManifest, BackupObject } from '../model.ts';
import type { BackupDeps } from './backup-deps.ts';
import { backupPrefix, csvFileName, partKey, partsPrefix, zipKey } from './backup-policy.ts';
import type { BackupRef } from './list-backup-objects.ts';

/** What each export left behind, as the Map state collected it. */
export interface ExportSummary {
  objectType: string;
  records: number;
  parts: number;
}

export interface ZipBackupInput extends BackupRef {
  exports: ExportSummary[];
}

/** Deflate level 6: zip's usual trade (STACK.md measured ~4:1 on CRM CSVs). */
const ZIP_LEVEL = 6;

type ManifestFile = BackupManifest['files'][number];

/**
 * Zips the exported CSVs into the backup's one download.
 *
 * Primary course:
 *  1. Check the backup runs; if a previous attempt already stored the zip, stop there.
 *  2. Stream each object type's part files, in order, as one `<objectType>.csv` entry
 *     into archiver, hashing (SHA-256) and counting bytes as they pass.
 *  3. Add `manifest.json` last: by then every file's checksum is known.
 *  4. The archive streams into one multipart upload: no file is ever held in memory.
 *  5. Record the zip key, its size and the manifest's files on the backup, then delete
 *     the part files (the zip now holds them).
 *
 * Alternate course: the backup FAILED while the zip was written: delete everything it
 * has in the bucket (the zip included) and stop.
 *
 * Object types without records get no file (PRODUCT.md, Backup 2).
 */
export async function zipBackup(input: ZipBackupInput, deps: Pick<BackupDeps, 'backups' | 'blobs' | 'clock'>): Promise<BackupRef & { sizeBytes: number }> {
  try {
    return await writeZip(input, deps);
  } catch (error) {
    if (error instanceof TransientError || error instanceof StepFailedError) throw error;
    throw new StepFailedError('Zipping the exported files failed: an internal error occurred.', { cause: error });
  }
}

async function writeZip(input: ZipBackupInput, deps: Pick<BackupDeps, 'backups' | 'blobs' | 'clock'>): Promise<BackupRef & { sizeBytes: number }> {
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
  const hashed: Array<Promise<void>> = [];
  const archive = new ZipArchive({ zlib: { level: ZIP_LEVEL } });
  // archiver waits forever on an entry whose source errors; instead a failed read
  // destroys the archive, which fails the upload (and aborts the multipart upload).
  const fail = (error: unknown) => archive.destroy(error instanceof Error ? error : new Error(String(error)));
  for (const summary of input.exports) {
    if (summary.records === 0) continue;
    const file: ManifestFile = { name: csvFileName(summary.objectType), objectType: summary.objectType, records: summary.records, bytes: 0, sha256: '' };
    files.push(file);
    const entry = Readable.from(streamParts(deps, accountId, backupId, summary, file, fail));
    hashed.push(new Promise((resolve) => entry.once('end', resolve)));
    archive.append(entry, { name: file.name, date });
  }
  // archiver may open the manifest's stream before earlier entries have ended; the
  // manifest waits until every file's checksum is known.
  const manifest = async function* () {
    await Promise.all(hashed);
    const content: BackupManifest = { accountId, backupId, completedAt, files };
    yield Buffer.from(`${JSON.stringify(content, null, 2)}\n`, 'utf8');
  };
  archive.append(Readable.from(manifest()), { name: 'manifest.json', date });
  const finalized = archive.finalize();
  finalized.catch(() => undefined); // the upload reports the same error
  const { bytes } = await deps.blobs.upload(key, archive, { contentType: 'application/zip' });
  await finalized;

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

/** One object type's parts, concatenated, with the file's checksum and size filled in at the end. */
async function* streamParts(
  deps: Pick<BackupDeps, 'blobs'>,
  accountId: string,
  backupId: string,
  summary: ExportSummary,
  file: ManifestFile,
  fail: (error: unknown) => void,
): AsyncGenerator<Buffer> {
  const hash = createHash('sha256');
  try {
    for (let part = 0; part < summary.parts; part += 1) {
      const key = partKey(accountId, backupId, summary.objectType, part);
      for await (const chunk of await deps.blobs.read(key)) {
        const buffer = chunk as Buffer;
        hash.update(buffer);
        file.bytes += buffer.length;
        yield buffer;
      }
    }
  } catch (error) {
    fail(error);
    return;
  }
  file.sha256 = hash.digest('hex');
}
