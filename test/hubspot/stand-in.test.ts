import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_PORTAL_ID, seedContacts, seedDemoPortal } from '../../local/hubspot/demo-portal.ts';
import { HubSpotStandIn } from '../../local/hubspot/stand-in.ts';
import { allScopes } from '../../local/hubspot/scopes.ts';
import { startHubSpotStandIn } from '../support/hubspot-stand-in.ts';

/** The stand-in's own promises: deterministic seeding, state kept in DATA_DIR, bench seeding. */

const directories: string[] = [];
async function freshDirectory(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'hubspot-stand-in-'));
  directories.push(directory);
  return directory;
}
afterAll(async () => {
  await Promise.all(directories.map((directory) => rm(directory, { recursive: true, force: true })));
});

/** Every record of every type, archived ones too, as stored. */
function everything(standIn: HubSpotStandIn, portalId: number) {
  return standIn.objectTypes(portalId).map((type) => ({
    type: type.objectTypeId,
    live: standIn.store.listRecords(portalId, type.objectTypeId, false, 0, 100_000),
    archived: standIn.store.listRecords(portalId, type.objectTypeId, true, 0, 100_000).map(({ archivedAt: _, ...record }) => record),
  }));
}

describe('seedDemoPortal', () => {
  let first: HubSpotStandIn;
  let second: HubSpotStandIn;
  beforeAll(async () => {
    first = HubSpotStandIn.open(await freshDirectory());
    second = HubSpotStandIn.open(await freshDirectory());
    seedDemoPortal(first, { recordsPerType: 25 });
    seedDemoPortal(second, { recordsPerType: 25 });
  });
  afterAll(() => {
    first.close();
    second.close();
  });

  it('gives the same types, ids and values on every machine', () => {
    expect(second.objectTypes(DEMO_PORTAL_ID)).toEqual(first.objectTypes(DEMO_PORTAL_ID));
    expect(everything(second, DEMO_PORTAL_ID)).toEqual(everything(first, DEMO_PORTAL_ID));
  });

  it('holds every standard type, one custom object, one empty type, archived records and threads', () => {
    const types = first.objectTypes(DEMO_PORTAL_ID);
    expect(types.map((type) => type.name).sort()).toEqual(['calls', 'companies', 'contacts', 'deals', 'products', 'tasks', 'tickets', 'vehicles']);
    expect(types.filter((type) => type.custom).map((type) => type.objectTypeId)).toEqual([expect.stringMatching(/^2-\d+$/)]);
    const counts = Object.fromEntries(types.map((type) => [type.name, first.store.countRecords(DEMO_PORTAL_ID, type.objectTypeId)]));
    expect(counts.tasks).toBe(0);
    expect(Object.entries(counts).filter(([name]) => name !== 'tasks').every(([, count]) => count > 20)).toBe(true);
    expect(first.store.countRecords(DEMO_PORTAL_ID, '0-1', true)).toBeGreaterThan(0);
    expect(first.store.listThreads(DEMO_PORTAL_ID, false, 0, 100).length).toBeGreaterThan(20);
  });

  it('issues a token with every scope the portal needs, sensitive ones only where a type has sensitive properties', () => {
    const demo = first.demoPortal()!;
    const grant = first.store.getToken(demo.accessToken)!;
    expect(grant.scopes).toEqual(allScopes(first.objectTypes(DEMO_PORTAL_ID)));
    expect(grant.scopes).toEqual(expect.arrayContaining(['tickets', 'tickets.sensitive.v2', 'crm.objects.contacts.highly_sensitive.read.v2', 'crm.objects.custom.write', 'conversations.read', 'oauth']));
    expect(grant.scopes.some((scope) => scope.startsWith('crm.objects.products.sensitive'))).toBe(false);
  });
});

describe('state in DATA_DIR', () => {
  it('keeps records, edits, tokens and the day usage across a restart, without seeding again', async () => {
    const dataDir = await freshDirectory();
    const hub = await startHubSpotStandIn({ dataDir, recordsPerType: 10 });
    const [contact] = (await hub.client().crm.contacts.basicApi.getPage(1)).results;
    await hub.client().crm.contacts.basicApi.update(contact!.id, { properties: { city: 'Reykjavík' } });
    const revoked = hub.standIn.issueToken(hub.portalId);
    hub.standIn.revokeToken(revoked);
    const usage = (await (await hub.fetch('/account-info/v3/api-usage/daily/private-apps')).json()).results[0].currentUsage;
    const contacts = hub.standIn.store.countRecords(hub.portalId, '0-1');
    await hub.stop();

    const again = await startHubSpotStandIn({ dataDir, recordsPerType: 10 });
    try {
      expect(again.accessToken).toBe(hub.accessToken);
      expect((await again.client().crm.contacts.basicApi.getById(contact!.id, ['city'])).properties.city).toBe('Reykjavík');
      expect((await again.fetch('/crm/v3/objects/contacts', { token: revoked })).status).toBe(401);
      const after = (await (await again.fetch('/account-info/v3/api-usage/daily/private-apps')).json()).results[0].currentUsage;
      expect(after).toBe(usage + 2); // the read and this call; the revoked token reached no portal
      expect(again.standIn.store.countRecords(again.portalId, '0-1')).toBe(contacts);
    } finally {
      await again.stop();
    }
  });
});

describe('seedContacts', () => {
  it('adds contacts after the ones there, continuing the demo sequence', async () => {
    const standIn = HubSpotStandIn.open(await freshDirectory());
    try {
      seedDemoPortal(standIn, { recordsPerType: 5 });
      const before = standIn.store.countRecords(DEMO_PORTAL_ID, '0-1');
      const progress: number[] = [];
      seedContacts(standIn, DEMO_PORTAL_ID, 4500, (written) => progress.push(written));
      expect(standIn.store.countRecords(DEMO_PORTAL_ID, '0-1')).toBe(before + 4500);
      expect(progress.at(-1)).toBe(4500);
      const added = standIn.store.listRecords(DEMO_PORTAL_ID, '0-1', false, 0, 10_000).slice(before);
      expect(new Set(added.map((record) => record.values.email)).size).toBeGreaterThan(4000);
    } finally {
      standIn.close();
    }
  });
});
