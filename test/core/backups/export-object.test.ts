import type { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exportObject, type ExportObjectInput, type ExportObjectOutput } from '#core/backups/export-object.ts';
import { headerRow, recordRows } from '../../support/csv-oracle.ts';
import { recordBackupFailure } from '#core/backups/backup-failure.ts';
import { TransientError } from '#core/errors.ts';
import type { CrmRecord, ObjectType } from '#core/model.ts';
import { memoryDeps, type TestDeps } from '../../support/in-memory-ports.ts';

const CONTACTS: ObjectType = {
  name: 'contacts', label: 'Contact', pluralLabel: 'Contacts', custom: false,
  properties: ['firstname', 'notes', 'city'].map((name) => ({ name, label: name, type: 'string', readOnly: false, calculated: false, sensitive: false })),
};

function setUp(records: CrmRecord[]): TestDeps {
  const deps = memoryDeps();
  deps.records.types.set('contacts', CONTACTS);
  deps.records.records.set('contacts', records);
  deps.backups.backups.set('acme/bk_1', { id: 'bk_1', accountId: 'acme', status: 'RUNNING', trigger: 'api', requestedBy: 'a@x', createdAt: '2026-11-26T10:00:00.000Z', objects: [] });
  return deps;
}

/** Runs the export like the state machine does: again and again until done. */
async function exportAll(deps: TestDeps, budgetMs: number): Promise<{ output: ExportObjectOutput; invocations: number }> {
  let input: ExportObjectInput = { accountId: 'acme', backupId: 'bk_1', objectType: 'contacts', index: 0 };
  for (let invocations = 1; ; invocations += 1) {
    // The budget is read once at the start; afterwards only `budgetMs` is left.
    let calls = 0;
    const output = await exportObject(input, deps, { remainingMs: () => (calls++ === 0 ? 900_000 : budgetMs) });
    if (output.done) return { output, invocations };
    expect(JSON.stringify(output).length).toBeLessThan(2000);
    input = output;
  }
}

/** The CSV the parts hold: each part is a raw deflate segment, and together they are one deflate stream. */
function csvOf(deps: TestDeps, parts: number): string {
  const segments = Array.from({ length: parts }, (_, part) => deps.blobs.objects.get(`backups/acme/bk_1/parts/contacts/${String(part).padStart(5, '0')}.csv`)!);
  return zlib.inflateRawSync(Buffer.concat(segments), { finishFlush: zlib.constants.Z_SYNC_FLUSH }).toString('utf8');
}

const record = (id: number, properties: Record<string, string> = {}): CrmRecord => ({ id: String(id), properties });

describe('exportObject', () => {
  it('writes the header and one row per record, blanks as empty fields', async () => {
    const deps = setUp([record(1, { firstname: 'Ana', city: 'Lyon' }), record(2, { notes: 'a, "b"\nc' })]);
    const { output } = await exportAll(deps, 900_000);
    expect(output).toMatchObject({ done: true, records: 2 });
    const rows = parse(csvOf(deps, output.parts)) as string[][];
    expect(rows[0]).toEqual(['id', 'firstname', 'notes', 'city']);
    expect(rows.slice(1).sort()).toEqual([['1', 'Ana', '', 'Lyon'], ['2', '', 'a, "b"\nc', '']]);
  });

  it('continues over several invocations when out of time, with the same rows as one invocation', async () => {
    const records = Array.from({ length: 50 }, (_, index) => record(index + 1, { firstname: `n${index}` }));
    const once = setUp(records);
    const single = await exportAll(once, 900_000);
    const sliced = setUp(records);
    const looped = await exportAll(sliced, 0);
    expect(single.invocations).toBe(1);
    expect(looped.invocations).toBeGreaterThan(3);
    expect(looped.output.records).toBe(50);
    const sortRows = (text: string) => (parse(text) as string[][]).slice(1).sort((a, b) => Number(a[0]) - Number(b[0]));
    expect(sortRows(csvOf(sliced, looped.output.parts))).toEqual(sortRows(csvOf(once, single.output.parts)));
  });

  it('counts zero records for an empty type', async () => {
    const deps = setUp([]);
    const { output } = await exportAll(deps, 900_000);
    expect(output).toMatchObject({ done: true, records: 0 });
    expect(deps.backups.backups.get('acme/bk_1')!.objects![0]).toMatchObject({ objectType: 'contacts', records: 0, status: 'EXPORTED' });
  });

  it('stops when the backup is no longer running', async () => {
    const deps = setUp([record(1)]);
    deps.backups.backups.get('acme/bk_1')!.status = 'FAILED';
    await expect(exportAll(deps, 900_000)).rejects.toThrow('no longer running');
  });

  it('turns an unexpected error into a readable StepFailedError naming the object type', async () => {
    const deps = setUp([record(1)]);
    deps.records.readSegmentPage = async () => {
      throw new Error('socket hang up at 10.0.0.7');
    };
    const error = await exportAll(deps, 900_000).catch((caught: Error) => caught);
    expect(error).toMatchObject({ name: 'StepFailedError', message: 'Exporting contacts failed: an internal error occurred.' });
  });
});

describe('exportObject after the backup failed meanwhile', () => {
  it('deletes the parts it wrote when it fails after a sibling failed the backup and its cleanup ran', async () => {
    const deps = setUp([record(1)]);
    // A sibling export failed the backup (cleanup done: FAILED and notified) after this one
    // checked that it runs and before it wrote its header part; then this one fails too,
    // e.g. throttled for good.
    const upload = deps.blobs.upload.bind(deps.blobs);
    deps.blobs.upload = async (key: string, body: Readable) => {
      await recordBackupFailure({ accountId: 'acme', backupId: 'bk_1', reason: 'Exporting deals failed: an internal error occurred.' }, deps);
      return upload(key, body);
    };
    deps.records.readSegmentPage = async () => {
      throw new TransientError('The record store is temporarily unavailable');
    };
    await expect(exportAll(deps, 900_000)).rejects.toMatchObject({ name: 'TransientError' });
    expect(deps.backups.backups.get('acme/bk_1')).toMatchObject({ status: 'FAILED' });
    expect([...deps.blobs.objects.keys()].filter((key) => key.startsWith('backups/acme/bk_1/'))).toEqual([]);
  });

  it('keeps its parts when it fails while the backup still runs (the retry or the failure step takes over)', async () => {
    const deps = setUp([record(1)]);
    deps.records.readSegmentPage = async () => {
      throw new TransientError('The record store is temporarily unavailable');
    };
    await expect(exportAll(deps, 900_000)).rejects.toMatchObject({ name: 'TransientError' });
    expect(deps.blobs.objects.has('backups/acme/bk_1/parts/contacts/00000.csv')).toBe(true);
  });
});

describe('csv format', () => {
  it('round-trips any strings through csv-parse', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' })), { minLength: 1, maxLength: 20 }), (values) => {
        const records = values.map(([a, b], index) => record(index, { a, b }));
        const text = headerRow(['a', 'b']) + recordRows(records, ['a', 'b']);
        const rows = parse(text, { relax_column_count: false }) as string[][];
        expect(rows.slice(1)).toEqual(records.map((item) => [item.id, item.properties.a, item.properties.b]));
      }),
      { numRuns: 300 },
    );
  });
});
