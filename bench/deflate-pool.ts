import { availableParallelism } from 'node:os';
import { stat } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import type { SegmentDigest } from '#core/zip/segment-deflate.ts';

/** One byte range [start, end) of `source` to deflate into the file `target`. */
export interface FileSegmentTask {
  source: string;
  start: number;
  end: number;
  final: boolean;
  level: number;
  target: string;
  /** Segments up to this many bytes are deflated in memory, bigger ones streamed (default 64 MiB). */
  inMemoryLimit?: number;
}

type Pending = { resolve(digest: SegmentDigest): void; reject(error: Error): void };

/**
 * Worker threads that deflate file segments, one per core by default: zlib runs on
 * the thread that calls it, so a single Node thread compresses on one core only.
 * On Lambda, memory buys cores (up to 6 at 10 GB); a pool sized to them lets one
 * invocation compress a big object type at the speed of all of them.
 */
export class DeflatePool {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: Array<FileSegmentTask & { id: number }> = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;

  constructor(size = availableParallelism()) {
    for (let index = 0; index < size; index++) {
      const worker = new Worker(new URL('./deflate-worker.ts', import.meta.url));
      worker.on('message', (message: { id: number; digest?: SegmentDigest; error?: string }) => {
        const pending = this.pending.get(message.id)!;
        this.pending.delete(message.id);
        if (message.error !== undefined) pending.reject(new Error(message.error));
        else pending.resolve(message.digest!);
        this.idle.push(worker);
        this.dispatch();
      });
      worker.on('error', (error) => {
        for (const pending of this.pending.values()) pending.reject(error);
        this.pending.clear();
      });
      this.workers.push(worker);
      this.idle.push(worker);
    }
  }

  get size(): number {
    return this.workers.length;
  }

  /** Deflates one segment on the next free thread. */
  run(task: FileSegmentTask): Promise<SegmentDigest> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.queue.push({ ...task, id });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.queue.length > 0) this.idle.pop()!.postMessage(this.queue.shift()!);
  }
}

/**
 * Deflates a whole file as consecutive segments of about `segmentBytes`, in parallel,
 * each into `targetFor(index)`; answers the digests in order. With segments at least
 * a few MB long, the dictionary reset at each boundary costs well under 1% of size.
 */
export async function deflateFileInSegments(
  source: string,
  options: { pool: DeflatePool; segmentBytes: number; level?: number; inMemoryLimit?: number; targetFor(index: number): string },
): Promise<Array<SegmentDigest & { path: string }>> {
  const { size } = await stat(source);
  const count = Math.max(1, Math.ceil(size / options.segmentBytes));
  const tasks = Array.from({ length: count }, (_, index) => {
    const start = Math.floor((size * index) / count);
    const end = Math.floor((size * (index + 1)) / count);
    const target = options.targetFor(index);
    return options.pool
      .run({ source, start, end, final: index === count - 1, level: options.level ?? 6, target, inMemoryLimit: options.inMemoryLimit })
      .then((digest) => ({ ...digest, path: target }));
  });
  return Promise.all(tasks);
}
