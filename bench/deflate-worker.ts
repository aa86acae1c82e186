// Worker thread of `DeflatePool`: deflates one byte range of a file into a segment file.
import { createReadStream, createWriteStream } from 'node:fs';
import { open, writeFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { parentPort } from 'node:worker_threads';
import { createSegmentDeflater, deflateSegmentSync, type SegmentDigest } from '#core/zip/segment-deflate.ts';
import type { FileSegmentTask } from './deflate-pool.ts';

/**
 * Segments up to this size are read whole and deflated in one synchronous call: on a
 * thread of its own that is cheaper than a stream (no thread-pool hop per output
 * chunk), and memory stays bounded by the segment size. Bigger ones stream.
 */
const IN_MEMORY_LIMIT = 64 * 1024 * 1024;

async function deflateRange(task: FileSegmentTask): Promise<SegmentDigest> {
  const length = task.end - task.start;
  if (length <= (task.inMemoryLimit ?? IN_MEMORY_LIMIT)) {
    const handle = await open(task.source, 'r');
    const data = Buffer.allocUnsafe(length);
    try {
      let read = 0;
      while (read < length) {
        const { bytesRead } = await handle.read(data, read, length - read, task.start + read);
        if (bytesRead === 0) throw new Error(`${task.source} ended before byte ${task.end}`);
        read += bytesRead;
      }
    } finally {
      await handle.close();
    }
    const { data: compressed, ...digest } = deflateSegmentSync(data, { level: task.level, final: task.final });
    await writeFile(task.target, compressed);
    return digest;
  }
  const deflater = createSegmentDeflater({ level: task.level, final: task.final });
  // createReadStream's `end` is inclusive.
  await pipeline(createReadStream(task.source, { start: task.start, end: task.end - 1, highWaterMark: 1024 * 1024 }), deflater, createWriteStream(task.target));
  return deflater.digest();
}

parentPort!.on('message', async (task: FileSegmentTask & { id: number }) => {
  try {
    parentPort!.postMessage({ id: task.id, digest: await deflateRange(task) });
  } catch (error) {
    parentPort!.postMessage({ id: task.id, error: (error as Error).message });
  }
});
