import { describe, expect, it } from 'vitest';
import { FAILURES_KEPT } from '#core/restore-model.ts';
import { advanceProgress, startingProgress, sumProgress, type PlannedRow } from '#core/restores/segment-progress.ts';

const rows: PlannedRow[] = ['r1', 'r2', 'r3', 'r4'].map((id) => ({ id, values: {}, bytes: 10 }));

describe('advanceProgress', () => {
  it('moves the cursor past a settled round and counts each row', () => {
    const { next, ...rest } = advanceProgress(startingProgress(), rows, [{ outcome: 'updated' }, { outcome: 'unchanged' }, { outcome: 'missing' }, { outcome: 'updated' }]);
    expect(rest).toEqual({});
    expect(next).toEqual({ cursor: { index: 4, offset: 40 }, counts: { updated: 2, unchanged: 1, missing: 1, failed: 0, conflicting: 0 }, ahead: {} });
  });

  it('stops the cursor at the first failure and keeps the rows settled after it aside, to be counted once', () => {
    const failure = new Error('throttled');
    const { next, error } = advanceProgress(startingProgress(), rows, [{ outcome: 'updated' }, { error: failure }, { outcome: 'updated' }, { error: new Error('later') }]);
    expect(error).toBe(failure);
    expect(next).toEqual({ cursor: { index: 1, offset: 10 }, counts: { updated: 1, unchanged: 0, missing: 0, failed: 0, conflicting: 0 }, ahead: { r3: 'updated' } });
    // The retry settles r2 to r4 (r3 from `ahead`, without writing): r3 leaves `ahead` as it is counted.
    const retried = advanceProgress(next, rows.slice(1), [{ outcome: 'unchanged' }, { outcome: 'updated' }, { outcome: 'missing' }]);
    expect(retried.next).toEqual({ cursor: { index: 4, offset: 40 }, counts: { updated: 2, unchanged: 1, missing: 1, failed: 0, conflicting: 0 }, ahead: {} });
  });

  it('keeps a failed record\'s reason once: when it settles, in the counted rows or aside, never again when counted from aside', () => {
    const { next } = advanceProgress(startingProgress(), rows, [
      { outcome: 'failed', reason: 'refused r1' },
      { error: new Error('throttled') },
      { outcome: 'failed', reason: 'refused r3' },
      { outcome: 'updated' },
    ]);
    expect(next.failures).toEqual([{ recordId: 'r1', reason: 'refused r1' }, { recordId: 'r3', reason: 'refused r3' }]);
    const retried = advanceProgress(next, rows.slice(1), [{ outcome: 'updated' }, { outcome: 'failed' }, { outcome: 'updated' }]);
    expect(retried.next.counts).toEqual({ updated: 2, unchanged: 0, missing: 0, failed: 2, conflicting: 0 });
    expect(retried.next.failures).toEqual(next.failures);
  });

  it('keeps at most FAILURES_KEPT reasons, and counts every failure', () => {
    const many: PlannedRow[] = Array.from({ length: FAILURES_KEPT + 5 }, (_, index) => ({ id: `r${index}`, values: {}, bytes: 1 }));
    const { next } = advanceProgress(startingProgress(), many, many.map((row) => ({ outcome: 'failed' as const, reason: `no ${row.id}` })));
    expect(next.counts.failed).toBe(FAILURES_KEPT + 5);
    expect(next.failures).toHaveLength(FAILURES_KEPT);
  });
});

describe('sumProgress', () => {
  it('adds segment counts and the records a failed batch settled past its cursor, once each', () => {
    const counts = sumProgress([
      { cursor: { index: 10, offset: 900 }, counts: { updated: 3, unchanged: 6, missing: 1, failed: 0, conflicting: 0 }, ahead: { r12: 'updated', r14: 'unchanged' } },
      { cursor: { index: 5, offset: 400 }, counts: { updated: 5, unchanged: 0, missing: 0, failed: 0, conflicting: 0 }, ahead: {} },
    ]);
    expect(counts).toEqual({ updated: 9, unchanged: 7, missing: 1, failed: 0, conflicting: 0 });
  });
});
