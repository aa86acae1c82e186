import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'csv-parse/sync';
import yauzl from 'yauzl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackupManifest, CrmRecord } from '#core/model.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';

const run = promisify(execFile);

/** Every entry of a zip, by name. */
async function unzipEntries(zip: Buffer): Promise<Map<string, Buffer>> {
  const file = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.fromBuffer(zip, { lazyEntries: true }, (error, opened) => (error ? reject(error) : resolve(opened!))),
  );
  const entries = new Map<string, Buffer>();
  await new Promise<void>((resolve, reject) => {
    file.on('entry', (entry: yauzl.Entry) => {
      file.openReadStream(entry, async (error, stream) => {
        if (error) return reject(error);
        const chunks: Buffer[] = [];
        for await (const chunk of stream!) chunks.push(chunk as Buffer);
        entries.set(entry.fileName, Buffer.concat(chunks));
        file.readEntry();
      });
    });
    file.on('end', () => resolve());
    file.on('error', reject);
    file.readEntry();
  });
  return entries;
}

/** Every record of a type straight from the data plane, blanks filled in. */
async function allRecords(runtime: TestRuntime, accountId: string, objectType: string): Promise<Map<string, CrmRecord>> {
  const records = new Map<string, CrmRecord>();
  let cursor: string | undefined;
  do {
    const page = await runtime.deps.records.listRecords(accountId, objectType, { limit: 500, cursor });
    for (const record of page.items) records.set(record.id, record);
    cursor = page.nextCursor;
  } while (cursor);
  return records;
}

async function downloadZip(runtime: TestRuntime, backupId: string, as = 'admin@acme.example'): Promise<Buffer> {
  const response = await runtime.api('GET', `/v1/backups/${backupId}/download`, { as });
  expect(response.status).toBe(302);
  const file = await fetch(response.headers.get('location')!);
  expect(file.status).toBe(200);
  return Buffer.from(await file.arrayBuffer());
}

/** The zip's CSVs equal the data plane, record for record and value for value. */
async function expectZipMatchesDataPlane(runtime: TestRuntime, accountId: string, zip: Buffer, backupId: string) {
  const entries = await unzipEntries(zip);
  const manifest = JSON.parse(entries.get('manifest.json')!.toString('utf8')) as BackupManifest;
  expect(manifest).toMatchObject({ accountId, backupId });
  const types = await runtime.deps.records.listObjectTypes(accountId);
  const expectedFiles = types.filter((type) => type.records > 0).map((type) => `${type.name}.csv`);
  expect([...entries.keys()].sort()).toEqual([...expectedFiles, 'manifest.json'].sort());
  expect(manifest.files.map((file) => file.name).sort()).toEqual(expectedFiles.sort());
  for (const type of types.filter((candidate) => candidate.records > 0)) {
    const csv = entries.get(`${type.name}.csv`)!;
    const file = manifest.files.find((candidate) => candidate.objectType === type.name)!;
    expect(file.sha256).toBe(createHash('sha256').update(csv).digest('hex'));
    expect(file.bytes).toBe(csv.length);
    const [header, ...rows] = parse(csv.toString('utf8')) as string[][];
    expect(header).toEqual(['id', ...type.properties.map((property) => property.name)]);
    expect(rows.length).toBe(file.records);
    const expected = await allRecords(runtime, accountId, type.name);
    expect(rows.length).toBe(expected.size);
    for (const row of rows) {
      const record = expected.get(row[0]!);
      expect(record, `${type.name} ${row[0]}`).toBeDefined();
      expect(row.slice(1)).toEqual(type.properties.map((property) => record!.properties[property.name] ?? ''));
    }
  }
  return { entries, manifest };
}

describe('backups API', () => {
  let runtime: TestRuntime;
  beforeAll(async () => {
    runtime = await startTestRuntime();
  });
  afterAll(async () => {
    await runtime?.destroy();
  });

  it('backs up an account into a zip whose CSVs equal the data plane', async () => {
    const started = await runtime.api('POST', '/v1/backups');
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ status: 'QUEUED', trigger: 'api', requestedBy: 'admin@acme.example' });
    await runtime.idle();
    const { body: backup } = await runtime.api('GET', `/v1/backups/${started.body.id}`);
    expect(backup.status, backup.error).toBe('SUCCEEDED');
    const zip = await downloadZip(runtime, backup.id);
    expect(backup.sizeBytes).toBe(zip.length);
    await expectZipMatchesDataPlane(runtime, 'acme', zip, backup.id);
  });
});
