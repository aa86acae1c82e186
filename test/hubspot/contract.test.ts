import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedContacts } from '../../local/hubspot/demo-portal.ts';
import { startHubSpotStandIn, type StandInUnderTest } from '../support/hubspot-stand-in.ts';

/**
 * The official `@hubspot/api-client` (v14) against the HubSpot stand-in, for every call
 * a backup and restore adapter makes: the shapes HubSpot answers and the client's own
 * quirks (HUBSPOT.md). Rate limits and tokens have their own file (limits.test.ts).
 */

const CONTACTS = '0-1';
let hub: StandInUnderTest;

beforeAll(async () => {
  hub = await startHubSpotStandIn({ recordsPerType: 30, limits: { perWindow: 100_000 } });
  seedContacts(hub.standIn, hub.portalId, 2970);
});
afterAll(() => hub.stop());

async function rejection(promise: Promise<unknown>): Promise<{ code: number; body: any; headers: Record<string, string> }> {
  try {
    await promise;
  } catch (error) {
    return error as { code: number; body: any; headers: Record<string, string> };
  }
  throw new Error('expected the call to fail');
}

describe('listing records (basicApi.getPage)', () => {
  it('pages through a few thousand contacts with an opaque after, each once, with no paging on the last page', async () => {
    const client = hub.client();
    const seen: string[] = [];
    let after: string | undefined;
    let pages = 0;
    do {
      const page = await client.crm.contacts.basicApi.getPage(100, after, ['firstname', 'email']);
      pages += 1;
      for (const record of page.results) {
        seen.push(record.id);
        expect(record.createdAt).toBeInstanceOf(Date);
        expect(record.archived).toBe(false);
      }
      after = page.paging?.next?.after;
      if (after) expect(after).toMatch(/^[A-Za-z0-9+/]+(%3D)*$/);
    } while (after);
    const live = hub.standIn.store.countRecords(hub.portalId, CONTACTS);
    expect(live).toBeGreaterThan(2900);
    expect(seen).toHaveLength(live);
    expect(new Set(seen).size).toBe(live);
    expect(pages).toBe(Math.ceil(live / 100));
  });

  it('accepts properties repeated (as the client sends them) and comma-separated (as the docs write them)', async () => {
    const repeated = await (await hub.fetch('/crm/v3/objects/contacts?limit=5&properties=firstname&properties=city')).json();
    const commas = await (await hub.fetch('/crm/v3/objects/contacts?limit=5&properties=firstname,city')).json();
    expect(commas).toEqual(repeated);
    expect(Object.keys(repeated.results[0].properties).sort()).toEqual(['city', 'createdate', 'firstname', 'hs_object_id', 'lastmodifieddate']);
  });

  it('answers null for a defined property without a value, leaves out undefined names, and always adds the create date, modify date and id', async () => {
    const page = await hub.client().crm.objects.basicApi.getPage('contacts', 100, undefined, ['jobtitle', 'no_such_property']);
    for (const record of page.results) {
      expect(record.properties).not.toHaveProperty('no_such_property');
      expect(record.properties.hs_object_id).toBe(record.id);
      expect(record.properties.createdate).toBe(record.createdAt.toISOString());
      expect(record.properties.lastmodifieddate).toBe(record.updatedAt.toISOString());
    }
    expect(page.results.some((record) => record.properties.jobtitle === null)).toBe(true);
    const companies = await hub.client().crm.objects.basicApi.getPage('companies', 1, undefined, ['name']);
    expect(Object.keys(companies.results[0]!.properties).sort()).toEqual(['createdate', 'hs_lastmodifieddate', 'hs_object_id', 'name']);
  });

  it('serves archived records only with archived=true', async () => {
    const archived = await hub.client().crm.objects.basicApi.getPage('contacts', 100, undefined, ['firstname'], undefined, undefined, true);
    expect(archived.results.length).toBeGreaterThan(0);
    for (const record of archived.results) {
      expect(record.archived).toBe(true);
      expect(record.archivedAt).toBeInstanceOf(Date);
    }
    const live = await hub.client().crm.objects.basicApi.getPage('contacts', 100, undefined, ['firstname']);
    const archivedIds = new Set(archived.results.map((record) => record.id));
    expect(live.results.some((record) => archivedIds.has(record.id))).toBe(false);
  });

  it('serves the hard demo values unchanged: commas, quotes, line breaks, non-Latin text, emoji and a 60,000-character value', async () => {
    const values = new Set<string>();
    let after: string | undefined;
    let longest = 0;
    do {
      const page = await hub.client().crm.objects.basicApi.getPage('contacts', 100, after, ['notes', 'company', 'jobtitle', 'city']);
      for (const record of page.results) {
        for (const value of Object.values(record.properties)) {
          if (value === null) continue;
          values.add(value);
          longest = Math.max(longest, value.length);
        }
      }
      after = page.paging?.next?.after;
    } while (after);
    for (const hard of ['Smith, Jones & Partners', 'The "Best" Company', 'first line\nsecond line', '東京都渋谷区', '🚀 Launch 🎉', '=HYPERLINK("http://example.com","click")']) {
      expect(values).toContain(hard);
    }
    expect(longest).toBeGreaterThanOrEqual(60_000);
  });

  it('reads custom object records by objectTypeId, by p_<name> and by fully qualified name alike', async () => {
    const [schema] = (await hub.client().crm.schemas.coreApi.getAll()).results;
    const byId = await hub.client().crm.objects.basicApi.getPage(schema!.objectTypeId!, 10, undefined, ['make']);
    const byName = await hub.client().crm.objects.basicApi.getPage(`p_${schema!.name}`, 10, undefined, ['make']);
    const byFullName = await hub.client().crm.objects.basicApi.getPage(schema!.fullyQualifiedName!, 10, undefined, ['make']);
    expect(byId.results.length).toBeGreaterThan(0);
    expect(byName).toEqual(byId);
    expect(byFullName).toEqual(byId);
  });

  it('answers 400 for an unknown object type, as JSON the client parses', async () => {
    const error = await rejection(hub.client().crm.objects.basicApi.getPage('spaceships'));
    expect(error.code).toBe(400);
    expect(error.body.category).toBe('VALIDATION_ERROR');
    expect(error.body.message).toBe('Unable to infer object type from: spaceships');
  });

  it('answers 414 for an over-long URL', async () => {
    const response = await hub.fetch(`/crm/v3/objects/contacts?properties=${'x'.repeat(9000)}`);
    expect(response.status).toBe(414);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  });
});

describe('reading and updating records in batches (batchApi)', () => {
  const firstIds = async (count: number) =>
    (await hub.client().crm.objects.basicApi.getPage('contacts', count, undefined, ['firstname'])).results.map((record) => record.id);

  it('reads up to 100 records by id with the properties of the body', async () => {
    const ids = await firstIds(100);
    const response = await hub.client().crm.objects.batchApi.read('contacts', { inputs: ids.map((id) => ({ id })), properties: ['email', 'phone'], propertiesWithHistory: [] });
    expect(response.status).toBe('COMPLETE');
    expect(response.results.map((record) => record.id).sort()).toEqual([...ids].sort());
    expect(response.completedAt).toBeInstanceOf(Date);
    expect('errors' in response).toBe(false);
    expect(Object.keys(response.results[0]!.properties).sort()).toEqual(['createdate', 'email', 'hs_object_id', 'lastmodifieddate', 'phone']);
  });

  it('resolves a 207 (not thrown) with the missing ids in errors, and answers 404 when none exists', async () => {
    const [id] = await firstIds(1);
    const partial = await hub.client().crm.objects.batchApi.read('contacts', { inputs: [{ id: id! }, { id: '999999999' }], properties: ['email'], propertiesWithHistory: [] });
    expect(partial.results.map((record) => record.id)).toEqual([id]);
    expect('numErrors' in partial && partial.numErrors).toBe(1);
    expect('errors' in partial && partial.errors?.[0]).toMatchObject({ status: 'error', category: 'OBJECT_NOT_FOUND', context: { ids: ['999999999'] } });
    const none = await rejection(hub.client().crm.objects.batchApi.read('contacts', { inputs: [{ id: '999999998' }], properties: [], propertiesWithHistory: [] }));
    expect(none.code).toBe(404);
    expect(none.body.category).toBe('OBJECT_NOT_FOUND');
  });

  it('refuses more than 100 inputs with HubSpot 400 body, and more than 50 with property history', async () => {
    const many = Array.from({ length: 101 }, (_, index) => ({ id: String(index + 1) }));
    const error = await rejection(hub.client().crm.objects.batchApi.read('contacts', { inputs: many, properties: [], propertiesWithHistory: [] }));
    expect(error.code).toBe(400);
    expect(error.body).toMatchObject({
      status: 'error',
      category: 'VALIDATION_ERROR',
      message: 'The maximum number of inputs supported in a batch is 100. Please reduce the number of items and try again',
    });
    expect(error.body.correlationId).toMatch(/^[0-9a-f-]{36}$/);
    const withHistory = await rejection(
      hub.client().crm.objects.batchApi.read('contacts', { inputs: many.slice(0, 51), properties: [], propertiesWithHistory: ['email'] }),
    );
    expect(withHistory.code).toBe(400);
    const updates = await rejection(hub.client().crm.objects.batchApi.update('contacts', { inputs: many.map(({ id }) => ({ id, properties: { city: 'x' } })) }));
    expect(updates.code).toBe(400);
  });

  it('clears a value with "", ignores null, and answers 200 when every input is written', async () => {
    const [a, b] = await firstIds(2);
    const response = await hub.client().crm.objects.batchApi.update('contacts', {
      inputs: [
        { id: a!, properties: { city: '', jobtitle: 'Chief "Quote" Officer, Ltd.' } },
        { id: b!, properties: { city: 'Zürich\nOberstrass', jobtitle: null as unknown as string } },
      ],
    });
    expect('errors' in response).toBe(false);
    expect(response.results).toHaveLength(2);
    const read = await hub.client().crm.objects.batchApi.read('contacts', { inputs: [{ id: a! }, { id: b! }], properties: ['city', 'jobtitle'], propertiesWithHistory: [] });
    const byId = new Map(read.results.map((record) => [record.id, record.properties]));
    expect(byId.get(a!)).toMatchObject({ city: null, jobtitle: 'Chief "Quote" Officer, Ltd.' });
    expect(byId.get(b!)?.city).toBe('Zürich\nOberstrass');
    expect(byId.get(b!)?.jobtitle).toBe(hub.standIn.record(hub.portalId, CONTACTS, b!)!.values.jobtitle ?? null);
  });

  it('resolves a 207 with per-record errors for missing ids, read-only properties and injected failures, and writes the rest', async () => {
    const [good, readOnly, injected] = await firstIds(3);
    hub.standIn.failRecords(hub.portalId, CONTACTS, [injected!], { operation: 'update', category: 'CONFLICT', message: 'Someone else is editing this record.' });
    try {
      const response = await hub.client().crm.objects.batchApi.update('contacts', {
        inputs: [
          { id: good!, properties: { city: 'Lisboa' } },
          { id: readOnly!, properties: { city: 'Porto', hs_object_id: '1' } },
          { id: injected!, properties: { city: 'Faro' } },
          { id: '999999997', properties: { city: 'Braga' } },
        ],
      });
      expect(response.results.map((record) => record.id)).toEqual([good]);
      const errors = 'errors' in response ? (response.errors ?? []) : [];
      expect(errors.map((error) => [error.category, error.context.ids])).toEqual(
        expect.arrayContaining([
          ['OBJECT_NOT_FOUND', ['999999997']],
          ['CONFLICT', [injected]],
          ['VALIDATION_ERROR', [readOnly]],
        ]),
      );
      expect(errors.find((error) => error.category === 'VALIDATION_ERROR')?.message).toContain('READ_ONLY_VALUE');
      expect(hub.standIn.record(hub.portalId, CONTACTS, good!)!.values.city).toBe('Lisboa');
      expect(hub.standIn.record(hub.portalId, CONTACTS, readOnly!)!.values.city).not.toBe('Porto');
      expect(hub.standIn.record(hub.portalId, CONTACTS, injected!)!.values.city).not.toBe('Faro');
    } finally {
      hub.standIn.clearFailures();
    }
  });

  it('answers the same through apiRequest, as the adapter sends them (plain JSON, no models): a 207 with errors in its body, a 404 when none exists', async () => {
    const [id, other] = await firstIds(2);
    const post = async (operation: 'read' | 'update', body: unknown) => {
      const response = await hub.client().apiRequest({ method: 'POST', path: `/crm/v3/objects/contacts/batch/${operation}`, qs: { archived: 'false' }, body });
      return { status: response.status, body: (await response.json()) as any };
    };
    const read = await post('read', { inputs: [{ id }, { id: '999999996' }], properties: ['email'], propertiesWithHistory: [] });
    expect(read.status).toBe(207);
    expect(read.body.results.map((record: { id: string }) => record.id)).toEqual([id]);
    expect(typeof read.body.results[0].properties.email).toBe('string');
    expect(read.body.errors[0]).toMatchObject({ category: 'OBJECT_NOT_FOUND', context: { ids: ['999999996'] } });
    expect((await post('read', { inputs: [{ id: '999999995' }], properties: [], propertiesWithHistory: [] })).status).toBe(404);
    const update = await post('update', { inputs: [{ id: other, properties: { city: 'Coimbra' } }, { id: '999999994', properties: { city: 'Braga' } }] });
    expect(update.status).toBe(207);
    expect(update.body.results.map((record: { id: string }) => record.id)).toEqual([other]);
    expect(update.body.errors[0]).toMatchObject({ category: 'OBJECT_NOT_FOUND', context: { ids: ['999999994'] } });
    expect(hub.standIn.record(hub.portalId, CONTACTS, other!)!.values.city).toBe('Coimbra');
  });

  it('treats an archived record as missing for updates', async () => {
    const archived = await hub.client().crm.objects.basicApi.getPage('contacts', 1, undefined, [], undefined, undefined, true);
    const id = archived.results[0]!.id;
    const response = await hub.client().crm.objects.batchApi.update('contacts', { inputs: [{ id, properties: { city: 'Nowhere' } }] });
    expect('errors' in response && response.errors?.[0]?.category).toBe('OBJECT_NOT_FOUND');
  });
});

describe('single records (basicApi.getById and update)', () => {
  it('lets a person edit a record and read it back, with lastmodifieddate moved', async () => {
    const client = hub.client();
    const [record] = (await client.crm.objects.basicApi.getPage('deals', 1, undefined, ['dealname'])).results;
    hub.clock.advance(60_000);
    const updated = await client.crm.objects.basicApi.update('deals', record!.id, { properties: { dealname: 'Renamed, by hand' } });
    expect(updated.properties.dealname).toBe('Renamed, by hand');
    const read = await client.crm.objects.basicApi.getById('deals', record!.id, ['dealname']);
    expect(read.properties.dealname).toBe('Renamed, by hand');
    expect(read.updatedAt.getTime()).toBeGreaterThan(record!.updatedAt.getTime());
    expect(read.properties.hs_lastmodifieddate).toBe(read.updatedAt.toISOString());
  });

  it('answers 404 for an unknown id and 400 naming the property for a read-only one', async () => {
    const client = hub.client();
    expect((await rejection(client.crm.objects.basicApi.getById('deals', '999999996'))).code).toBe(404);
    const [record] = (await client.crm.objects.basicApi.getPage('deals', 1)).results;
    const error = await rejection(client.crm.objects.basicApi.update('deals', record!.id, { properties: { days_to_close: '3' } }));
    expect(error.code).toBe(400);
    expect(error.body.category).toBe('VALIDATION_ERROR');
    expect(error.body.message).toMatch(/^Property values were not valid: \[.*READ_ONLY_VALUE/);
    expect(error.body.errors).toEqual([
      { message: '"days_to_close" is a read only property; its value cannot be set.', code: 'READ_ONLY_VALUE', context: { propertyName: ['days_to_close'] } },
    ]);
  });
});

describe('property definitions (apiRequest with dataSensitivity)', () => {
  const properties = async (query: string) => (await (await hub.fetch(`/crm/v3/properties/contacts${query}`)).json()).results as any[];

  it('hides sensitive properties unless dataSensitivity asks for them, one level per call', async () => {
    const plain = await properties('');
    const sensitive = await properties('?dataSensitivity=sensitive');
    const highly = await properties('?dataSensitivity=highly_sensitive');
    expect(plain.map((property) => property.name)).not.toContain('phone');
    expect(sensitive.map((property) => property.name).sort()).toEqual(['date_of_birth', 'phone']);
    expect(highly.map((property) => property.name)).toEqual(['passport_number']);
    expect(new Set([...plain, ...sensitive, ...highly].map((property) => property.dataSensitivity))).toEqual(new Set(['non_sensitive', 'sensitive', 'highly_sensitive']));
  });

  it('marks read-only and calculated properties, and serves archived definitions only with archived=true', async () => {
    const plain = await properties('');
    const byName = new Map(plain.map((property) => [property.name, property]));
    for (const name of ['hs_object_id', 'createdate', 'lastmodifieddate']) expect(byName.get(name).modificationMetadata.readOnlyValue).toBe(true);
    expect(byName.get('num_associated_deals')).toMatchObject({ calculated: true, modificationMetadata: { readOnlyValue: true } });
    expect(byName.get('firstname')).toMatchObject({ calculated: false, modificationMetadata: { readOnlyValue: false }, type: 'string', fieldType: 'text' });
    expect(byName.get('lifecyclestage').options.length).toBeGreaterThan(0);
    expect(byName.has('legacy_lead_source')).toBe(false);
    expect((await properties('?archived=true')).map((property) => property.name)).toEqual(['legacy_lead_source']);
  });

  it('is served through the client too, whose Property model drops dataSensitivity (HUBSPOT.md §4)', async () => {
    const response = await hub.client().crm.properties.coreApi.getAll('contacts');
    expect(response.results.length).toBe((await properties('')).length);
    expect(response.results[0]).not.toHaveProperty('dataSensitivity');
    const raw = await hub.client().apiRequest({ method: 'GET', path: '/crm/v3/properties/contacts', qs: { dataSensitivity: 'sensitive' } });
    expect(((await raw.json()) as { results: unknown[] }).results).toHaveLength(2);
  });
});

describe('custom object schemas', () => {
  it('serves the same custom objects at /crm-object-schemas/v3/schemas (the client) and /crm/v3/schemas (the docs)', async () => {
    const fromClient = await hub.client().crm.schemas.coreApi.getAll();
    expect(fromClient.results).toHaveLength(1);
    const [schema] = fromClient.results;
    expect(schema).toMatchObject({ objectTypeId: expect.stringMatching(/^2-\d+$/), name: 'vehicles', fullyQualifiedName: `p${hub.portalId}_vehicles` });
    expect(schema!.labels).toEqual({ singular: 'Vehicle', plural: 'Vehicles' });
    const vin = schema!.properties.find((property) => property.name === 'vin');
    expect(vin?.dataSensitivity).toBe('sensitive');
    const docsPath = await (await hub.fetch('/crm/v3/schemas')).json();
    const clientPath = await (await hub.fetch('/crm-object-schemas/v3/schemas')).json();
    expect(docsPath).toEqual(clientPath);
    const single = await hub.client().crm.schemas.coreApi.getById(schema!.objectTypeId!);
    expect(single.name).toBe('vehicles');
  });
});

describe('conversation threads (apiRequest)', () => {
  it('pages through threads with after, archived ones only with archived=true', async () => {
    const client = hub.client();
    const ids: string[] = [];
    let after: string | undefined;
    do {
      const response = await client.apiRequest({ method: 'GET', path: '/conversations/v3/conversations/threads', qs: { limit: '7', ...(after ? { after } : {}) } });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { results: Array<{ id: string; status: string; archived: boolean; inboxId: string }>; paging?: { next?: { after: string } } };
      for (const thread of body.results) {
        expect(['OPEN', 'CLOSED']).toContain(thread.status);
        expect(thread.archived).toBe(false);
        ids.push(thread.id);
      }
      after = body.paging?.next?.after;
    } while (after);
    expect(ids.length).toBeGreaterThan(20);
    expect(new Set(ids).size).toBe(ids.length);
    const archived = await (await hub.fetch('/conversations/v3/conversations/threads?archived=true')).json();
    expect(archived.results.length).toBeGreaterThan(0);
    expect(archived.results.every((thread: { archived: boolean }) => thread.archived)).toBe(true);
  });
});

describe('account information (apiRequest)', () => {
  it('answers the portal details and the day usage, which counts every call', async () => {
    const client = hub.client();
    const details = (await (await client.apiRequest({ method: 'GET', path: '/account-info/v3/details' })).json()) as Record<string, unknown>;
    expect(details).toMatchObject({ portalId: hub.portalId, accountType: 'STANDARD', timeZone: 'US/Eastern', dataHostingLocation: 'na1', uiDomain: 'app.hubspot.com' });
    expect(details.utcOffset).toMatch(/^-0[45]:00$/);
    const usage = async () =>
      ((await (await client.apiRequest({ method: 'GET', path: '/account-info/v3/api-usage/daily/private-apps' })).json()) as { results: Array<Record<string, any>> }).results[0]!;
    const first = await usage();
    expect(first).toMatchObject({ name: 'private-apps-api-calls-daily', usageLimit: 650_000, fetchStatus: 'SUCCESS' });
    expect(new Date(first.resetsAt).getTime()).toBeGreaterThan(hub.clock.now().getTime());
    const second = await usage();
    expect(second.currentUsage).toBe(first.currentUsage + 1);
  });
});

describe('scopes', () => {
  it('answers 403 MISSING_SCOPES naming the scope a call needs, including sensitive ones', async () => {
    const token = hub.standIn.issueToken(hub.portalId, { scopes: ['crm.objects.contacts.read'] });
    const client = hub.client({ accessToken: token });
    const companies = await rejection(client.crm.objects.basicApi.getPage('companies'));
    expect(companies.code).toBe(403);
    expect(companies.body.category).toBe('MISSING_SCOPES');
    expect(companies.body.errors[0].context.requiredScopes).toEqual(['crm.objects.companies.read', 'crm.objects.companies.write']);
    // Calls and tasks use the contacts scopes (HUBSPOT.md §1).
    await expect(client.crm.objects.basicApi.getPage('calls')).resolves.toBeDefined();
    const phone = await rejection(client.crm.objects.basicApi.getPage('contacts', 10, undefined, ['phone']));
    expect(phone.body.errors[0].context.requiredScopes).toContain('crm.objects.contacts.sensitive.read.v2');
    const write = await rejection(client.crm.objects.batchApi.update('contacts', { inputs: [{ id: '1', properties: { city: 'x' } }] }));
    expect(write.body.errors[0].context.requiredScopes).toEqual(['crm.objects.contacts.write']);
    const threads = await client.apiRequest({ method: 'GET', path: '/conversations/v3/conversations/threads' });
    expect(threads.status).toBe(403);
    const schemas = await rejection(client.crm.schemas.coreApi.getAll());
    expect(schemas.body.errors[0].context.requiredScopes).toContain('crm.schemas.custom.read');
  });
});
