import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { crc32, createDeflateRaw } from 'node:zlib';
import { buildZip } from '../cli/support.ts';

/**
 * The archive from the security review (issue 13, finding 6): a backup-shaped zip whose
 * manifest honestly lists `deals.csv` at `bytes` bytes, and whose deals.csv is that
 * many `a`s with no line break: one CSV record as big as the file. Deflate squeezes
 * 1 GiB of it into about a megabyte, so the zip is small and every size agrees.
 * Built by streaming, so making it never holds the inflated content.
 */
export async function writeOneRecordZip(path: string, bytes: number): Promise<{ zipBytes: number }> {
  const chunk = Buffer.alloc(Math.min(bytes, 1024 * 1024), 'a');
  let crc = 0;
  const sha = createHash('sha256');
  const deflated: Buffer[] = [];
  const deflate = createDeflateRaw({ level: 9 });
  deflate.on('data', (piece: Buffer) => deflated.push(piece));
  const finished = new Promise<void>((resolve, reject) => deflate.once('end', resolve).once('error', reject));
  for (let left = bytes; left > 0; left -= chunk.length) {
    const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
    crc = crc32(piece, crc);
    sha.update(piece);
    if (!deflate.write(piece)) await new Promise((resolve) => deflate.once('drain', resolve));
  }
  deflate.end();
  await finished;
  const manifest = {
    accountId: 'acme',
    backupId: 'bk_crafted',
    completedAt: '2026-01-01T00:00:00.000Z',
    files: [{ name: 'deals.csv', objectType: 'deals', records: 1, bytes, sha256: sha.digest('hex') }],
  };
  const zip = buildZip([
    { name: 'deals.csv', data: Buffer.alloc(0), precompressed: { data: Buffer.concat(deflated), crc32: crc >>> 0, size: bytes } },
    { name: 'manifest.json', data: JSON.stringify(manifest, null, 2) },
  ]);
  await writeFile(path, zip);
  return { zipBytes: zip.length };
}
