import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { ZipAssemblyTarget } from '#core/ports/zip-assembly-target.ts';
import { rethrowTransient } from './aws-errors.ts';

/**
 * Assembles ZIP archives inside one bucket with S3 multipart uploads: UploadPartCopy
 * moves stored segments server-side, so the Lambda only sends headers and the glue
 * around them (lambdas/core/zip/assembly-plan.ts explains the cut).
 */
export class S3ZipAssemblyTarget implements ZipAssemblyTarget {
  private readonly client: S3Client;
  private readonly bucket: string;

  constructor(client: S3Client, bucket: string) {
    this.client = client;
    this.bucket = bucket;
  }

  async createUpload(key: string): Promise<string> {
    const { UploadId } = await this.guard(
      this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ContentType: 'application/zip' })),
    );
    return UploadId!;
  }

  async copyPart(key: string, uploadId: string, partNumber: number, source: { key: string; start: number; length: number }): Promise<string> {
    const { CopyPartResult } = await this.guard(
      this.client.send(
        new UploadPartCopyCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId: uploadId,
          PartNumber: partNumber,
          CopySource: `${this.bucket}/${source.key.split('/').map(encodeURIComponent).join('/')}`,
          CopySourceRange: `bytes=${source.start}-${source.start + source.length - 1}`,
        }),
      ),
    );
    return CopyPartResult!.ETag!;
  }

  async uploadPart(key: string, uploadId: string, partNumber: number, body: Buffer): Promise<string> {
    const { ETag } = await this.guard(
      this.client.send(
        new UploadPartCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: body, ContentLength: body.length }),
      ),
    );
    return ETag!;
  }

  async completeUpload(key: string, uploadId: string, parts: Array<{ partNumber: number; etag: string }>): Promise<void> {
    await this.guard(
      this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts.map(({ partNumber, etag }) => ({ PartNumber: partNumber, ETag: etag })) },
        }),
      ),
    );
  }

  async abortUpload(key: string, uploadId: string): Promise<void> {
    await this.guard(this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId })));
  }

  async readRange(key: string, start: number, length: number): Promise<Buffer> {
    const { Body } = await this.guard(
      this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: `bytes=${start}-${start + length - 1}` })),
    );
    const bytes = Buffer.from(await Body!.transformToByteArray());
    if (bytes.length !== length) throw new Error(`Read ${bytes.length} bytes of ${key} at ${start}, wanted ${length}`);
    return bytes;
  }

  // The SDK's own retries cover throttling; what is left and transient becomes a
  // TransientError, which the state machine retries.
  private async guard<T>(request: Promise<T>): Promise<T> {
    try {
      return await request;
    } catch (error) {
      return rethrowTransient(error, 'The backup bucket');
    }
  }
}
