import type { ZipAssemblyTarget } from '../ports/zip-assembly-target.ts';
import type { AssemblyPart, ZipAssemblyPlan } from './assembly-plan.ts';

/** What assembling needs of a plan: an archive's, or a concatenation's (`planConcatenation`). */
export type AssemblyParts = Pick<ZipAssemblyPlan, 'size' | 'parts' | 'copiedBytes' | 'readBytes'>;

export interface AssembleOptions {
  /** Parts in flight at once. Copies run inside S3, so more is cheap; uploads hold ≤ 2 × 5 MiB each. */
  concurrency?: number;
}

export interface AssembleResult {
  key: string;
  size: number;
  parts: number;
  copiedBytes: number;
  readBytes: number;
}

/**
 * Builds the archive of `plan` (or any object planned as parts) at `key` with one
 * multipart upload.
 *
 * Primary course:
 * 1. Start the upload.
 * 2. Every part at once (bounded concurrency): copy parts by UploadPartCopy, upload
 *    parts by reading their few small ranges and writing them after the headers.
 * 3. Complete with the ETags in part order; on any failure abort, so no parts linger
 *    (the bucket's AbortIncompleteMultipartUpload rule is the safety net).
 *
 * Running it again writes the same bytes to the same key: it is idempotent for a
 * Step Functions retry.
 */
export async function assembleZip(
  plan: AssemblyParts,
  key: string,
  target: ZipAssemblyTarget,
  options: AssembleOptions = {},
): Promise<AssembleResult> {
  const concurrency = options.concurrency ?? 8;
  const uploadId = await target.createUpload(key);
  try {
    const etags: string[] = new Array(plan.parts.length);
    let next = 0;
    const worker = async () => {
      while (next < plan.parts.length) {
        const index = next++;
        etags[index] = await sendPart(plan.parts[index]!, index + 1);
      }
    };
    const sendPart = async (part: AssemblyPart, partNumber: number): Promise<string> => {
      if (part.kind === 'copy') return target.copyPart(key, uploadId, partNumber, part);
      const pieces = await Promise.all(
        part.spans.map((span) => (span.kind === 'bytes' ? span.bytes : target.readRange(span.key, span.start, span.length))),
      );
      const body = Buffer.concat(pieces);
      if (body.length !== part.length) throw new Error(`Part ${partNumber} has ${body.length} bytes, the plan says ${part.length}`);
      return target.uploadPart(key, uploadId, partNumber, body);
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, plan.parts.length) }, worker));
    await target.completeUpload(
      key,
      uploadId,
      etags.map((etag, index) => ({ partNumber: index + 1, etag })),
    );
  } catch (error) {
    await target.abortUpload(key, uploadId).catch(() => undefined);
    throw error;
  }
  return { key, size: plan.size, parts: plan.parts.length, copiedBytes: plan.copiedBytes, readBytes: plan.readBytes };
}
