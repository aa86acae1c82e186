import type { ZipAssemblyTarget } from '../../lambdas/core/ports/zip-assembly-target.ts';

/**
 * What every ZipAssemblyTarget fake shares: parts kept per upload until completed or
 * aborted, S3's EntityTooSmall rule (every part but the last ≥ `minPartSize`), and
 * counts of what crossed the assembler. Subclasses say where objects live.
 */
export abstract class PartsZipTarget implements ZipAssemblyTarget {
  readonly minPartSize: number;
  readonly uploads = new Map<string, Map<number, Buffer>>();
  readonly stats = { copiedBytes: 0, uploadedBytes: 0, readBytes: 0, aborted: 0 };
  private sequence = 0;

  constructor(minPartSize: number) {
    this.minPartSize = minPartSize;
  }

  /** `length` bytes of a stored object from `start`; throws when the object or the range is missing. */
  protected abstract range(key: string, start: number, length: number): Promise<Buffer>;
  /** Stores a completed object. */
  protected abstract store(key: string, body: Buffer): Promise<void>;

  async createUpload(): Promise<string> {
    const id = `upload-${++this.sequence}`;
    this.uploads.set(id, new Map());
    return id;
  }

  async copyPart(_key: string, uploadId: string, partNumber: number, source: { key: string; start: number; length: number }): Promise<string> {
    const bytes = await this.range(source.key, source.start, source.length);
    this.stats.copiedBytes += bytes.length;
    this.uploads.get(uploadId)!.set(partNumber, bytes);
    return `copy-${partNumber}`;
  }

  async uploadPart(_key: string, uploadId: string, partNumber: number, body: Buffer): Promise<string> {
    this.stats.uploadedBytes += body.length;
    this.uploads.get(uploadId)!.set(partNumber, body);
    return `upload-${partNumber}`;
  }

  async completeUpload(key: string, uploadId: string, parts: Array<{ partNumber: number; etag: string }>): Promise<void> {
    const stored = this.uploads.get(uploadId)!;
    const bodies = parts.map(({ partNumber }) => stored.get(partNumber)!);
    bodies.forEach((body, index) => {
      if (index < bodies.length - 1 && body.length < this.minPartSize) {
        throw new Error(`EntityTooSmall: part ${index + 1} has ${body.length} bytes`);
      }
    });
    await this.store(key, Buffer.concat(bodies));
    this.uploads.delete(uploadId);
  }

  async abortUpload(_key: string, uploadId: string): Promise<void> {
    this.stats.aborted += 1;
    this.uploads.delete(uploadId);
  }

  async readRange(key: string, start: number, length: number): Promise<Buffer> {
    const bytes = await this.range(key, start, length);
    this.stats.readBytes += length;
    return bytes;
  }
}
