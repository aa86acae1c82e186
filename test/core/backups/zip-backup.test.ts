import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { recordBackupFailure } from '#core/backups/backup-failure.ts';
import { zipBackup } from '#core/backups/zip-backup.ts';
import type { BackupManifest } from '#core/model.ts';
import { ResumableSha256 } from '#core/zip/resumable-sha256.ts';
import { deflateSegmentSync } from '#core/zip/segment-deflate.ts';
import { unzipEntries } from '../../support/zip-entries.ts';
import { memoryDeps } from '../../support/in-memory-ports.ts';

function setUp() {
  const deps = memoryDeps('2026-11-26T10:00:00.000Z');
  deps.backups.backups.set('acme/bk_1', { id: 'bk_1', accountId: 'acme', status: 'RUNNING', trigger: 'api', requestedBy: 'a@x', createdAt: '2026-11-26T09:00:00.000Z', objects: [] });
  // What the export writes: each part a raw deflate segment, next to its digest.
  const hashes = new Map<string, ResumableSha256>();
  const put = (type: string, part: number, text: string) => {
    const sha = hashes.get(type) ?? new ResumableSha256();
    hashes.set(type, sha.update(text));
    const { data, ...digest } = deflateSegmentSync(Buffer.from(text), { level: 5, final: false });
    const key = `backups/acme/bk_1/parts/${type}/${String(part).padStart(5, '0')}`;
    deps.blobs.objects.set(`${key}.csv`, data);
    const propertyNames = part === 0 ? { propertyNames: text.trim().split(',').slice(1) } : {};
    deps.blobs.objects.set(`${key}.json`, Buffer.from(JSON.stringify({ ...digest, sha256State: sha.save(), ...propertyNames })));
  };
  put('contacts', 0, 'id,name\r\n');
  put('contacts', 1, '1,Ana\r\n2,"Smith, J"\r\n');
  put('contacts', 2, '3,🚀\r\n');
  put('tickets', 0, 'id,subject\r\n');
  put('tickets', 1, '');
  return deps;
}

const input = {
  accountId: 'acme',
  backupId: 'bk_1',
  exports: [
    { objectType: 'contacts', records: 3, parts: 3 },
    { objectType: 'tickets', records: 0, parts: 2 },
  ],
};

describe('zipBackup', () => {
  it('joins each type’s parts into one CSV, skips empty types, and ends with a manifest that verifies', async () => {
    const deps = setUp();
    const result = await zipBackup(input, deps);
    const zipKey = 'backups/acme/bk_1/crm-backup-acme-2026-11-26.zip';
    const zip = deps.blobs.objects.get(zipKey)!;
    expect(result.sizeBytes).toBe(zip.length);
    const files = await unzipEntries(zip);
    expect([...files.keys()]).toEqual(['contacts.csv', 'manifest.json']);
    const csv = files.get('contacts.csv')!;
    expect(csv.toString('utf8')).toBe('id,name\r\n1,Ana\r\n2,"Smith, J"\r\n3,🚀\r\n');
    const manifest = JSON.parse(files.get('manifest.json')!.toString('utf8')) as BackupManifest;
    expect(manifest).toEqual({
      accountId: 'acme',
      backupId: 'bk_1',
      completedAt: '2026-11-26T10:00:00.000Z',
      files: [{ name: 'contacts.csv', objectType: 'contacts', records: 3, bytes: csv.length, sha256: createHash('sha256').update(csv).digest('hex') }],
    });
    const stored = deps.backups.backups.get('acme/bk_1')!;
    expect(stored).toMatchObject({ zipKey, sizeBytes: zip.length, completedAt: manifest.completedAt });
    expect(stored.objects).toEqual([
      { objectType: 'contacts', records: 3, file: 'contacts.csv', bytes: csv.length, sha256: manifest.files[0]!.sha256, status: 'EXPORTED' },
      { objectType: 'tickets', records: 0, status: 'EXPORTED' },
    ]);
    expect([...deps.blobs.objects.keys()]).toEqual([zipKey]);
  });

  it('is safe to retry after it finished (the parts are gone by then)', async () => {
    const deps = setUp();
    const first = await zipBackup(input, deps);
    deps.clock.set('2026-11-26T10:01:00.000Z');
    const again = await zipBackup(input, deps);
    expect(again).toEqual(first);
    expect(deps.backups.backups.get('acme/bk_1')!.completedAt).toBe('2026-11-26T10:00:00.000Z');
  });

  it('fails readably when a part is missing', async () => {
    const deps = setUp();
    deps.blobs.objects.delete('backups/acme/bk_1/parts/contacts/00002.csv');
    await expect(zipBackup(input, deps)).rejects.toMatchObject({ name: 'StepFailedError', message: 'Zipping the exported files failed: an internal error occurred.' });
  });
});

describe('zipBackup after the backup failed meanwhile', () => {
  it('deletes the zip it just wrote and fails, so that a FAILED backup keeps no files', async () => {
    const deps = setUp();
    const complete = deps.zipAssembly.completeUpload.bind(deps.zipAssembly);
    // The execution timed out while the zip was assembled; the status-change rule failed the
    // backup and deleted its prefix before this (still running) invocation finished.
    // A multipart upload's object only appears when it completes: after that cleanup.
    deps.zipAssembly.completeUpload = async (...args: Parameters<typeof complete>) => {
      await recordBackupFailure({ accountId: 'acme', backupId: 'bk_1', reason: 'The backup took longer than the time allowed and was stopped.' }, deps);
      return complete(...args);
    };
    await expect(zipBackup(input, deps)).rejects.toMatchObject({ name: 'StepFailedError' });
    expect([...deps.blobs.objects.keys()].filter((key) => key.startsWith('backups/acme/bk_1/'))).toEqual([]);
    expect(deps.backups.backups.get('acme/bk_1')).toMatchObject({ status: 'FAILED' });
    expect(deps.backups.backups.get('acme/bk_1')!.zipKey).toBeUndefined();
  });

  it('never deletes the zip of a backup that SUCCEEDED', async () => {
    const deps = setUp();
    await zipBackup(input, deps);
    await deps.backups.updateBackup('acme', 'bk_1', { status: 'SUCCEEDED' }, ['RUNNING']);
    // A late duplicate of the zip step finds the backup finished and must leave it alone.
    await expect(zipBackup(input, deps)).rejects.toMatchObject({ name: 'StepFailedError' });
    expect(deps.blobs.objects.has('backups/acme/bk_1/crm-backup-acme-2026-11-26.zip')).toBe(true);
  });
});
