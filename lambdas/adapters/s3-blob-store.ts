import { Transform, type Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { TransientError } from '#core/errors.ts';
import type { BlobStore } from '#core/ports/blob-store.ts';
import { isTransient, rethrowTransient } from './aws-errors.ts';

/**
 * Multipart part size. S3 wants ≥ 5 MiB for every part but the last; 8 MiB keeps a
 * 10 GB object under the 10,000-part cap with room to spare while only
 * `PART_SIZE × QUEUE_SIZE` bytes are ever buffered.
 */
const PART_SIZE = 8 * 1024 * 1024;
const QUEUE_SIZE = 2;
const DELETE_BATCH = 1000;
const DELETE_CONCURRENCY = 8;

/**
 * The backup bucket through the S3 SDK v3 client. Uploads stream through
 * `@aws-sdk/lib-storage` (multipart, bounded buffering), so memory stays flat whatever
 * the object size; downloads are presigned GETs minted on demand.
 */
export class S3BlobStore implements BlobStore {
  private readonly client: S3Client;
  private readonly bucket: string;

  constructor(client: S3Client, bucket: string) {
    this.client = client;
    this.bucket = bucket;
  }

  async upload(key: string, body: Readable, options: { contentType?: string } = {}): Promise<{ bytes: number }> {
    let bytes = 0;
    const counted = body.pipe(
      new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          bytes += chunk.length;
          callback(null, chunk);
        },
      }),
    );
    // A failing source must fail the upload, not leave it waiting for more bytes.
    body.once('error', (error) => counted.destroy(error));
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: key, Body: counted, ContentType: options.contentType },
      partSize: PART_SIZE,
      queueSize: QUEUE_SIZE,
      // An aborted upload leaves no parts behind (the lifecycle rule is the safety net).
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (error) {
      if (isTransient(error)) rethrowTransient(error, 'The backup bucket');
      throw error;
    }
    return { bytes };
  }

  async read(key: string, range?: { start: number; end: number }): Promise<Readable> {
    try {
      const { Body } = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: range ? `bytes=${range.start}-${range.end}` : undefined }),
      );
      return Body as Readable;
    } catch (error) {
      return rethrowTransient(error, 'The backup bucket');
    }
  }

  async size(key: string): Promise<number | undefined> {
    try {
      const { ContentLength } = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return ContentLength ?? 0;
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if ((error as Error).name === 'NotFound' || (error as Error).name === 'NoSuchKey' || status === 404) return undefined;
      return rethrowTransient(error, 'The backup bucket');
    }
  }

  async presignDownload(key: string, options: { expiresInSeconds: number; filename: string }): Promise<string> {
    // Only a plain ASCII name goes into the header; our file names are ASCII anyway.
    const filename = options.filename.replace(/[^\w.-]/g, '_');
    return getSignedUrl(
      this.client,
      new GetObjectCommand({
        Bucket: this.bucket,
        Key: key,
        ResponseContentDisposition: `attachment; filename="${filename}"`,
        ResponseContentType: filename.endsWith('.zip') ? 'application/zip' : undefined,
      }),
      { expiresIn: options.expiresInSeconds },
    );
  }

  async *listKeys(prefix: string): AsyncIterable<string> {
    let ContinuationToken: string | undefined;
    do {
      const page = await this.client
        .send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken }))
        .catch((error: unknown) => rethrowTransient(error, 'The backup bucket'));
      for (const object of page.Contents ?? []) yield object.Key!;
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
  }

  async deletePrefix(prefix: string): Promise<void> {
    if (!prefix.endsWith('/')) throw new Error(`Refusing to delete a prefix that is not a folder: ${prefix}`);
    try {
      // List the first page again after each round of deletes rather than following a
      // continuation token: the listing shrinks under us, and a cleanup has few objects.
      let previous = '';
      for (;;) {
        const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, MaxKeys: DELETE_BATCH }));
        const keys = (page.Contents ?? []).map((object) => object.Key!);
        if (keys.length === 0) return;
        // The same listing twice means the deletes did not take: fail (and be retried) rather than spin.
        if (keys.join('\n') === previous) throw new TransientError(`Objects under ${prefix} could not be deleted`);
        previous = keys.join('\n');
        // Single deletes, a few at a time: DeleteObjects needs a Content-MD5 that the
        // stand-in mishandles, and a failed backup leaves only tens of objects.
        let next = 0;
        const worker = async () => {
          while (next < keys.length) {
            const Key = keys[next++]!;
            await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key }));
          }
        };
        await Promise.all(Array.from({ length: DELETE_CONCURRENCY }, worker));
      }
    } catch (error) {
      rethrowTransient(error, 'The backup bucket');
    }
  }
}
