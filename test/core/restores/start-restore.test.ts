import { describe, expect, it } from 'vitest';
import type { DataSource } from '#core/ports/data-source.ts';
import type { RestoreExecutionInput } from '#core/restores/start-restore.ts';
import type { TestDeps } from '../../support/in-memory-ports.ts';
import { readyPlan, restoreSetUp, startedRestore } from '../../support/in-memory-restore.ts';

/** Starts a restore with `tuning`; answers what the restore state machine was started with. */
async function executionInput(tuning: TestDeps['config']['restoreTuning']): Promise<RestoreExecutionInput> {
  const { deps, backupId } = await restoreSetUp(tuning);
  const plan = await readyPlan(deps, backupId);
  await startedRestore(deps, plan.id);
  return deps.started.at(-1)!.input as unknown as RestoreExecutionInput;
}

describe('startRestore: how many segments the state machine applies at once', () => {
  it('as many as the data source takes (the built-in CRM: its write partitions)', async () => {
    const input = await executionInput({ segmentRecords: 2 });
    expect(input.segments.length).toBeGreaterThan(4);
    expect(input.segmentsAtOnce).toBe(4); // the in-memory store's segmentCount
  });

  it('never more than the plan has segments', async () => {
    const input = await executionInput({});
    expect(input.segments).toEqual([{ segment: 0 }]);
    expect(input.segmentsAtOnce).toBe(1);
  });

  it('fewer when the runtime caps it (the local stand-in)', async () => {
    const input = await executionInput({ segmentRecords: 2, segmentsAtOnce: 2 });
    expect(input.segmentsAtOnce).toBe(2);
  });

  it('what a connected source takes, not the built-in CRM\'s partitions', async () => {
    const { deps, backupId } = await restoreSetUp({ segmentRecords: 2 });
    const plan = await readyPlan(deps, backupId);
    const builtIn = await deps.sources.forAccount('acme');
    deps.sources = { forAccount: async () => Object.assign(Object.create(builtIn) as DataSource, { applyConcurrency: 3 }) };
    await startedRestore(deps, plan.id);
    expect((deps.started.at(-1)!.input as unknown as RestoreExecutionInput).segmentsAtOnce).toBe(3);
  });
});
