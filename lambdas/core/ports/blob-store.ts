import type { Readable } from 'node:stream';

/**
 * Object storage for backup files (S3 in AWS, s3rver locally). Keys are always
 * built by the domain from account and backup ids, never taken from requests.
 */
export interface BlobStore {
  /** Streams `body` to `key` (multipart: memory stays flat); answers the bytes written. */
  upload(key: string, body: Readable, options?: { contentType?: string }): Promise<{ bytes: number }>;
  /** Reads an object, or the inclusive byte range [start, end] of it. */
  read(key: string, range?: { start: number; end: number }): Promise<Readable>;
  /** Size in bytes, or undefined when the object does not exist. */
  size(key: string): Promise<number | undefined>;
  /** A GET URL valid for `expiresInSeconds`; the browser saves it as `filename`. */
  presignDownload(key: string, options: { expiresInSeconds: number; filename: string }): Promise<string>;
  /** The keys under a prefix, in key order, listed a page at a time as they are iterated. */
  listKeys(prefix: string): AsyncIterable<string>;
  /** Deletes every object under a prefix (cleanup of a failed backup's partial files). */
  deletePrefix(prefix: string): Promise<void>;
}
