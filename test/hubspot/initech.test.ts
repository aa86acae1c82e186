import { createHash } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackupManifest } from '#core/model.ts';
import { Client } from '@hubspot/api-client';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';
import { unzipEntries } from '../support/zip-entries.ts';

/**
 * `initech`, whose data source is the demo HubSpot portal, end to end through the
 * HTTP API: a backup whose every CSV value is what the portal serves, then a restore
 * after edits made through the portal's own API, with records HubSpot refuses.
 */

const ADMIN = 'sso-admin@initech.example';
const acknowledge = { changesData: true, cannotBeUndone: true };

let runtime: TestRuntime;
let portal: { baseUrl: string; accessToken: string; portalId: number };
let hubspot: Client;
let backupId: string;

beforeAll(async () => {
  runtime = await startTestRuntime();
  portal = (await runtime.api('GET', '/local/hubspot', { as: null })).body;
  hubspot = new Client({ accessToken: portal.accessToken, basePath: portal.baseUrl });
});
afterAll(() => runtime?.destroy());

/** Every live record of a portal type with the named properties, as the portal serves them (null → ""). */
async function portalRecords(objectType: string, properties: string[]): Promise<Map<string, Record<string, string>>> {
  const records = new Map<string, Record<string, string>>();
  let after: string | undefined;
  do {
    const page = await listIds(objectType, after);
    if (page.ids.length) {
      const response = await fetch(`${portal.baseUrl}/crm/v3/objects/${objectType}/batch/read`, {
        method: 'POST',
        headers: { authorization: `Bearer ${portal.accessToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ properties, propertiesWithHistory: [], inputs: page.ids.map((id) => ({ id })) }),
      });
      const body = (await response.json()) as { results: Array<{ id: string; properties: Record<string, string | null> }> };
      for (const result of body.results) records.set(result.id, Object.fromEntries(properties.map((name) => [name, result.properties[name] ?? ''])));
    }
    after = page.after;
  } while (after);
  return records;
}

async function listIds(objectType: string, after: string | undefined): Promise<{ ids: string[]; after?: string }> {
  const page = await hubspot.crm.objects.basicApi.getPage(objectType, 100, after, ['hs_object_id']);
  return { ids: page.results.map((result) => result.id), after: page.paging?.next?.after };
}

describe('initech: a HubSpot portal as the data source', () => {
  it('lists the portal\'s object types, with sensitive, read-only and calculated properties, and no counts', async () => {
    const { status, body } = await runtime.api('GET', '/v1/objects', { as: ADMIN });
    expect(status).toBe(200);
    const names = body.items.map((type: { name: string }) => type.name);
    expect(names).toEqual(['contacts', 'companies', 'deals', 'tickets', 'products', 'calls', 'tasks', 'conversations', 'p_vehicles']);
    const contacts = body.items.find((type: { name: string }) => type.name === 'contacts');
    expect(contacts.records).toBeUndefined();
    const property = (name: string) => contacts.properties.find((candidate: { name: string }) => candidate.name === name);
    expect(property('phone')).toMatchObject({ sensitive: true, readOnly: false });
    expect(property('passport_number')).toMatchObject({ sensitive: true });
    expect(property('hs_object_id')).toMatchObject({ readOnly: true });
    expect(property('num_associated_deals')).toMatchObject({ calculated: true });
    expect(property('legacy_lead_source')).toBeUndefined(); // an archived definition
    expect(body.items.find((type: { name: string }) => type.name === 'conversations').restorable).toBe(false);
  });

  it('backs up the portal into a zip whose every CSV value is what the portal serves', async () => {
    const started = await runtime.api('POST', '/v1/backups', { as: ADMIN });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    backupId = started.body.id;
    await runtime.idle();
    const backup = (await runtime.api('GET', `/v1/backups/${backupId}`, { as: ADMIN })).body;
    expect(backup.status, JSON.stringify(backup)).toBe('SUCCEEDED');

    const download = await runtime.api('GET', `/v1/backups/${backupId}/download`, { as: ADMIN });
    expect(download.status).toBe(302);
    const zip = Buffer.from(await (await fetch(download.headers.get('location')!)).arrayBuffer());
    const entries = await unzipEntries(zip);
    const manifest = JSON.parse(entries.get('manifest.json')!.toString('utf8')) as BackupManifest;
    expect(manifest).toMatchObject({ accountId: 'initech', backupId });
    const types = (await runtime.api('GET', '/v1/objects', { as: ADMIN })).body.items as Array<{ name: string; properties: Array<{ name: string }> }>;
    let compared = 0;
    for (const type of types) {
      const file = manifest.files.find((candidate) => candidate.objectType === type.name);
      const csv = entries.get(`${type.name}.csv`);
      if (type.name === 'tasks') {
        // The empty type: no records, whatever the archive does with it.
        expect(file?.records ?? 0).toBe(0);
        continue;
      }
      expect(csv, type.name).toBeDefined();
      expect(file!.sha256).toBe(createHash('sha256').update(csv!).digest('hex'));
      const [header, ...rows] = parse(csv!.toString('utf8')) as string[][];
      const names = type.properties.map((property) => property.name);
      expect(header).toEqual(['id', ...names]);
      expect(rows.length).toBe(file!.records);
      if (type.name === 'conversations') {
        const threads = await (await fetch(`${portal.baseUrl}/conversations/v3/conversations/threads?limit=100`, { headers: { authorization: `Bearer ${portal.accessToken}` } })).json();
        // Archived threads are not backed up: only live ones, every one of them.
        expect(rows.length).toBe(threads.results.filter((thread: { archived: boolean }) => !thread.archived).length);
        const status = names.indexOf('status') + 1;
        for (const row of rows) expect(row[status]).toBe(threads.results.find((thread: { id: string }) => thread.id === row[0]).status);
        continue;
      }
      const served = await portalRecords(type.name === 'p_vehicles' ? 'p_vehicles' : type.name, names);
      expect(rows.length, type.name).toBe(served.size);
      for (const row of rows) {
        const values = served.get(row[0]!);
        expect(values, `${type.name} ${row[0]}`).toBeDefined();
        expect(row.slice(1), `${type.name} ${row[0]}`).toEqual(names.map((name) => values![name]!));
        compared += 1;
      }
    }
    // The hard values made it: 40 records of 7 types with values, minus the archived ones.
    expect(compared).toBeGreaterThan(200);
  });

  it('restores values edited in the portal, counting records HubSpot refuses as failed with its reason', async () => {
    const ids = (await listIds('contacts', undefined)).ids.slice(0, 6);
    const before = await portalRecords('contacts', ['firstname', 'jobtitle']);
    // Edits through HubSpot's API, as a person or an integration would make them.
    for (const id of ids.slice(0, 5)) await hubspot.crm.contacts.basicApi.update(id, { properties: { firstname: `Edited ${id}`, jobtitle: '' } });
    await hubspot.crm.contacts.basicApi.archive(ids[5]!);
    runtime.hubspot.failRecords(portal.portalId, '0-1', [ids[4]!], { operation: 'update', category: 'VALIDATION_ERROR', message: 'Property values were not valid' });

    // Compared with today's data, the backup sees exactly those edits, read from the portal.
    const compared = await runtime.api('GET', `/v1/backups/${backupId}/compare?with=live&objectType=contacts`, { as: ADMIN });
    expect(compared.status, JSON.stringify(compared.body)).toBe(200);
    expect(compared.body).toMatchObject({ added: 0, removed: 1, changed: 5 });
    expect(compared.body.perProperty).toEqual(expect.arrayContaining([{ name: 'firstname', changed: 5 }]));

    const plan = await runtime.api('POST', `/v1/backups/${backupId}/restore-plans`, { as: ADMIN, body: { objectType: 'contacts', properties: ['firstname', 'jobtitle'] } });
    expect(plan.status, JSON.stringify(plan.body)).toBe(201);
    expect(plan.body).toMatchObject({ status: 'READY' });
    const started = await runtime.api('POST', '/v1/restores', { as: ADMIN, body: { planId: plan.body.id, acknowledge } });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    await runtime.idle();
    const restore = (await runtime.api('GET', `/v1/restores/${started.body.id}`, { as: ADMIN })).body;
    runtime.hubspot.clearFailures();

    expect(restore.status, JSON.stringify(restore)).toBe('SUCCEEDED');
    expect(restore.counts).toMatchObject({ updated: 4, missing: 1, failed: 1 });
    expect(restore.failures).toEqual([{ recordId: ids[4], reason: expect.stringContaining('Property values were not valid') }]);
    const after = await portalRecords('contacts', ['firstname', 'jobtitle']);
    for (const id of ids.slice(0, 4)) expect(after.get(id)).toEqual(before.get(id));
    expect(after.get(ids[4]!)).toEqual({ firstname: `Edited ${ids[4]}`, jobtitle: '' });
    expect(after.has(ids[5]!)).toBe(false); // archived stays archived: a restore never re-creates

    const email = (await runtime.outbox()).find((candidate) => candidate.to.includes(ADMIN) && candidate.text.includes(started.body.id));
    expect(email?.text).toContain(`${ids[4]}: HubSpot refused the update`);
    restored = { id: started.body.id, ids: ids.slice(0, 4) };
  });

  let restored: { id: string; ids: string[] } = { id: '', ids: [] };
  it('undoes the restore in the portal, keeping a contact edited in HubSpot since', async () => {
    const [editedSince, ...others] = restored.ids;
    await hubspot.crm.contacts.basicApi.update(editedSince!, { properties: { firstname: 'Changed in HubSpot after the restore' } });
    const plan = await runtime.api('POST', `/v1/restores/${restored.id}/undo-plan`, { as: ADMIN });
    expect(plan.status, JSON.stringify(plan.body)).toBe(201);
    expect(plan.body).toMatchObject({ kind: 'UNDO', undoOf: restored.id, recordsInBackup: 4, recordsToChange: 3, recordsConflicting: 1 });
    expect(plan.body.conflictSample).toContainEqual(expect.objectContaining({ recordId: editedSince, property: 'firstname', now: 'Changed in HubSpot after the restore' }));
    const started = await runtime.api('POST', '/v1/restores', { as: ADMIN, body: { planId: plan.body.id, acknowledge } });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    await runtime.idle();
    const undo = (await runtime.api('GET', `/v1/restores/${started.body.id}`, { as: ADMIN })).body;
    expect(undo).toMatchObject({ kind: 'UNDO', status: 'SUCCEEDED', counts: { updated: 3, conflicting: 1, failed: 0 } });
    const after = await portalRecords('contacts', ['firstname', 'jobtitle']);
    for (const id of others) expect(after.get(id)).toEqual({ firstname: `Edited ${id}`, jobtitle: '' });
    expect(after.get(editedSince!)).toEqual({ firstname: 'Changed in HubSpot after the restore', jobtitle: '' });
    const imports = (await runtime.api('GET', '/v1/imports', { as: ADMIN })).body.items;
    expect(imports).toContainEqual(expect.objectContaining({ name: 'Data restore undo - Contact', restoreId: started.body.id }));
  });
});
