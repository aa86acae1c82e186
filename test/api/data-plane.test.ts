import { generateKeyPair, SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';
import { clientsOf } from '../support/stand-ins.ts';

const ACME_ADMIN = 'admin@acme.example';
const ACME_USER = 'user@acme.example';
const GLOBEX_ADMIN = 'admin@globex.example';

describe('data plane API', () => {
  let runtime: TestRuntime;
  beforeAll(async () => {
    runtime = await startTestRuntime();
  });
  afterAll(async () => {
    await runtime?.destroy();
  });

  async function firstRecordId(type: string, as = ACME_ADMIN): Promise<string> {
    const { body } = await runtime.api('GET', `/v1/objects/${type}/records?limit=1`, { as });
    return body.items[0].id;
  }

  describe('GET /v1/objects', () => {
    it('lists the account object types with record counts and property definitions', async () => {
      const { status, body } = await runtime.api('GET', '/v1/objects');
      expect(status).toBe(200);
      const names = body.items.map((type: { name: string }) => type.name).sort();
      expect(names).toEqual(
        ['calls', 'companies', 'contacts', 'conversations', 'deals', 'p_subscriptions', 'p_vehicles', 'products', 'tasks', 'tickets'].sort(),
      );
      const contacts = body.items.find((type: { name: string }) => type.name === 'contacts');
      expect(contacts).toMatchObject({ label: 'Contact', pluralLabel: 'Contacts', custom: false, records: 40, restorable: true });
      expect(contacts.properties.find((p: { name: string }) => p.name === 'hs_createdate')).toMatchObject({ readOnly: true });
      expect(contacts.properties.find((p: { name: string }) => p.name === 'num_associated_deals')).toMatchObject({ calculated: true });
      expect(contacts.properties.find((p: { name: string }) => p.name === 'phone')).toMatchObject({ sensitive: true });
      expect(body.items.find((type: { name: string }) => type.name === 'conversations').restorable).toBe(false);
    });

    it('shows globex its own types, one of them empty', async () => {
      const { body } = await runtime.api('GET', '/v1/objects', { as: GLOBEX_ADMIN });
      const names = body.items.map((type: { name: string }) => type.name);
      expect(names).toContain('p_projects');
      expect(names).not.toContain('p_subscriptions');
      expect(body.items.find((type: { name: string }) => type.name === 'tickets').records).toBe(0);
    });

    it('is open to users who are not super admins', async () => {
      expect((await runtime.api('GET', '/v1/objects', { as: ACME_USER })).status).toBe(200);
    });
  });

  describe('GET /v1/objects/{type}/records', () => {
    it('pages through every record exactly once', async () => {
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const { status, body } = await runtime.api('GET', `/v1/objects/deals/records?limit=7${cursor ? `&cursor=${cursor}` : ''}`);
        expect(status).toBe(200);
        expect(body.items.length).toBeLessThanOrEqual(7);
        seen.push(...body.items.map((record: { id: string }) => record.id));
        cursor = body.nextCursor;
        pages += 1;
      } while (cursor && pages < 50);
      expect(seen).toHaveLength(40);
      expect(new Set(seen).size).toBe(40);
    });

    it('answers every property of the type, blanks as ""', async () => {
      const { body: types } = await runtime.api('GET', '/v1/objects');
      const contacts = types.items.find((type: { name: string }) => type.name === 'contacts');
      const { body } = await runtime.api('GET', '/v1/objects/contacts/records?limit=40');
      for (const record of body.items) {
        expect(Object.keys(record.properties).sort()).toEqual(contacts.properties.map((p: { name: string }) => p.name).sort());
        for (const value of Object.values(record.properties)) expect(typeof value).toBe('string');
      }
      expect(body.items.some((record: { properties: Record<string, string> }) => Object.values(record.properties).includes(''))).toBe(true);
    });

    it.each([
      ['limit=0', 'query.limit', 'VALIDATION_ERROR'],
      ['limit=501', 'query.limit', 'VALIDATION_ERROR'],
      ['limit=ten', 'query.limit', 'VALIDATION_ERROR'],
      ['cursor=not-a-cursor', 'cursor', 'INVALID_CURSOR'],
    ])('refuses ?%s with 400 naming %s', async (query, field, code) => {
      const { status, body } = await runtime.api('GET', `/v1/objects/contacts/records?${query}`);
      expect(status).toBe(400);
      expect(body.error).toMatchObject({ code, field });
      expect(body.error.message).toMatch(/\w+ \w+/);
    });

    it('answers 404 for an unknown object type', async () => {
      const { status, body } = await runtime.api('GET', '/v1/objects/unicorns/records');
      expect(status).toBe(404);
      expect(body.error.code).toBe('NOT_FOUND');
    });
  });

  describe('PATCH /v1/objects/{type}/records/{id}', () => {
    it('changes the values and records a USER change event with before and after', async () => {
      const id = await firstRecordId('companies');
      const before = (await runtime.api('GET', `/v1/objects/companies/records/${id}`)).body;
      const { status, body } = await runtime.api('PATCH', `/v1/objects/companies/records/${id}`, {
        body: { properties: { city: 'Zürich, "CH"\nline 2 🚀', description: '' } },
      });
      expect(status).toBe(200);
      expect(body.properties.city).toBe('Zürich, "CH"\nline 2 🚀');
      expect(body.properties.description).toBe('');
      expect((await runtime.api('GET', `/v1/objects/companies/records/${id}`)).body).toEqual(body);

      const events = (await runtime.api('GET', `/v1/change-events?recordId=${id}`)).body.items;
      expect(events[0]).toMatchObject({ recordId: id, objectType: 'companies', source: 'USER', kind: 'UPDATED', actor: ACME_ADMIN });
      expect(events[0].changes).toContainEqual({ property: 'city', from: before.properties.city, to: 'Zürich, "CH"\nline 2 🚀' });
    });

    it.each([
      [{ properties: { hs_createdate: '2020-01-01' } }, 'properties.hs_createdate', /read-only/],
      [{ properties: { num_associated_contacts: '3' } }, 'properties.num_associated_contacts', /calculated/],
      [{ properties: { no_such_property: 'x' } }, 'properties.no_such_property', /not a property/],
      [{ properties: { city: 42 } }, 'properties.city', /string/],
      [{ properties: { city: 'x' }, extra: true }, 'body', /unknown field "extra"/],
      [{}, 'properties', /required/],
      ['{"properties": ', 'body', /not valid JSON/],
    ])('refuses %j with 400 naming the field and changes nothing', async (body, field, message) => {
      const id = await firstRecordId('companies');
      const before = (await runtime.api('GET', `/v1/objects/companies/records/${id}`)).body;
      const response = await runtime.api('PATCH', `/v1/objects/companies/records/${id}`, { body });
      expect(response.status).toBe(400);
      expect(response.body.error.field).toBe(field);
      expect(response.body.error.message).toMatch(message);
      expect((await runtime.api('GET', `/v1/objects/companies/records/${id}`)).body).toEqual(before);
    });

    // JSON.parse keeps these as own keys; copied into a plain object `__proto__` would vanish
    // (a 200 that changed nothing, or only the other properties).
    it.each([
      ['{"properties": {"__proto__": "x"}}', 'properties.__proto__'],
      ['{"properties": {"city": "changed", "__proto__": {"city": "x"}}}', 'properties.__proto__'],
      ['{"properties": {"city": "changed", "constructor": "x"}}', 'properties.constructor'],
      ['{"properties": {"prototype": "x", "city": "changed"}}', 'properties.prototype'],
      ['{"__proto__": {"properties": {"city": "changed"}}}', '__proto__'],
    ])('refuses the reserved name in %s with 400 naming it, and changes nothing', async (body, field) => {
      const id = await firstRecordId('companies');
      const before = (await runtime.api('GET', `/v1/objects/companies/records/${id}`)).body;
      const eventsBefore = (await runtime.api('GET', `/v1/change-events?recordId=${id}`)).body.items;
      const response = await runtime.api('PATCH', `/v1/objects/companies/records/${id}`, { body });
      expect(response.status, JSON.stringify(response.body)).toBe(400);
      expect(response.body.error).toMatchObject({ code: 'VALIDATION_ERROR', field });
      expect(response.body.error.message).toBe(`${field}: "${field.split('.').at(-1)}" is a reserved name; no property or field can be called that.`);
      expect((await runtime.api('GET', `/v1/objects/companies/records/${id}`)).body).toEqual(before);
      expect((await runtime.api('GET', `/v1/change-events?recordId=${id}`)).body.items).toEqual(eventsBefore);
      expect(({} as Record<string, unknown>).city).toBeUndefined();
    });

    it('accepts a reserved name as a value: only names are refused', async () => {
      const id = await firstRecordId('companies');
      const { status, body } = await runtime.api('PATCH', `/v1/objects/companies/records/${id}`, { body: { properties: { city: '__proto__', description: 'constructor' } } });
      expect(status).toBe(200);
      expect(body.properties).toMatchObject({ city: '__proto__', description: 'constructor' });
    });

    it('refuses a query parameter with a reserved name', async () => {
      const response = await runtime.api('GET', '/v1/objects/companies/records?constructor=1');
      expect(response.status).toBe(400);
      expect(response.body.error).toMatchObject({ code: 'VALIDATION_ERROR', field: 'query.constructor' });
    });

    it('refuses a body over 64 KB with 413', async () => {
      const id = await firstRecordId('companies');
      const { status, body } = await runtime.api('PATCH', `/v1/objects/companies/records/${id}`, {
        body: { properties: { description: 'x'.repeat(70_000) } },
      });
      expect(status).toBe(413);
      expect(body.error.code).toBe('PAYLOAD_TOO_LARGE');
    });

    it('answers 404 for an unknown record and creates nothing', async () => {
      const { status } = await runtime.api('PATCH', '/v1/objects/companies/records/999999999', { body: { properties: { city: 'x' } } });
      expect(status).toBe(404);
      expect((await runtime.api('GET', '/v1/objects/companies/records/999999999')).status).toBe(404);
    });
  });

  describe('DELETE /v1/objects/{type}/records/{id}', () => {
    it('deletes the record, lowers the count and records a DELETED event', async () => {
      const id = await firstRecordId('tasks');
      const count = async () =>
        (await runtime.api('GET', '/v1/objects')).body.items.find((type: { name: string }) => type.name === 'tasks').records;
      const before = await count();
      expect((await runtime.api('DELETE', `/v1/objects/tasks/records/${id}`)).status).toBe(204);
      expect((await runtime.api('GET', `/v1/objects/tasks/records/${id}`)).status).toBe(404);
      expect((await runtime.api('DELETE', `/v1/objects/tasks/records/${id}`)).status).toBe(404);
      expect(await count()).toBe(before - 1);
      const events = (await runtime.api('GET', `/v1/change-events?recordId=${id}`)).body.items;
      expect(events[0]).toMatchObject({ kind: 'DELETED', source: 'USER' });
    });
  });

  describe('tenant isolation', () => {
    it('answers 404 to globex for every acme record, and changes nothing', async () => {
      const id = await firstRecordId('contacts');
      const before = (await runtime.api('GET', `/v1/objects/contacts/records/${id}`)).body;
      for (const [method, body] of [['GET'], ['PATCH', { properties: { city: 'hacked' } }], ['DELETE']] as const) {
        const response = await runtime.api(method, `/v1/objects/contacts/records/${id}`, { as: GLOBEX_ADMIN, body });
        expect(response.status).toBe(404);
      }
      expect((await runtime.api('GET', `/v1/objects/contacts/records/${id}`)).body).toEqual(before);
    });

    it('never lists another account’s records or change events', async () => {
      const acme = (await runtime.api('GET', '/v1/objects/contacts/records?limit=500')).body.items.map((r: { id: string }) => r.id);
      const globex = (await runtime.api('GET', '/v1/objects/contacts/records?limit=500', { as: GLOBEX_ADMIN })).body.items.map(
        (r: { id: string }) => r.id,
      );
      expect(acme.length).toBeGreaterThan(0);
      expect(globex.length).toBeGreaterThan(0);
      expect(acme.filter((id: string) => globex.includes(id))).toEqual([]);
      expect((await runtime.api('GET', `/v1/objects/contacts/records/${globex[0]}`)).status).toBe(404);

      const acmeEdited = await firstRecordId('deals');
      await runtime.api('PATCH', `/v1/objects/deals/records/${acmeEdited}`, { body: { properties: { dealname: 'acme secret deal' } } });
      const globexEvents = (await runtime.api('GET', '/v1/change-events?limit=500', { as: GLOBEX_ADMIN })).body.items;
      expect(globexEvents.every((event: { accountId: string }) => event.accountId === 'globex')).toBe(true);
      const cursorFromAcme = (await runtime.api('GET', '/v1/objects/contacts/records?limit=3')).body.nextCursor;
      // Acme's cursor is bound to acme's list: replayed by globex it pages nothing, it is refused.
      const viaCursor = await runtime.api('GET', `/v1/objects/contacts/records?limit=500&cursor=${cursorFromAcme}`, { as: GLOBEX_ADMIN });
      expect(viaCursor.status).toBe(400);
      expect(viaCursor.body.error.code).toBe('INVALID_CURSOR');
    });
  });

  describe('GET /v1/change-events (the account feed)', () => {
    it('pages through every event of the account once, newest first, across its index partitions and the old one', async () => {
      const calls = (await runtime.api('GET', '/v1/objects/calls/records?limit=30')).body.items.map((record: { id: string }) => record.id);
      for (const id of calls) {
        expect((await runtime.api('PATCH', `/v1/objects/calls/records/${id}`, { body: { properties: { hs_call_title: `feed ${id}` } } })).status).toBe(200);
      }
      // An event stored before the feed was spread over partitions: one partition per account.
      const { dynamodb } = clientsOf(runtime);
      const old = { id: 'ce_before_sharding', accountId: 'acme', objectType: 'calls', recordId: calls[0], source: 'USER', actor: ACME_ADMIN, kind: 'UPDATED', changes: [], occurredAt: '2026-01-01T00:00:00.000Z' };
      await dynamodb.send(new PutCommand({
        TableName: runtime.config.dataTableName,
        Item: { pk: `CE#acme#${old.recordId}`, sk: `${old.occurredAt}#${old.id}`, gsi1pk: 'CE#acme', gsi1sk: `${old.occurredAt}#${old.id}`, event: old },
      }));

      const everything = (await runtime.api('GET', '/v1/change-events?limit=500')).body;
      expect(everything.nextCursor).toBeUndefined();
      const paged: Array<{ id: string; occurredAt: string }> = [];
      let cursor: string | undefined;
      do {
        const page = (await runtime.api('GET', `/v1/change-events?limit=7${cursor ? `&cursor=${cursor}` : ''}`)).body;
        expect(page.items.length).toBeLessThanOrEqual(7);
        paged.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor);

      const ids = paged.map((event) => event.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toEqual(everything.items.map((event: { id: string }) => event.id));
      const keys = paged.map((event) => `${event.occurredAt}#${event.id}`);
      expect(keys).toEqual([...keys].sort().reverse());
      expect(ids.at(-1)).toBe(old.id);
      for (const id of calls) expect(paged.some((event) => (event as unknown as { recordId: string }).recordId === id)).toBe(true);
      expect(everything.items.every((event: { accountId: string }) => event.accountId === 'acme')).toBe(true);
    });
  });

  describe('authentication', () => {
    const call = (token: string) => fetch(`${runtime.url}/v1/objects`, { headers: { authorization: `Bearer ${token}` } });

    it.each([
      ['no token', async () => ''],
      ['a malformed token', async () => 'not.a.jwt'],
      ['an expired token', async () => runtime.issuer.sign({ email: ACME_ADMIN, 'custom:accountId': 'acme', 'cognito:groups': ['super-admins'] }, 'user-acme-admin', Math.floor(Date.now() / 1000) - 60)],
      ['an unsigned token (alg: none)', async () =>
        new UnsecuredJWT({ email: ACME_ADMIN, 'custom:accountId': 'acme', 'cognito:groups': ['super-admins'] })
          .setSubject('user-acme-admin').setIssuer('crm-backup-local').setAudience('crm-backup').setExpirationTime('1h').encode()],
      ['a token signed by another key', async () => {
        const { privateKey } = await generateKeyPair('ES256');
        return new SignJWT({ email: ACME_ADMIN, 'custom:accountId': 'acme', 'cognito:groups': ['super-admins'] })
          .setProtectedHeader({ alg: 'ES256' }).setSubject('user-acme-admin').setIssuer('crm-backup-local').setAudience('crm-backup')
          .setExpirationTime('1h').sign(privateKey);
      }],
      ['a token without an account', async () => runtime.issuer.sign({ email: ACME_ADMIN }, 'user-acme-admin')],
    ])('answers 401 to %s', async (_, makeToken) => {
      const response = await call(await makeToken());
      expect(response.status).toBe(401);
      const body = await response.json();
      expect(body.error.code).toBe('UNAUTHORIZED');
      expect(JSON.stringify(body)).not.toMatch(/at \w+ \(|node_modules/);
    });
  });

  it('answers 404 with the error shape for an unknown endpoint', async () => {
    const { status, body } = await runtime.api('GET', '/v1/nothing-here');
    expect(status).toBe(404);
    expect(body.error.code).toBe('NOT_FOUND');
  });
});

describe('local runtime', () => {
  it('keeps data across a restart and does not seed twice', async () => {
    const first = await startTestRuntime();
    const dataDir = first.dataDir;
    const id = (await first.api('GET', '/v1/objects/products/records?limit=1')).body.items[0].id;
    await first.api('PATCH', `/v1/objects/products/records/${id}`, { body: { properties: { name: 'Survives restarts' } } });
    await first.stop();

    const second = await startTestRuntime({ dataDir });
    try {
      expect((await second.api('GET', `/v1/objects/products/records/${id}`)).body.properties.name).toBe('Survives restarts');
      const products = (await second.api('GET', '/v1/objects')).body.items.find((type: { name: string }) => type.name === 'products');
      expect(products.records).toBe(40);
    } finally {
      await second.stop();
      await import('node:fs/promises').then((fs) => fs.rm(dataDir, { recursive: true, force: true }));
    }
  });
});
