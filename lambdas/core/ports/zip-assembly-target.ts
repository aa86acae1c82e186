/**
 * Where a ZIP archive is assembled from stored pieces: an S3 multipart upload in AWS
 * (UploadPartCopy for ranges of stored objects, UploadPart for written bytes), the
 * s3rver stand-in locally. Keys are domain-built, in the target's own bucket.
 */
export interface ZipAssemblyTarget {
  /** Starts a multipart upload of `key`; answers the upload id. */
  createUpload(key: string): Promise<string>;
  /** Part `partNumber` := bytes [start, start + length) of the stored object `source`, copied server-side. */
  copyPart(key: string, uploadId: string, partNumber: number, source: { key: string; start: number; length: number }): Promise<string>;
  /** Part `partNumber` := `body`; answers the part's ETag. */
  uploadPart(key: string, uploadId: string, partNumber: number, body: Buffer): Promise<string>;
  completeUpload(key: string, uploadId: string, parts: Array<{ partNumber: number; etag: string }>): Promise<void>;
  abortUpload(key: string, uploadId: string): Promise<void>;
  /** Bytes [start, start + length) of a stored object. */
  readRange(key: string, start: number, length: number): Promise<Buffer>;
}
