import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ZipAssemblyTarget } from '../../lambdas/core/ports/zip-assembly-target.ts';

/**
 * An in-memory-style ZipAssemblyTarget over a folder, for core tests of the assembly.
 * It enforces the rule that matters (every part but the last ≥ `minPartSize`, like S3's
 * EntityTooSmall) and counts what the assembler moved.
 */
export class FileZipTarget implements ZipAssemblyTarget {
  readonly directory: string;
  readonly minPartSize: number;
  readonly uploads = new Map<string, Map<number, Buffer>>();
  readonly stats = { copiedBytes: 0, uploadedBytes: 0, readBytes: 0 };

  constructor(directory: string, minPartSize: number) {
    this.directory = directory;
    this.minPartSize = minPartSize;
  }

  path(key: string): string {
    return join(this.directory, key);
  }

  async put(key: string, body: Buffer): Promise<void> {
    await mkdir(dirname(this.path(key)), { recursive: true });
    await writeFile(this.path(key), body);
  }

  async createUpload(): Promise<string> {
    const id = randomUUID();
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
    await this.put(key, Buffer.concat(bodies));
    this.uploads.delete(uploadId);
  }

  async abortUpload(_key: string, uploadId: string): Promise<void> {
    this.uploads.delete(uploadId);
  }

  async readRange(key: string, start: number, length: number): Promise<Buffer> {
    this.stats.readBytes += length;
    return this.range(key, start, length);
  }

  private async range(key: string, start: number, length: number): Promise<Buffer> {
    const handle = await open(this.path(key), 'r');
    try {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, start);
      if (bytesRead !== length) throw new Error(`${key} has no bytes ${start}+${length}`);
      return buffer;
    } finally {
      await handle.close();
    }
  }
}

/** Reads a whole stored object (assertions). */
export function readStored(target: FileZipTarget, key: string): Promise<Buffer> {
  return readFile(target.path(key));
}
