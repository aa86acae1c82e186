import { mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PartsZipTarget } from './parts-zip-target.ts';

/**
 * A ZipAssemblyTarget over a folder, for core tests of the assembly with more bytes
 * than memory should hold. S3's part-size rule applies with `minPartSize`.
 */
export class FileZipTarget extends PartsZipTarget {
  readonly directory: string;

  constructor(directory: string, minPartSize: number) {
    super(minPartSize);
    this.directory = directory;
  }

  path(key: string): string {
    return join(this.directory, key);
  }

  async put(key: string, body: Buffer): Promise<void> {
    await mkdir(dirname(this.path(key)), { recursive: true });
    await writeFile(this.path(key), body);
  }

  protected store(key: string, body: Buffer): Promise<void> {
    return this.put(key, body);
  }

  protected async range(key: string, start: number, length: number): Promise<Buffer> {
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
