import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import type S3rver from 's3rver';

/**
 * UploadPartCopy for the s3rver stand-in, which answers NotImplemented: the zip stage
 * builds backups from stored pieces with it (lambdas/core/zip). Also S3's
 * EntityTooSmall rule (every part but the last ≥ 5 MiB), which s3rver does not check
 * and which would otherwise first fail on AWS.
 *
 * s3rver is a Koa app: a middleware placed before its router answers these two cases
 * with s3rver's own file store, and everything else goes through untouched. No file in
 * node_modules changes, and there is no extra network hop.
 */

const MIN_PART_SIZE = 5 * 1024 * 1024;

interface S3rverStore {
  getObject(bucket: string, key: string, options?: { start?: number; end?: number }): Promise<{ content: Readable | null; size: number } | null>;
  putPart(bucket: string, uploadId: string, partNumber: number, content: Readable): Promise<{ size: number; md5: string }>;
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
}

/** The part of s3rver's Koa context that its extensions use. */
export interface KoaContext {
  /** The raw Node request: its URL as it came over the wire. */
  req: IncomingMessage;
  method: string;
  path: string;
  query: Record<string, string | string[] | undefined>;
  headers: Record<string, string | string[] | undefined>;
  status: number;
  type: string;
  body: unknown;
  set(name: string, value: string): void;
}

export type Middleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;

/** Installs the extension on a not-yet-running s3rver. */
export function enableUploadPartCopy(server: S3rver, options: { minPartSize?: number } = {}): void {
  const app = server as unknown as { middleware: Middleware[]; store: S3rverStore };
  const minPartSize = options.minPartSize ?? MIN_PART_SIZE;
  const extension: Middleware = async (ctx, next) => {
    const uploadId = single(ctx.query.uploadId);
    if (uploadId === undefined) return next();
    if (ctx.method === 'PUT' && ctx.headers['x-amz-copy-source'] !== undefined) return copyPart(ctx, app.store, uploadId);
    if (ctx.method === 'POST') {
      const tooSmall = await findTooSmallPart(app.store, bucketOf(ctx.path), uploadId, minPartSize);
      if (tooSmall) {
        return fail(ctx, 400, 'EntityTooSmall', `Your proposed upload is smaller than the minimum allowed size (part ${tooSmall.part}: ${tooSmall.size} bytes).`);
      }
    }
    return next();
  };
  // Koa composes `middleware` when the server starts listening: first in line wins.
  app.middleware.unshift(extension);
}

async function copyPart(ctx: KoaContext, store: S3rverStore, uploadId: string): Promise<void> {
  const bucket = bucketOf(ctx.path);
  const partNumber = Number(single(ctx.query.partNumber));
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10_000) {
    return fail(ctx, 400, 'InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive');
  }
  if (!(await exists(join(store.getResourcePath(bucket, undefined, 'uploads'), uploadId)))) {
    return fail(ctx, 404, 'NoSuchUpload', 'The specified upload does not exist.');
  }
  // "bucket/key" or "/bucket/key", URL-encoded, maybe with ?versionId=.
  const source = decodeURIComponent(String(single(ctx.headers['x-amz-copy-source'])).split('?')[0]!).replace(/^\//, '');
  const slash = source.indexOf('/');
  const sourceBucket = source.slice(0, slash);
  const sourceKey = source.slice(slash + 1);
  const object = await store.getObject(sourceBucket, sourceKey);
  if (!object) return fail(ctx, 404, 'NoSuchKey', 'The specified key does not exist.');
  const size = object.size;
  object.content?.destroy();

  let start = 0;
  let end = size - 1;
  const rangeHeader = single(ctx.headers['x-amz-copy-source-range']);
  if (rangeHeader !== undefined) {
    const match = /^bytes=(\d+)-(\d+)$/.exec(rangeHeader);
    if (!match || Number(match[1]) > Number(match[2]) || Number(match[2]) >= size) {
      return fail(ctx, 400, 'InvalidArgument', `Range specified is not valid for source object of size: ${size}`);
    }
    start = Number(match[1]);
    end = Number(match[2]);
  }
  const length = end - start + 1;
  const ranged = size === 0 ? null : await store.getObject(sourceBucket, sourceKey, { start, end });
  const body = limit(ranged?.content ?? null, length);
  const { md5 } = await store.putPart(bucket, uploadId, partNumber, body);
  ctx.status = 200;
  ctx.type = 'application/xml';
  ctx.body =
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<CopyPartResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LastModified>${new Date().toISOString()}</LastModified><ETag>"${md5}"</ETag></CopyPartResult>`;
}

/** The first `length` bytes of `source` (s3rver reads to the end when asked for a range ending at byte 0). */
function limit(source: Readable | null, length: number): Readable {
  let left = length;
  const limited = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      const piece = chunk.subarray(0, Math.max(0, left));
      left -= piece.length;
      callback(null, piece.length > 0 ? piece : undefined);
    },
  });
  if (source) source.pipe(limited);
  else limited.end();
  return limited;
}

async function findTooSmallPart(store: S3rverStore, bucket: string, uploadId: string, minPartSize: number): Promise<{ part: number; size: number } | undefined> {
  const directory = join(store.getResourcePath(bucket, undefined, 'uploads'), uploadId);
  let names: string[];
  try {
    names = await readdir(directory);
  } catch {
    return undefined; // s3rver answers NoSuchUpload itself
  }
  // Approximation: every stored part, not only the ones the request lists.
  const parts = names.filter((name) => /^\d+$/.test(name)).map(Number).sort((a, b) => a - b);
  for (const part of parts.slice(0, -1)) {
    const { size } = await stat(join(directory, String(part)));
    if (size < minPartSize) return { part, size };
  }
  return undefined;
}

/** Answers like S3: an XML `<Error>` with its code and message. */
export function fail(ctx: KoaContext, status: number, code: string, message: string): void {
  ctx.status = status;
  ctx.type = 'application/xml';
  ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
}

function bucketOf(path: string): string {
  return decodeURIComponent(path.split('/')[1] ?? '');
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
