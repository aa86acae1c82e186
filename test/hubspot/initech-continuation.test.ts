import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppDeps } from '#runtime/deps.ts';
import { seedContacts } from '../../local/hubspot/demo-portal.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';
import { unzipEntries } from '../support/zip-entries.ts';

/** A HubSpot export bigger than one invocation: HubSpot's `after` cursor carried from one to the next. */

const uploadedParts: string[] = [];
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

let runtime: TestRuntime;
beforeAll(async () => {
  // A 50 ms budget: each invocation reads a page or so, then hands over HubSpot's cursor.
  runtime = await startTestRuntime({ functionTimeoutSeconds: { 'export-object': 0.05 }, wrapDeps: watchUploads });
  seedContacts(runtime.hubspot, 7301234, 800);
});
afterAll(() => runtime?.destroy());

describe('initech: a portal bigger than one export invocation', () => {
  it('continues across invocations from the portal\'s cursor, and every contact is in the CSV once', async () => {
    const started = await runtime.api('POST', '/v1/backups', { as: 'sso-admin@initech.example' });
    expect(started.status).toBe(202);
    await runtime.idle();
    const backup = (await runtime.api('GET', `/v1/backups/${started.body.id}`, { as: 'sso-admin@initech.example' })).body;
    expect(backup.status, backup.error).toBe('SUCCEEDED');
    expect(new Set(uploadedParts.filter((key) => key.includes(backup.id))).size).toBeGreaterThan(4);
    const link = await runtime.api('GET', `/v1/backups/${backup.id}/download?redirect=false`, { as: 'sso-admin@initech.example' });
    const csv = (await unzipEntries(Buffer.from(await (await fetch(link.body.url)).arrayBuffer()))).get('contacts.csv')!;
    const [, ...rows] = parse(csv) as string[][];
    const live = runtime.hubspot.store.countRecords(7301234, '0-1');
    expect(rows).toHaveLength(live);
    expect(new Set(rows.map((row) => row[0])).size).toBe(live);
  });
});
