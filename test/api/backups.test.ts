import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackupManifest, CrmRecord } from '#core/model.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';
import { unzipEntries } from '../support/zip-entries.ts';

const run = promisify(execFile);

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

  let acmeBackupId: string;
  let acmeZip: Buffer;

  it('backs up an account into a zip whose CSVs equal the data plane', async () => {
    const started = await runtime.api('POST', '/v1/backups');
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ status: 'QUEUED', trigger: 'api', requestedBy: 'admin@acme.example' });
    expect(started.body.zipKey).toBeUndefined();
    await runtime.idle();
    const { body: backup } = await runtime.api('GET', `/v1/backups/${started.body.id}`);
    expect(backup.status, backup.error).toBe('SUCCEEDED');
    acmeBackupId = backup.id;
    acmeZip = await downloadZip(runtime, backup.id);
    expect(backup.sizeBytes).toBe(acmeZip.length);
    const { manifest } = await expectZipMatchesDataPlane(runtime, 'acme', acmeZip, backup.id);
    expect(manifest.completedAt).toBe(backup.completedAt);
    expect(Date.parse(backup.expiresAt) - Date.parse(backup.completedAt)).toBe(14 * 24 * 3600 * 1000);
    // The API lists the same counts and checksums as the manifest.
    for (const file of manifest.files) {
      expect(backup.objects.find((object: { objectType: string }) => object.objectType === file.objectType)).toMatchObject({
        records: file.records,
        file: file.name,
        sha256: file.sha256,
      });
    }
  });

  it('exports the values that break naive CSV writers exactly', async () => {
    const entries = await unzipEntries(acmeZip);
    const text = entries.get('contacts.csv')!.toString('utf8');
    const values = new Set((parse(text) as string[][]).flat());
    for (const tricky of ['Smith, Jones & Partners', 'The "Best" Company', 'first line\nsecond line', 'windows line\r\nbreak', '🚀 Launch 🎉']) {
      const anywhere = [...entries.entries()]
        .filter(([name]) => name.endsWith('.csv'))
        .some(([, csv]) => (parse(csv.toString('utf8')) as string[][]).flat().includes(tricky));
      expect(anywhere, tricky).toBe(true);
    }
    expect(values.has('')).toBe(true);
    expect(text.startsWith('id,')).toBe(true);
  });

  it('makes a standard zip (unzip -t)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'backup-zip-'));
    try {
      await writeFile(join(dir, 'backup.zip'), acmeZip);
      const { stdout } = await run('unzip', ['-t', join(dir, 'backup.zip')]);
      expect(stdout).toContain('No errors detected');
      expect(stdout).toContain('contacts.csv');
      expect(stdout).toContain('manifest.json');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('deletes the part files once zipped, keeping only the zip', async () => {
    expect(await runtime.deps.blobs.size(`backups/acme/${acmeBackupId}/parts/contacts/00000.csv`)).toBeUndefined();
    const { body } = await runtime.api('GET', `/v1/backups/${acmeBackupId}/download?redirect=false`);
    expect(new URL(body.url).pathname).toMatch(new RegExp(`/backups/acme/${acmeBackupId}/crm-backup-acme-\\d{4}-\\d{2}-\\d{2}\\.zip$`));
  });

  it('answers the download link as JSON with ?redirect=false, valid for at most 5 minutes', async () => {
    const { status, body } = await runtime.api('GET', `/v1/backups/${acmeBackupId}/download?redirect=false`);
    expect(status).toBe(200);
    const url = new URL(body.url);
    expect(Number(url.searchParams.get('X-Amz-Expires'))).toBeLessThanOrEqual(300);
    expect(url.searchParams.get('response-content-disposition')).toMatch(/^attachment; filename="crm-backup-acme-/);
    expect(Date.parse(body.expiresAt) - Date.now()).toBeLessThanOrEqual(300_000);
    const file = await fetch(body.url);
    expect(Buffer.from(await file.arrayBuffer()).equals(acmeZip)).toBe(true);
  });

  it('emails the requester a link to the backup page, not to the file', async () => {
    const emails = await runtime.outbox();
    const ready = emails.find((email) => email.text.includes(acmeBackupId) && email.subject.includes('ready'));
    expect(ready).toBeDefined();
    expect(ready!.to).toEqual(['admin@acme.example']);
    expect(ready!.text).toContain(`${runtime.config.appUrl}/backups/${acmeBackupId}`);
    expect(ready!.text).not.toContain('X-Amz-Signature');
    expect(ready!.text).toMatch(/contacts: 40 records/);
  });

  it('records requested, completed and downloaded in the audit log', async () => {
    const { items } = await runtime.deps.audit.list('acme', { limit: 50 });
    const actions = items.filter((entry) => entry.resourceId === acmeBackupId).map((entry) => entry.action);
    expect(actions).toEqual(expect.arrayContaining(['BACKUP_REQUESTED', 'BACKUP_COMPLETED', 'BACKUP_DOWNLOADED']));
  });

  it('refuses a second Enterprise backup within 24 hours with 429, nextAllowedAt and Retry-After', async () => {
    const { body: first } = await runtime.api('GET', `/v1/backups/${acmeBackupId}`);
    const { status, body, headers } = await runtime.api('POST', '/v1/backups');
    expect(status).toBe(429);
    expect(body.error.code).toBe('QUOTA_EXCEEDED');
    expect(body.error.nextAllowedAt).toBe(new Date(Date.parse(first.createdAt) + 24 * 3600 * 1000).toISOString());
    expect(body.error.message).toContain('Enterprise');
    const retryAfter = Number(headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(23 * 3600);
    expect(retryAfter).toBeLessThanOrEqual(24 * 3600);
  });

  it('backs up globex with no file for its empty tickets, and refuses a second one for 7 days', async () => {
    const started = await runtime.api('POST', '/v1/backups', { as: 'admin@globex.example' });
    expect(started.status).toBe(202);
    await runtime.idle();
    const { body: backup } = await runtime.api('GET', `/v1/backups/${started.body.id}`, { as: 'admin@globex.example' });
    expect(backup.status, backup.error).toBe('SUCCEEDED');
    expect(backup.objects.find((object: { objectType: string }) => object.objectType === 'tickets')).toEqual(
      expect.objectContaining({ records: 0 }),
    );
    expect(backup.objects.find((object: { objectType: string }) => object.objectType === 'tickets').file).toBeUndefined();
    const zip = await downloadZip(runtime, backup.id, 'admin@globex.example');
    const { entries, manifest } = await expectZipMatchesDataPlane(runtime, 'globex', zip, backup.id);
    expect(entries.has('tickets.csv')).toBe(false);
    expect(manifest.files.some((file) => file.objectType === 'tickets')).toBe(false);
    expect(entries.has('p_projects.csv')).toBe(true);

    const again = await runtime.api('POST', '/v1/backups', { as: 'admin@globex.example' });
    expect(again.status).toBe(429);
    expect(again.body.error.nextAllowedAt).toBe(new Date(Date.parse(backup.createdAt) + 7 * 24 * 3600 * 1000).toISOString());
    expect(again.body.error.message).toContain('7 days');
  });

  it('lists the history newest first, paginated, per account', async () => {
    const { body: page1 } = await runtime.api('GET', '/v1/backups?limit=1');
    expect(page1.items).toHaveLength(1);
    expect(page1.items[0].id).toBe(acmeBackupId);
    const { body: globex } = await runtime.api('GET', '/v1/backups', { as: 'admin@globex.example' });
    expect(globex.items.map((backup: { id: string }) => backup.id)).not.toContain(acmeBackupId);
    expect(globex.items).toHaveLength(1);
  });

  it('answers 403 to users who are not super admins, and changes nothing', async () => {
    for (const [method, path] of [['POST', '/v1/backups'], ['GET', '/v1/backups'], ['GET', `/v1/backups/${acmeBackupId}`], ['GET', `/v1/backups/${acmeBackupId}/download`], ['GET', '/v1/backup-schedule']] as const) {
      const { status, body } = await runtime.api(method, path, { as: 'user@acme.example' });
      expect(status, `${method} ${path}`).toBe(403);
      expect(body.error.code).toBe('FORBIDDEN');
    }
  });

  it("answers 404 for another account's backup", async () => {
    for (const path of [`/v1/backups/${acmeBackupId}`, `/v1/backups/${acmeBackupId}/download`]) {
      const { status, body } = await runtime.api('GET', path, { as: 'admin@globex.example' });
      expect(status, path).toBe(404);
      expect(body.error.code).toBe('NOT_FOUND');
    }
    expect((await runtime.api('GET', '/v1/backups/bk_doesnotexist')).status).toBe(404);
    expect((await runtime.api('GET', '/v1/backups/not-an-id')).status).toBe(400);
  });

  it('answers 401 without a token', async () => {
    expect((await runtime.api('POST', '/v1/backups', { as: null })).status).toBe(401);
  });
});
