import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppDeps } from '#runtime/deps.ts';
import { seedRecords } from '../../local/seed.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';
import { unzipEntries } from '../support/zip-entries.ts';

const uploadedParts: string[] = [];

/** Records which part files the exports write. */
function watchUploads(deps: AppDeps): AppDeps {
  return {
    ...deps,
    blobs: Object.assign(Object.create(deps.blobs) as typeof deps.blobs, {
      upload: (...args: Parameters<typeof deps.blobs.upload>) => {
        if (args[0].includes('/parts/contacts/')) uploadedParts.push(args[0]);
        return deps.blobs.upload(...args);
      },
    }),
  };
}

describe('an export bigger than one invocation', () => {
  let runtime: TestRuntime;
  beforeAll(async () => {
    // A 50 ms budget: every invocation reads a page or so per segment reader, then hands over a cursor.
    runtime = await startTestRuntime({ functionTimeoutSeconds: { 'export-object': 0.05 }, wrapDeps: watchUploads });
    // Enough records that segments span several DynamoDB pages (1,000 records each).
    await seedRecords(runtime.deps.records, 'acme', 'contacts', 20_000);
  }, 300_000);
  afterAll(async () => {
    await runtime?.destroy();
  });

  it('continues across invocations with a cursor, and the CSV is still exact', async () => {
    const started = await runtime.api('POST', '/v1/backups');
    // While it runs, the API shows progress per object type.
    const seen: number[] = [];
    for (let polls = 0; polls < 2000; polls += 1) {
      const { body } = await runtime.api('GET', `/v1/backups/${started.body.id}`);
      if (body.status !== 'QUEUED' && body.status !== 'RUNNING') break;
      const contacts = body.objects.find((object: { objectType: string }) => object.objectType === 'contacts');
      if (contacts?.status === 'EXPORTING') seen.push(contacts.records);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(seen.some((records) => records > 0 && records < 20_040)).toBe(true);
    await runtime.idle();
    const { body: backup } = await runtime.api('GET', `/v1/backups/${started.body.id}`);
    expect(backup.status, backup.error).toBe('SUCCEEDED');
    const parts = new Set(uploadedParts.filter((key) => key.includes(backup.id)));
    expect(parts.size).toBeGreaterThan(4);

    const link = await runtime.api('GET', `/v1/backups/${backup.id}/download?redirect=false`);
    const zip = Buffer.from(await (await fetch(link.body.url)).arrayBuffer());
    const csv = (await unzipEntries(zip)).get('contacts.csv');
    if (!csv) throw new Error('contacts.csv is not in the zip');
    const [header, ...rows] = parse(csv) as string[][];
    const type = (await runtime.deps.records.getObjectType('acme', 'contacts'))!;
    expect(header).toEqual(['id', ...type.properties.map((property) => property.name)]);
    expect(rows).toHaveLength(20_040);
    expect(new Set(rows.map((row) => row[0])).size).toBe(20_040);
    const expected = new Map<string, Record<string, string>>();
    let cursor: string | undefined;
    do {
      const page = await runtime.deps.records.listRecords('acme', 'contacts', { limit: 500, cursor });
      for (const record of page.items) expected.set(record.id, record.properties);
      cursor = page.nextCursor;
    } while (cursor);
    expect(expected.size).toBe(20_040);
    for (const row of rows) {
      const properties = expected.get(row[0]!)!;
      expect(row.slice(1)).toEqual(type.properties.map((property) => properties[property.name] ?? ''));
    }
    expect(backup.objects.find((object: { objectType: string }) => object.objectType === 'contacts').records).toBe(20_040);
  }, 300_000);
});
