import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CompareTuning } from '#core/compare/compare-policy.ts';
import type { AppDeps } from '#runtime/deps.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';
import { movableClock } from '../support/movable-clock.ts';
import { bucketKeys } from '../support/stand-ins.ts';

const ADMIN = 'admin@acme.example';

/**
 * Small runs and batches, so 40 deals make several sorted runs a side and a merge that
 * resumes; `budgetMs` is turned to 0 by a test to make the API hand a comparison to the
 * `comparison` state machine at once (202).
 */
const tuning: CompareTuning = { runBytes: 2_000, batchRecords: 7, mergeFanIn: 3 };

describe('compare a backup with today\'s data and with another backup', () => {
  let runtime: TestRuntime;
  /** Moved a quota period on between the two backups. */
  const clock = movableClock();
  let first: string;
  let second: string;
  /** What the test changed after the first backup. */
  const made = { edited: [] as string[], renamed: '', deleted: [] as string[], added: ['deal-new-1', 'deal-new-2', 'deal-new-3'] };

  const compare = (backupId: string, query: string, as = ADMIN) => runtime.api('GET', `/v1/backups/${backupId}/compare?${query}`, { as });
  const backup = async () => {
    const requested = await runtime.api('POST', '/v1/backups', { as: ADMIN });
    expect(requested.status).toBe(202);
    await runtime.idle();
    expect((await runtime.api('GET', `/v1/backups/${requested.body.id}`)).body.status).toBe('SUCCEEDED');
    return requested.body.id as string;
  };
  const expectTheChanges = (body: Record<string, any>) => {
    expect(body).toMatchObject({ status: 'READY', objectType: 'deals', added: 3, removed: 2, changed: 4, unchanged: 40 - 2 - 4 });
    // Every property of the type is listed, in the backup's column order; only two changed.
    expect(body.perProperty.length).toBeGreaterThan(2);
    expect(Object.fromEntries(body.perProperty.filter((property: { changed: number }) => property.changed > 0).map((property: { name: string; changed: number }) => [property.name, property.changed]))).toEqual({
      amount: 4,
      dealname: 1,
    });
    const kinds = (kind: string) => (body.sample as Array<{ recordId: string; kind: string }>).filter((item) => item.kind === kind).map((item) => item.recordId).sort();
    expect(kinds('ADDED')).toEqual([...made.added].sort());
    expect(kinds('REMOVED')).toEqual([...made.deleted].sort());
    expect(kinds('CHANGED')).toEqual([...made.edited].sort());
    const renamed = body.sample.find((item: { recordId: string }) => item.recordId === made.renamed);
    expect(renamed.changes).toContainEqual({ property: 'dealname', from: expect.any(String), to: 'Renamed after the backup' });
  };

  beforeAll(async () => {
    runtime = await startTestRuntime({ clock, wrapDeps: (deps: AppDeps) => ({ ...deps, config: { ...deps.config, compareTuning: tuning } }) });
    first = await backup();
    const deals = (await runtime.api('GET', '/v1/objects/deals/records?limit=40', { as: ADMIN })).body.items as Array<{ id: string; properties: Record<string, string> }>;
    expect(deals).toHaveLength(40);
    for (const deal of deals.slice(0, 4)) {
      const edited = await runtime.api('PATCH', `/v1/objects/deals/records/${deal.id}`, { as: ADMIN, body: { properties: { amount: String(Number(deal.properties.amount ?? 0) + 1000) } } });
      expect(edited.status).toBe(200);
      made.edited.push(deal.id);
    }
    made.renamed = deals[0]!.id;
    expect((await runtime.api('PATCH', `/v1/objects/deals/records/${made.renamed}`, { as: ADMIN, body: { properties: { dealname: 'Renamed after the backup' } } })).status).toBe(200);
    for (const deal of deals.slice(10, 12)) {
      expect((await runtime.api('DELETE', `/v1/objects/deals/records/${deal.id}`, { as: ADMIN })).status).toBe(204);
      made.deleted.push(deal.id);
    }
    // The data plane has no create route: new records arrive as an import would write them.
    await runtime.deps.records.putRecords(
      'acme',
      'deals',
      made.added.map((id) => ({ id, properties: { dealname: `New ${id}`, amount: '5' } })),
    );
    clock.advance(8 * 24 * 3_600_000);
    second = await backup();
  }, 180_000);

  afterAll(async () => {
    await runtime?.destroy();
  });

  it('counts exactly the edits, deletions and additions made since the backup, against today\'s data', async () => {
    const response = await compare(first, 'with=live&objectType=deals');
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ backupId: first, with: 'live' });
    expectTheChanges(response.body);
  });

  it('counts the same against a backup taken after the changes, and nothing between that backup and today', async () => {
    const between = await compare(first, `with=${second}&objectType=deals`);
    expect(between.status).toBe(200);
    expect(between.body).toMatchObject({ backupId: first, with: second });
    expectTheChanges(between.body);

    const since = await compare(second, 'objectType=deals');
    expect(since.status).toBe(200);
    expect(since.body).toMatchObject({ with: 'live', added: 0, removed: 0, changed: 0, unchanged: 41, sample: [] });
    expect(since.body.perProperty.every((property: { changed: number }) => property.changed === 0)).toBe(true);
  });

  it('answers the kept comparison of two backups again, and a new one with refresh=true', async () => {
    const again = await compare(first, `with=${second}&objectType=deals`);
    const kept = await compare(first, `with=${second}&objectType=deals`);
    expect(kept.body.id).toBe(again.body.id);
    const fresh = await compare(first, `with=${second}&objectType=deals&refresh=true`);
    expect(fresh.body.id).not.toBe(again.body.id);
    expectTheChanges(fresh.body);
  });

  it('answers 202 with progress when the comparison outlasts the API call, and finishes it in the background', async () => {
    tuning.budgetMs = 0;
    try {
      const started = await compare(first, `with=${second}&objectType=deals&refresh=true`);
      expect(started.status).toBe(202);
      expect(started.body.status).toBe('COMPARING');
      // Each record is read once into a run and merged once: 2 × (40 + 41) steps.
      expect(started.body.progress).toEqual({ done: expect.any(Number), total: 2 * (40 + 41) });
      expect(started.body.progress.done).toBeLessThan(started.body.progress.total);
      await runtime.idle();
      const finished = await compare(first, `with=${second}&objectType=deals`);
      expect(finished.status).toBe(200);
      expect(finished.body.id).toBe(started.body.id);
      expectTheChanges(finished.body);
      // The sorted runs are gone once READY.
      expect(await bucketKeys(runtime, `comparisons/acme/${started.body.id}/work/`)).toEqual([]);
    } finally {
      delete tuning.budgetMs;
    }
  });

  it('exports every difference as a CSV behind a five-minute download link', async () => {
    const created = await runtime.api('POST', `/v1/backups/${first}/compare-exports`, { as: ADMIN, body: { with: 'live', objectType: 'deals' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: 'READY', added: 3, removed: 2, changed: 4 });
    const shown = await runtime.api('GET', `/v1/compare-exports/${created.body.id}`, { as: ADMIN });
    expect(shown.body).toMatchObject({ id: created.body.id, status: 'READY', export: { rows: expect.any(Number), bytes: expect.any(Number) } });

    const link = await runtime.api('GET', `/v1/compare-exports/${created.body.id}/download?redirect=false`, { as: ADMIN });
    expect(link.status).toBe(200);
    expect(Date.parse(link.body.expiresAt) - clock.now().getTime()).toBeLessThanOrEqual(300_000);
    const redirected = await runtime.api('GET', `/v1/compare-exports/${created.body.id}/download`, { as: ADMIN });
    expect(redirected.status).toBe(302);
    const file = await fetch(link.body.url);
    expect(file.status).toBe(200);
    expect(file.headers.get('content-disposition')).toContain('crm-backup-differences-acme-deals-');
    const rows = parse(await file.text(), { columns: true }) as Array<{ record_id: string; kind: string; property: string; from: string; to: string }>;
    expect(rows).toHaveLength(shown.body.export.rows);
    const records = (kind: string) => [...new Set(rows.filter((row) => row.kind === kind).map((row) => row.record_id))].sort();
    expect(records('ADDED')).toEqual([...made.added].sort());
    expect(records('REMOVED')).toEqual([...made.deleted].sort());
    expect(records('CHANGED')).toEqual([...made.edited].sort());
    expect(rows.filter((row) => row.kind === 'CHANGED').map((row) => row.property).sort()).toEqual(['amount', 'amount', 'amount', 'amount', 'dealname']);
    expect(rows).toContainEqual({ record_id: made.renamed, kind: 'CHANGED', property: 'dealname', from: expect.any(String), to: 'Renamed after the backup' });
    expect(rows).toContainEqual({ record_id: 'deal-new-1', kind: 'ADDED', property: 'dealname', from: '', to: 'New deal-new-1' });

    const audit = (await runtime.api('GET', '/v1/audit-log?limit=100', { as: ADMIN })).body.items as Array<{ action: string; resourceId: string }>;
    expect(audit.filter((entry) => entry.resourceId === created.body.id).map((entry) => entry.action).sort()).toEqual([
      'COMPARISON_EXPORTED',
      'COMPARISON_EXPORT_DOWNLOADED',
      'COMPARISON_EXPORT_DOWNLOADED',
    ]);
  });

  it('refuses the download of an export still comparing (409), and of one whose backup expired (410)', async () => {
    tuning.budgetMs = 0;
    let started;
    try {
      started = await runtime.api('POST', `/v1/backups/${first}/compare-exports`, { as: ADMIN, body: { with: second, objectType: 'deals' } });
      expect(started.status).toBe(202);
      const early = await runtime.api('GET', `/v1/compare-exports/${started.body.id}/download?redirect=false`, { as: ADMIN });
      expect(early.status).toBe(409);
      expect(early.body.error).toMatchObject({ code: 'COMPARISON_NOT_READY', status: 'COMPARING' });
      await runtime.idle();
    } finally {
      delete tuning.budgetMs;
    }
    expect((await runtime.api('GET', `/v1/compare-exports/${started.body.id}`, { as: ADMIN })).body).toMatchObject({ status: 'READY', added: 3, removed: 2, changed: 4 });
    expect((await runtime.api('GET', `/v1/compare-exports/${started.body.id}/download?redirect=false`, { as: ADMIN })).status).toBe(200);
    // Kept as long as the first of its backups: 14 days after the first one completed.
    clock.advance(7 * 24 * 3_600_000);
    const expired = await runtime.api('GET', `/v1/compare-exports/${started.body.id}/download`, { as: ADMIN });
    expect(expired.status).toBe(410);
    expect(expired.body.error.code).toBe('COMPARISON_EXPIRED');
    clock.advance(-7 * 24 * 3_600_000);
  });

  it('refuses what cannot be compared, in a sentence, and keeps tenants apart', async () => {
    const same = await compare(first, `with=${first}&objectType=deals`);
    expect(same.status).toBe(400);
    expect(same.body.error.code).toBe('VALIDATION_ERROR');
    const unknownType = await compare(first, 'objectType=unicorns');
    expect(unknownType.status).toBe(400);
    expect(unknownType.body.error.message).toContain('unicorns');
    expect((await compare(first, 'with=yesterday&objectType=deals')).status).toBe(400);
    expect((await compare(first, 'with=live')).status).toBe(400);
    expect((await compare(first, 'objectType=deals', 'user@acme.example')).status).toBe(403);
    const foreign = await compare(first, 'objectType=deals', 'admin@globex.example');
    expect(foreign.status).toBe(404);
    expect((await runtime.api('GET', '/v1/compare-exports/cmp_unknown', { as: ADMIN })).status).toBe(404);
    const exported = await runtime.api('POST', `/v1/backups/${first}/compare-exports`, { as: ADMIN, body: { with: 'live', objectType: 'deals', extra: 1 } });
    expect(exported.status).toBe(400);
  });
});
