import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import type { MergeProgress, SideProgress } from '../compare-model.ts';
import { encodeCsvLine } from '../csv/csv-rows.ts';
import type { BlobStore } from '../ports/blob-store.ts';
import { columnMap, ComparisonTally, emptyFigures, type Difference } from './comparison-tally.ts';
import { compareIds, RunMerge } from './sorted-runs.ts';

/** The export's columns: one row per property that differs (ADDED / REMOVED: per non-blank value). */
export const EXPORT_HEADER = ['record_id', 'kind', 'property', 'from', 'to'];
/** Records compared between two looks at the clock. */
const CHECK_EVERY = 1024;
/** Export text gathered before it is written to the upload. */
const EXPORT_FLUSH_CHARS = 256 * 1024;

export interface MergeRun {
  blobs: Pick<BlobStore, 'read' | 'upload'>;
  /** Asked every thousand records or so: false stops the merge where it is. */
  keepGoing(): boolean;
  /** Set for an export: this invocation's part of the differences CSV goes to this key. */
  exportPartKey?: string;
}

/**
 * Merges the two sides' runs by id from where the last merge stopped, counting every
 * record once (comparison-tally.ts) and, for an export, writing each difference to
 * this invocation's part of the CSV. Answers where it got to; `done` once both sides
 * are exhausted (the figures' sample is then final).
 */
export async function mergeSides(sides: [SideProgress, SideProgress], from: MergeProgress | undefined, run: MergeRun): Promise<{ merge: MergeProgress; done: boolean }> {
  const columns = columnMap(sides[0].columns ?? [], sides[1].columns ?? []);
  const state: MergeProgress = from ?? { offsets: [[], []], merged: 0, figures: emptyFigures(columns.names), candidates: [], exportParts: [] };
  const tally = new ComparisonTally(columns, { figures: state.figures, candidates: state.candidates });
  const backup = await RunMerge.open(run.blobs, sides[0].runs, state.offsets[0]);
  const other = await RunMerge.open(run.blobs, sides[1].runs, state.offsets[1]);
  const writer = run.exportPartKey ? new ExportWriter(run.blobs, run.exportPartKey, state.exportParts.length === 0) : undefined;
  let merged = state.merged;
  let done = false;
  try {
    for (let count = 1; ; count++) {
      const a = backup.peek();
      const b = other.peek();
      if (!a && !b) {
        done = true;
        break;
      }
      if (count % CHECK_EVERY === 0 && !run.keepGoing()) break;
      let difference: Difference | undefined;
      if (a && (!b || compareIds(a.id, b.id) < 0)) {
        difference = tally.removed(a, writer !== undefined);
        await backup.take();
        merged += 1;
      } else if (!a || compareIds(a.id, b!.id) > 0) {
        difference = tally.added(b!, writer !== undefined);
        await other.take();
        merged += 1;
      } else {
        difference = tally.both(a, b!);
        await backup.take();
        await other.take();
        merged += 2;
      }
      if (difference && writer) await writer.write(difference);
    }
    const exportParts = writer ? [...state.exportParts, await writer.end()] : state.exportParts;
    return {
      done,
      merge: {
        offsets: [backup.offsets(), other.offsets()],
        merged,
        figures: done ? tally.result() : tally.figures,
        candidates: tally.sampleCandidates(),
        exportParts,
      },
    };
  } catch (error) {
    writer?.abort(error);
    throw error;
  } finally {
    await Promise.all([backup.close(), other.close()]);
  }
}

/** One part of the differences CSV, streamed to storage as the merge finds them. */
class ExportWriter {
  private readonly sink = new PassThrough();
  private readonly uploading: Promise<{ bytes: number }>;
  private readonly key: string;
  private text = '';
  private rows = 0;

  constructor(blobs: Pick<BlobStore, 'upload'>, key: string, withHeader: boolean) {
    this.key = key;
    this.uploading = blobs.upload(key, this.sink, { contentType: 'text/csv; charset=utf-8' });
    this.uploading.catch(() => undefined); // observed in end(); avoids an unhandled rejection meanwhile
    if (withHeader) this.text = encodeCsvLine(EXPORT_HEADER);
  }

  async write(difference: Difference): Promise<void> {
    if (difference.changes.length === 0) {
      this.text += encodeCsvLine([difference.recordId, difference.kind, '', '', '']);
      this.rows += 1;
    }
    for (const change of difference.changes) {
      this.text += encodeCsvLine([difference.recordId, difference.kind, change.property, change.from, change.to]);
      this.rows += 1;
    }
    if (this.text.length >= EXPORT_FLUSH_CHARS) await this.flush();
  }

  async end(): Promise<{ key: string; bytes: number; rows: number }> {
    await this.flush();
    this.sink.end();
    const { bytes } = await this.uploading;
    return { key: this.key, bytes, rows: this.rows };
  }

  abort(error: unknown): void {
    this.sink.destroy(error instanceof Error ? error : new Error(String(error)));
  }

  private async flush(): Promise<void> {
    if (!this.text) return;
    const chunk = Buffer.from(this.text, 'utf8');
    this.text = '';
    // A failed upload must not leave us waiting for a drain that never comes.
    if (!this.sink.write(chunk)) await Promise.race([once(this.sink, 'drain'), this.uploading]);
  }
}
