import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { S3ZipAssemblyTarget } from '#adapters/s3-zip-assembly-target.ts';
import { assembleZip } from '#core/zip/assemble-zip.ts';
import { planZipAssembly, type StoredSegment } from '#core/zip/assembly-plan.ts';
import { deflateSegmentSync } from '#core/zip/segment-deflate.ts';
import { startS3 } from '../../local/s3.ts';

const run = promisify(execFile);
const BUCKET = 'zip-assembly-test';
const MiB = 1024 * 1024;

let directory: string;
let s3: { endpoint: string; stop(): Promise<void> };
let client: S3Client;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 's3-part-copy-'));
  s3 = await startS3(join(directory, 's3'), BUCKET);
  client = new S3Client({
    region: 'us-east-1',
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
});

afterAll(async () => {
  client?.destroy();
  await s3?.stop();
  await rm(directory, { recursive: true, force: true });
});

async function get(key: string): Promise<Buffer> {
  const { Body } = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(await Body!.transformToByteArray());
}

describe('the S3 stand-in', () => {
  it('copies object ranges into multipart parts with UploadPartCopy', async () => {
    const source = randomBytes(7 * MiB);
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'in/source with space.bin', Body: source }));
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'out/copied.bin' }));
    const copied = await client.send(
      new UploadPartCopyCommand({
        Bucket: BUCKET,
        Key: 'out/copied.bin',
        UploadId,
        PartNumber: 1,
        CopySource: `${BUCKET}/in/${encodeURIComponent('source with space.bin')}`,
        CopySourceRange: `bytes=${MiB}-${6 * MiB - 1}`,
      }),
    );
    expect(copied.CopyPartResult?.ETag).toMatch(/^"[0-9a-f]{32}"$/);
    const whole = await client.send(
      new UploadPartCopyCommand({ Bucket: BUCKET, Key: 'out/copied.bin', UploadId, PartNumber: 2, CopySource: `${BUCKET}/in/source%20with%20space.bin` }),
    );
    const tail = await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'out/copied.bin', UploadId, PartNumber: 3, Body: Buffer.from('tail') }));
    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: 'out/copied.bin',
        UploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: copied.CopyPartResult!.ETag },
            { PartNumber: 2, ETag: whole.CopyPartResult!.ETag },
            { PartNumber: 3, ETag: tail.ETag },
          ],
        },
      }),
    );
    const expected = Buffer.concat([source.subarray(MiB, 6 * MiB), source, Buffer.from('tail')]);
    expect((await get('out/copied.bin')).equals(expected)).toBe(true);
  });

  it('refuses a range outside the source, an unknown source and an unknown upload like S3', async () => {
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'in/small.bin', Body: Buffer.from('0123456789') }));
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'out/refused.bin' }));
    const copy = (input: { CopySource: string; CopySourceRange?: string; UploadId?: string }) =>
      client.send(new UploadPartCopyCommand({ Bucket: BUCKET, Key: 'out/refused.bin', UploadId, PartNumber: 1, ...input }));
    await expect(copy({ CopySource: `${BUCKET}/in/small.bin`, CopySourceRange: 'bytes=5-10' })).rejects.toMatchObject({ name: 'InvalidArgument' });
    await expect(copy({ CopySource: `${BUCKET}/in/missing.bin` })).rejects.toMatchObject({ name: 'NoSuchKey' });
    await expect(copy({ CopySource: `${BUCKET}/in/small.bin`, UploadId: 'no-such-upload' })).rejects.toMatchObject({ name: 'NoSuchUpload' });
    const one = await copy({ CopySource: `${BUCKET}/in/small.bin`, CopySourceRange: 'bytes=0-0' });
    expect(one.CopyPartResult?.ETag).toBeDefined();
  });

  it('refuses to complete an upload whose non-last part is under 5 MiB (EntityTooSmall)', async () => {
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'out/too-small.bin' }));
    const parts = [];
    for (const [index, body] of [Buffer.from('small'), Buffer.from('last')].entries()) {
      const { ETag } = await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'out/too-small.bin', UploadId, PartNumber: index + 1, Body: body }));
      parts.push({ PartNumber: index + 1, ETag });
    }
    await expect(
      client.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: 'out/too-small.bin', UploadId, MultipartUpload: { Parts: parts } })),
    ).rejects.toMatchObject({ name: 'EntityTooSmall' });
  });
});

describe('S3ZipAssemblyTarget', () => {
  it('assembles a standard zip from stored segments with UploadPartCopy', async () => {
    // Incompressible data, so the segments are bigger than a part and get copied.
    const big = randomBytes(13 * MiB);
    const small = Buffer.from('id,name\r\n1,Ada\r\n');
    const segments: StoredSegment[] = [];
    const cuts = [0, 6 * MiB, 12 * MiB, big.length];
    for (let index = 0; index < 3; index++) {
      const { data, ...digest } = deflateSegmentSync(big.subarray(cuts[index], cuts[index + 1]), { final: index === 2, level: 1 });
      const key = `backups/acme/b1/parts/contacts/${index}.deflate`;
      await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: data }));
      segments.push({ key, ...digest });
    }
    const { data, ...smallDigest } = deflateSegmentSync(small, { final: true });
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'backups/acme/b1/parts/deals/0.deflate', Body: data }));
    const plan = planZipAssembly([
      { name: 'contacts.bin', modified: new Date(), segments },
      { name: 'deals.csv', modified: new Date(), segments: [{ key: 'backups/acme/b1/parts/deals/0.deflate', ...smallDigest }] },
      { name: 'manifest.json', modified: new Date(), content: Buffer.from('{"files":[]}') },
    ]);
    expect(plan.parts.filter((part) => part.kind === 'copy').length).toBeGreaterThan(0);

    const result = await assembleZip(plan, 'backups/acme/b1/backup.zip', new S3ZipAssemblyTarget(client, BUCKET));
    expect(result.readBytes).toBeLessThanOrEqual(2 * 5 * MiB);
    const zip = await get('backups/acme/b1/backup.zip');
    expect(zip.length).toBe(plan.size);
    const path = join(directory, 'backup.zip');
    await writeFile(path, zip);
    const { stdout } = await run('unzip', ['-t', path]);
    expect(stdout).toContain('No errors detected');
    const { stdout: contacts } = await run('unzip', ['-p', path, 'contacts.bin'], { encoding: 'buffer', maxBuffer: 64 * MiB });
    expect(contacts.equals(big)).toBe(true);
  });
});

/**
 * A slow disk under load: every file write stream (s3rver's, through its fs-extra, and
 * node's own) lands each write `ms` late. Fault injection only: the stand-in must still
 * answer a write once its bytes are stored.
 */
const restores: Array<() => void> = [];
function slowWriteStreams(ms: number): void {
  const s3rverFs = createRequire(createRequire(import.meta.url).resolve('s3rver'))('fs-extra') as typeof fs;
  for (const module of [fs, s3rverFs]) {
    const original = module.createWriteStream;
    module.createWriteStream = ((...args: Parameters<typeof fs.createWriteStream>) => {
      const stream = original.apply(module, args);
      const { _write, _writev } = stream as unknown as Record<'_write' | '_writev', (...rest: unknown[]) => void>;
      Object.assign(stream, {
        _write: (...rest: unknown[]) => void setTimeout(() => _write.apply(stream, rest), ms),
        _writev: _writev && ((...rest: unknown[]) => void setTimeout(() => _writev.apply(stream, rest), ms)),
      });
      return stream;
    }) as typeof fs.createWriteStream;
    restores.push(() => {
      module.createWriteStream = original;
      syncBuiltinESMExports();
    });
  }
  // `import { createWriteStream } from 'node:fs'` sees the change too.
  syncBuiltinESMExports();
}
afterEach(() => restores.splice(0).forEach((restore) => restore()));

describe('the S3 stand-in: read-after-write consistency, as S3', () => {
  it('answers a PUT once the object is stored: a GET right after reads the new object whole, never the one it replaced', async () => {
    slowWriteStreams(15);
    for (let round = 0; round < 3; round += 1) {
      const older = randomBytes(96 * 1024);
      const newer = Buffer.from(older);
      newer[10_870]! ^= 0xff;
      await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'raw/one.zip', Body: older }));
      await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'raw/one.zip', Body: newer }));
      expect((await get('raw/one.zip')).equals(newer), `round ${round}`).toBe(true);
    }
  });

  it('answers UploadPart and CompleteMultipartUpload once stored: the object reads whole right after', async () => {
    slowWriteStreams(15);
    const parts = [randomBytes(5 * MiB), randomBytes(1024)];
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'raw/multi.bin' }));
    const etags = [];
    for (const [index, body] of parts.entries()) {
      etags.push((await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'raw/multi.bin', UploadId, PartNumber: index + 1, Body: body }))).ETag);
    }
    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: 'raw/multi.bin',
        UploadId,
        MultipartUpload: { Parts: etags.map((ETag, index) => ({ ETag, PartNumber: index + 1 })) },
      }),
    );
    expect((await get('raw/multi.bin')).equals(Buffer.concat(parts))).toBe(true);
    // Nothing is left behind where objects are written before they are renamed into place.
    expect(await readdir(join(directory, 's3.incoming'))).toEqual([]);
  });
});
