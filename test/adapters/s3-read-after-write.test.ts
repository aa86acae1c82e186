import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, GetObjectCommand, PutObjectCommand, S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startS3 } from '../../local/s3.ts';

const BUCKET = 'read-after-write-test';
const MiB = 1024 * 1024;
let directory: string;
let s3: { endpoint: string; stop(): Promise<void> };
let client: S3Client;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 's3-read-after-write-'));
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

async function get(key: string): Promise<Buffer> {
  const { Body } = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(await Body!.transformToByteArray());
}

describe('the S3 stand-in: read-after-write consistency, as S3', () => {
  it('answers a PUT once the object is stored: a GET right after reads the new object whole, never the one it replaced', async () => {
    slowWriteStreams(15);
    for (let round = 0; round < 3; round += 1) {
      const older = randomBytes(96 * 1024);
      const newer = Buffer.from(older);
      newer[10_870]! ^= 0xff;
      await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'zip/one.zip', Body: older }));
      await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'zip/one.zip', Body: newer }));
      expect((await get('zip/one.zip')).equals(newer), `round ${round}`).toBe(true);
    }
  });

  it('answers UploadPart and CompleteMultipartUpload once stored: the object reads whole right after', async () => {
    slowWriteStreams(15);
    const parts = [randomBytes(5 * MiB), randomBytes(1024)];
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'multi/one.bin' }));
    const etags = [];
    for (const [index, body] of parts.entries()) {
      etags.push((await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'multi/one.bin', UploadId, PartNumber: index + 1, Body: body }))).ETag);
    }
    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: 'multi/one.bin',
        UploadId,
        MultipartUpload: { Parts: etags.map((ETag, index) => ({ ETag, PartNumber: index + 1 })) },
      }),
    );
    expect((await get('multi/one.bin')).equals(Buffer.concat(parts))).toBe(true);
    // Nothing is left behind where objects are written before they are renamed into place.
    expect(await readdir(join(directory, 's3.incoming'))).toEqual([]);
  });
});
