// Worker thread of `DeflatePool`: deflates one byte range of a file into a segment file.
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { parentPort } from 'node:worker_threads';
import { createSegmentDeflater } from './segment-deflate.ts';
import type { FileSegmentTask } from './deflate-pool.ts';

parentPort!.on('message', async (task: FileSegmentTask & { id: number }) => {
  try {
    const deflater = createSegmentDeflater({ level: task.level, final: task.final });
    // createReadStream's `end` is inclusive; an empty range reads nothing.
    const source =
      task.end > task.start
        ? createReadStream(task.source, { start: task.start, end: task.end - 1, highWaterMark: 1024 * 1024 })
        : createReadStream(task.source, { start: 0, end: -1 });
    await pipeline(source, deflater, createWriteStream(task.target));
    parentPort!.postMessage({ id: task.id, digest: await deflater.digest() });
  } catch (error) {
    parentPort!.postMessage({ id: task.id, error: (error as Error).message });
  }
});
