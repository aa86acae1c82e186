import { createHash, randomBytes } from 'node:crypto';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { zipBackup } from '#core/backups/zip-backup.ts';
import { S3_MIN_PART_SIZE } from '#core/zip/assembly-plan.ts';
import { ResumableSha256 } from '#core/zip/resumable-sha256.ts';
import { deflateSegmentSync } from '#core/zip/segment-deflate.ts';
import { memoryDeps, type TestDeps } from '../../support/in-memory-ports.ts';

/** Writes one type's parts the way the export does: raw deflate segments next to their digests. */
function putParts(deps: TestDeps, type: string, texts: string[]): void {
  const sha = new ResumableSha256();
  texts.forEach((text, part) => {
    sha.update(text);
    const { data, ...digest } = deflateSegmentSync(Buffer.from(text), { level: 5, final: false });
    const key = `backups/acme/bk_1/parts/${type}/${String(part).padStart(5, '0')}`;
    deps.blobs.objects.set(`${key}.csv`, data);
    const propertyNames = part === 0 ? { propertyNames: ['blob'] } : {};
    deps.blobs.objects.set(`${key}.json`, Buffer.from(JSON.stringify({ ...digest, sha256State: sha.save(), ...propertyNames })));
  });
}

/** The stored bytes of the one entry named `name` (local header, data, as laid out by the plan). */
function entryData(zip: Buffer, name: string): Buffer {
  const at = zip.indexOf(Buffer.from(name, 'utf8'));
  const header = at - 30;
  expect(zip.readUInt32LE(header)).toBe(0x04034b50);
  const start = header + 30 + zip.readUInt16LE(header + 26) + zip.readUInt16LE(header + 28);
  return zip.subarray(start);
}

describe('zipBackup with big parts', () => {
  it('copies the big compressed parts server-side: what passes through the assembler stays under two S3 parts per entry', async () => {
    const deps = memoryDeps('2026-11-26T10:00:00.000Z');
    deps.backups.backups.set('acme/bk_1', { id: 'bk_1', accountId: 'acme', status: 'RUNNING', trigger: 'api', requestedBy: 'a@x', createdAt: '2026-11-26T09:00:00.000Z', objects: [] });
    // Random base64 barely compresses: two parts of ~9 MiB of deflate each.
    const rows = (bytes: number) => randomBytes(bytes).toString('base64').replace(/(.{76})/g, '$1\r\n');
    const texts = ['id,blob\r\n', rows(9 * 1024 * 1024), rows(9 * 1024 * 1024)];
    putParts(deps, 'contacts', texts);
    const compressed = [0, 1, 2].reduce((sum, part) => sum + deps.blobs.objects.get(`backups/acme/bk_1/parts/contacts/${String(part).padStart(5, '0')}.csv`)!.length, 0);
    expect(compressed).toBeGreaterThan(3 * S3_MIN_PART_SIZE);

    const result = await zipBackup({ accountId: 'acme', backupId: 'bk_1', exports: [{ objectType: 'contacts', records: 1, parts: 3 }] }, deps);

    const { stats } = deps.zipAssembly;
    expect(stats.copiedBytes + stats.uploadedBytes).toBe(result.sizeBytes);
    // Only headers, glue and the manifest went through the assembler: at most two 5 MiB parts
    // for the one entry plus the tail, however big the parts are.
    expect(stats.uploadedBytes).toBeLessThan(2 * S3_MIN_PART_SIZE + 64 * 1024);
    expect(stats.readBytes).toBeLessThan(2 * S3_MIN_PART_SIZE);
    expect(stats.copiedBytes).toBeGreaterThan(compressed - 2 * S3_MIN_PART_SIZE);
    // And the entry is still the exact CSV, with the manifest's checksum.
    const zip = deps.blobs.objects.get('backups/acme/bk_1/crm-backup-acme-2026-11-26.zip')!;
    const csv = zlib.inflateRawSync(entryData(zip, 'contacts.csv'));
    expect(csv.equals(Buffer.from(texts.join(''), 'utf8'))).toBe(true);
    const stored = deps.backups.backups.get('acme/bk_1')!;
    expect(stored.objects).toEqual([
      { objectType: 'contacts', records: 1, file: 'contacts.csv', bytes: csv.length, sha256: createHash('sha256').update(csv).digest('hex'), status: 'EXPORTED' },
    ]);
  });
});
