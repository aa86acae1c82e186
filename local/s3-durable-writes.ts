import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type S3rver from 's3rver';

/**
 * S3's read-after-write consistency for the s3rver stand-in. s3rver answers a PUT, an
 * UploadPart and a CompleteMultipartUpload once it has *read* the body, while its file
 * is still being written (it resolves on its hashing stream's `finish`, not on the file
 * stream's): a GET right after the 200 can read the previous object, part of the new
 * one, or a mix, when a late write of the previous PUT lands over the new bytes. S3
 * never does: after a write's 200 every read sees the whole new object, and no read
 * sees half of one. Tests that store a file and read it back (a damaged backup zip put
 * in place, then planned) saw the old bytes under load.
 *
 * Here each object and part is written to a file in `scratch` (outside the bucket
 * tree, so listings never meet it half-written) and renamed into place once it is
 * closed, before s3rver answers. No file in node_modules changes.
 */
export function enableDurableWrites(server: S3rver, scratch: string): void {
  const store = (server as unknown as { store: S3rverStore }).store;
  const writeWhole = async (path: string, content: Readable | Buffer): Promise<{ size: number; md5: string }> => {
    await Promise.all([mkdir(dirname(path), { recursive: true }), mkdir(scratch, { recursive: true })]);
    const incoming = join(scratch, randomUUID());
    const md5 = createHash('md5');
    let size = 0;
    const measure = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        md5.update(chunk);
        size += chunk.length;
        callback(null, chunk);
      },
    });
    try {
      await pipeline(Buffer.isBuffer(content) ? Readable.from([content]) : content, measure, createWriteStream(incoming));
      await rename(incoming, path);
    } catch (error) {
      await rm(incoming, { force: true });
      throw error;
    }
    return { size, md5: md5.digest('hex') };
  };

  store.putObject = async (object) => {
    const written = await writeWhole(store.getResourcePath(object.bucket, object.key, 'object'), object.content);
    await store.putMetadata(object.bucket, object.key, object.metadata, written.md5);
    return written;
  };
  store.putPart = async (bucket, uploadId, partNumber, content) => {
    const partPath = join(store.getResourcePath(bucket, undefined, 'uploads'), uploadId, String(partNumber));
    const written = await writeWhole(partPath, content);
    await writeFile(`${partPath}.md5`, written.md5);
    return written;
  };
}

/** The part of s3rver's file store (lib/stores/filesystem.js) this replaces or uses. */
interface S3rverStore {
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5: string): Promise<void>;
  putObject(object: { bucket: string; key: string; content: Readable | Buffer; metadata: Record<string, string> }): Promise<{ size: number; md5: string }>;
  putPart(bucket: string, uploadId: string, partNumber: number, content: Readable): Promise<{ size: number; md5: string }>;
}
