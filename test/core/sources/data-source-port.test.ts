import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import type { CrmRecord } from '#core/model.ts';
import type { AppliedChange, ApplyRequest, DataSource, SourceObjectType, SourcePage, StreamPosition } from '#core/ports/data-source.ts';
import { getRestore } from '#core/restores/restore-queries.ts';
import { backUpInMemory } from '../../support/in-memory-backup.ts';
import { memoryDeps, type TestDeps } from '../../support/in-memory-ports.ts';
import { ADMIN, applySegment, backedUpDeals, CHOSEN, DEALS, readyPlan, startedRestore } from '../../support/in-memory-restore.ts';
import { unzipEntries } from '../../support/zip-entries.ts';
import { finalizeRestore } from '#core/restores/finalize-restore.ts';

/**
 * A source unlike the built-in CRM, as HubSpot is: one page stream with an opaque
 * cursor, two records a page, no conditional writes, a history of its own (no change
 * events here), and records it refuses to write with a reason.
 */
class OneStreamSource implements DataSource {
  readonly kind = 'one-stream';
  readonly streams = 1;
  readonly conditionalWrites = false;
  readonly applyConcurrency = 1;
  readonly records = new Map<string, CrmRecord>();
  readonly refused = new Map<string, string>();
  readonly pagesRead: StreamPosition[] = [];
  readonly batches: ApplyRequest[] = [];

  constructor(records: CrmRecord[]) {
    for (const record of records) this.records.set(record.id, structuredClone(record));
  }
  async listObjectTypes(): Promise<SourceObjectType[]> {
    return [DEALS];
  }
  async getObjectType(name: string) {
    return name === 'deals' ? DEALS : undefined;
  }
  async readPage(_objectType: string, properties: string[], position: StreamPosition): Promise<SourcePage> {
    this.pagesRead.push(position);
    const ids = [...this.records.keys()].sort();
    const start = position.resumeAfter ? ids.indexOf(Buffer.from(position.resumeAfter, 'base64').toString()) + 1 : 0;
    const page = ids.slice(start, start + 2);
    const records = page.map((id) => ({ id, properties: Object.fromEntries(properties.map((name) => [name, this.records.get(id)!.properties[name] ?? ''])) }));
    return start + 2 < ids.length ? { records, resumeAfter: Buffer.from(page.at(-1)!).toString('base64') } : { records };
  }
  async readRecords(_objectType: string, ids: string[], properties: string[]) {
    return new Map(ids.filter((id) => this.records.has(id)).map((id) => [id, { id, properties: Object.fromEntries(properties.map((name) => [name, this.records.get(id)!.properties[name] ?? ''])) }]));
  }
  async applyChanges(request: ApplyRequest, writeAllowed: Promise<void> = Promise.resolve()): Promise<AppliedChange[]> {
    this.batches.push(structuredClone(request));
    await writeAllowed;
    return request.records.map((target): AppliedChange => {
      const record = this.records.get(target.id);
      if (!record) return { id: target.id, outcome: 'missing' };
      const refusal = this.refused.get(target.id);
      if (refusal) return { id: target.id, outcome: 'failed', reason: refusal };
      const changes = Object.entries(target.values)
        .map(([property, to]) => ({ property, from: record.properties[property] ?? '', to }))
        .filter((change) => change.from !== change.to);
      if (!changes.length) return { id: target.id, outcome: 'unchanged' };
      for (const change of changes) record.properties[change.property] = change.to;
      return { id: target.id, outcome: 'updated', changes };
    });
  }
}

function withSource(deps: TestDeps, source: DataSource): TestDeps {
  deps.records.accounts.set('acme', { id: 'acme', name: 'Acme', tier: 'enterprise' });
  return { ...deps, sources: { forAccount: async (accountId) => (accountId === 'acme' ? source : Promise.reject(new Error('another account'))) } };
}

describe('the data-source port: backups and restores over a source with one stream and no conditional writes', () => {
  it('backs up every record through the one stream, page after page, in the same CSV shape', async () => {
    const source = new OneStreamSource(backedUpDeals());
    const deps = withSource(memoryDeps(), source);
    const backupId = await backUpInMemory(deps);
    const backup = (await deps.backups.getBackup('acme', backupId))!;
    expect(backup).toMatchObject({ status: 'SUCCEEDED', objects: [{ objectType: 'deals', records: 10, file: 'deals.csv' }] });
    const csv = (await unzipEntries(deps.blobs.objects.get(backup.zipKey!)!)).get('deals.csv')!.toString('utf8');
    const rows = parse(csv) as string[][];
    expect(rows[0]).toEqual(['id', ...DEALS.properties.map((property) => property.name)]);
    expect(rows.slice(1).map((row) => row[0])).toEqual(backedUpDeals().map((deal) => deal.id).sort());
    expect(rows.find((row) => row[0] === 'd05')![2]).toBe('');
    // One stream (0), resumed from each page's cursor: five pages of two.
    expect(source.pagesRead.map((position) => position.stream)).toEqual([0, 0, 0, 0, 0]);
    expect(source.pagesRead[0]!.resumeAfter).toBeUndefined();
    expect(source.pagesRead.slice(1).every((position) => position.resumeAfter)).toBe(true);
  });

  it('restores through applyChanges: counts each outcome, keeps the source\'s reasons for failures, writes no change events of its own', async () => {
    const source = new OneStreamSource(backedUpDeals());
    const deps = withSource(memoryDeps(), source);
    const backupId = await backUpInMemory(deps);
    source.records.get('d02')!.properties.amount = '250';
    source.records.get('d03')!.properties.dealname = 'Renamed';
    source.records.get('d06')!.properties.dealstage = 'won';
    source.records.delete('d04');
    source.refused.set('d06', 'Property values were not valid: dealstage');
    const plan = await readyPlan(deps, backupId, CHOSEN);
    expect(plan).toMatchObject({ recordsToChange: 3, recordsMissing: 1, recordsUnchanged: 6 });
    const restore = await startedRestore(deps, plan.id);
    await applySegment(deps, restore.id, 0);
    await finalizeRestore({ accountId: 'acme', restoreId: restore.id }, deps);

    const view = await getRestore(ADMIN, restore.id, deps);
    expect(view).toMatchObject({ status: 'SUCCEEDED', counts: { updated: 2, unchanged: 6, missing: 1, failed: 1 } });
    expect(view.failures).toEqual([{ recordId: 'd06', reason: 'Property values were not valid: dealstage' }]);
    expect(source.records.get('d02')!.properties.amount).toBe('200');
    expect(source.records.get('d03')!.properties.dealname).toBe('Deal 3');
    // The batch names the restore, a batch id stable across retries, and who asked.
    expect(source.batches[0]).toMatchObject({ objectType: 'deals', restoreId: restore.id, batchId: '0:0', actor: ADMIN.email });
    expect(source.batches[0]!.records.filter((target) => target.expect).map((target) => target.id)).toEqual(['d02', 'd03', 'd06']);
    expect(deps.records.changeEvents).toEqual([]);
    expect(deps.sent.at(-1)!.text).toContain('1 failed');
    expect(deps.sent.at(-1)!.text).toContain('d06: Property values were not valid: dealstage');
  });
});
