import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';
import { movableClock } from '../support/movable-clock.ts';
import { buildBackupZip, runCli } from './support.ts';

describe('crm-backup diff (offline) and compare (online)', () => {
  let runtime: TestRuntime;
  let env: Record<string, string>;
  let dir: string;
  const clock = movableClock();
  const zips = { monday: '', tuesday: '' };
  const ids = { monday: '', tuesday: '' };
  const changed = { edited: '', deleted: [] as string[] };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'crm-backup-diff-test-'));
    runtime = await startTestRuntime({ clock });
    env = { CRM_BACKUP_URL: runtime.url, CRM_BACKUP_TOKEN: await runtime.tokenFor('admin@acme.example') };
    const backup = async (name: 'monday' | 'tuesday') => {
      const created = await runCli(['backup', 'create', '--json'], env);
      expect(created.code).toBe(0);
      ids[name] = JSON.parse(created.stdout).id;
      zips[name] = join(dir, `${name}.zip`);
      const downloaded = await runCli(['backup', 'download', ids[name], '-o', zips[name]], env);
      expect(downloaded.code, downloaded.stderr).toBe(0);
    };
    await backup('monday');
    const deals = (await runtime.api('GET', '/v1/objects/deals/records?limit=5')).body.items as Array<{ id: string }>;
    changed.edited = deals[0]!.id;
    expect((await runtime.api('PATCH', `/v1/objects/deals/records/${changed.edited}`, { body: { properties: { dealname: 'Edited, "quoted"' } } })).status).toBe(200);
    for (const deal of deals.slice(1, 3)) {
      expect((await runtime.api('DELETE', `/v1/objects/deals/records/${deal.id}`)).status).toBe(204);
      changed.deleted.push(deal.id);
    }
    clock.advance(8 * 24 * 3_600_000);
    await backup('tuesday');
  }, 180_000);

  afterAll(async () => {
    await runtime?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('diff counts the edit and the deletions between two downloaded backups, per type and property', async () => {
    const result = await runCli(['diff', zips.monday, zips.tuesday]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`From backup ${ids.monday}`);
    expect(result.stdout).toContain('deals: 0 added, 2 removed, 1 changed, 37 unchanged.');
    expect(result.stdout).toContain('contacts: 0 added, 0 removed, 0 changed, 40 unchanged.');
    expect(result.stdout).toMatch(/dealname\s+1\n/);
    expect(result.stdout).toContain(`${changed.edited}  CHANGED  dealname`);
    expect(result.stdout).toContain('"Edited, \\"quoted\\""');
  });

  it('gives the same counts as the service, in JSON, for one object type', async () => {
    const offline = await runCli(['diff', zips.monday, zips.tuesday, '--object', 'deals', '--json']);
    expect(offline.code).toBe(0);
    const report = JSON.parse(offline.stdout);
    expect(report.objectTypes).toHaveLength(1);
    const [deals] = report.objectTypes;
    expect(deals).toMatchObject({ objectType: 'deals', records: { from: 40, to: 38 }, added: 0, removed: 2, changed: 1, unchanged: 37 });

    const online = await runCli(['compare', ids.monday, '--object', 'deals', '--with', ids.tuesday, '--json'], env);
    expect(online.code, online.stderr).toBe(0);
    const comparison = JSON.parse(online.stdout);
    for (const field of ['added', 'removed', 'changed', 'unchanged', 'perProperty'] as const) expect(comparison[field], field).toEqual(deals[field]);
    expect(comparison.sample.map((item: { recordId: string }) => item.recordId).sort()).toEqual(deals.sample.map((item: { recordId: string }) => item.recordId).sort());
  });

  it('diff --csv writes every difference; compare --csv downloads the same rows from the service', async () => {
    const offlineCsv = join(dir, 'offline.csv');
    const offline = await runCli(['diff', zips.monday, zips.tuesday, '--object', 'deals', '--csv', offlineCsv]);
    expect(offline.code, offline.stderr).toBe(0);
    const rows = parse(await readFile(offlineCsv, 'utf8'), { columns: true }) as Array<Record<string, string>>;
    expect(rows.filter((row) => row.kind === 'CHANGED')).toEqual([{ record_id: changed.edited, kind: 'CHANGED', property: 'dealname', from: expect.any(String), to: 'Edited, "quoted"' }]);
    expect([...new Set(rows.filter((row) => row.kind === 'REMOVED').map((row) => row.record_id))].sort()).toEqual([...changed.deleted].sort());

    const onlineCsv = join(dir, 'online.csv');
    const online = await runCli(['compare', ids.monday, '--object', 'deals', '--with', ids.tuesday, '--csv', onlineCsv], env);
    expect(online.code, online.stderr).toBe(0);
    expect(online.stdout).toContain(`Every difference (${rows.length} rows)`);
    expect(parse(await readFile(onlineCsv, 'utf8'), { columns: true })).toEqual(rows);
  });

  it('compare with today\'s data shows what changed since the backup', async () => {
    const result = await runCli(['compare', ids.monday, '--object', 'deals'], env);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`Backup ${ids.monday} compared with today's data`);
    expect(result.stdout).toContain('deals: 0 added, 2 removed, 1 changed, 37 unchanged.');
  });

  it('refuses what cannot be compared, with a sentence and exit code 2 (1 for a damaged zip)', async () => {
    const unknown = await runCli(['diff', zips.monday, zips.tuesday, '--object', 'unicorns']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('"unicorns" is not an object type of either backup');
    const same = await runCli(['diff', zips.monday, zips.monday]);
    expect(same.code).toBe(2);
    expect(same.stderr).toContain(`Both files are backup ${ids.monday}`);
    const csvWithoutType = await runCli(['diff', zips.monday, zips.tuesday, '--csv', join(dir, 'x.csv')]);
    expect(csvWithoutType.code).toBe(2);
    const missing = await runCli(['diff', join(dir, 'nope.zip'), zips.tuesday]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no such file');

    // A CSV whose bytes differ from its manifest's SHA-256: refused, nothing counted.
    const tampered = join(dir, 'tampered.zip');
    await writeFile(tampered, buildBackupZip({ deals: 'id,dealname\nd1,A\n' }, (files) => files.map((file) => ({ ...file, sha256: '0'.repeat(64) }))));
    const other = join(dir, 'other.zip');
    await writeFile(other, buildBackupZip({ deals: 'id,dealname\nd1,B\n' }, undefined, [], 'bk_other'));
    const damaged = await runCli(['diff', tampered, other, '--json']);
    expect(damaged.code).toBe(1);
    expect(JSON.parse(damaged.stdout).error.message).toMatch(/SHA-256|does not match/);
  });
});
