import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CrmRecord, ObjectType } from '#core/model.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';
import { ACKNOWLEDGE, ACME_ADMIN, ACME_SSO_ADMIN, movableClock } from './support.ts';

const DAY = 24 * 3_600_000;
const clock = movableClock();
const { advance } = clock;
const TYPE = 'p_roundtrip';
const PROPERTIES = ['notes', 'formula', 'label'];

const FUZZ_TYPE: ObjectType = {
  name: TYPE,
  label: 'Round trip',
  pluralLabel: 'Round trips',
  custom: true,
  properties: PROPERTIES.map((name) => ({ name, label: name, type: 'text', readOnly: false, calculated: false, sensitive: false })),
};

/** Values that break naive CSV writers, spreadsheets or UTF-8 handling. */
const NASTY = [
  '',
  '\r',
  '\n',
  '\r\n',
  'a\rb',
  'line one\r\nline two\nline three\r',
  '"',
  '""',
  '"quoted", with comma',
  ',',
  ',,,',
  '=1+2',
  '=HYPERLINK("http://evil.example","click")',
  "=cmd|' /C calc'!A0",
  '+1',
  '-1',
  '@SUM(A1:A9)',
  '\t=1',
  ' leading and trailing spaces ',
  '\uFEFFstarts with a BOM',
  '😀🏳️‍🌈𝄞 astral-plane 𠜎',
  'e\u0301 combining, ß, İ, ﬁ',
  'right\u202eto-left override',
  'nul\u0000inside',
  'x'.repeat(20_000),
  '😀'.repeat(2_000),
];

/** Any Unicode scalar value (lone surrogates cannot be UTF-8, so no store can keep them), or a nasty one. */
const value = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.constantFrom(...NASTY) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...NASTY), fc.string({ unit: 'grapheme', maxLength: 10 })).map(([a, b]) => a + b) },
);
const records = fc.array(fc.record({ notes: value, formula: value, label: value }), { minLength: 1, maxLength: 12 });

describe('exact round trip: backup, change, restore', () => {
  let runtime: TestRuntime;
  let run = 0;
  let checkedValues = 0;

  beforeAll(async () => {
    runtime = await startTestRuntime({ clock });
    await runtime.deps.records.putObjectType('acme', FUZZ_TYPE);
  });
  afterAll(async () => {
    console.log(JSON.stringify({ suite: 'round trip', runs: run, valuesCompared: checkedValues }));
    await runtime?.destroy();
  });

  async function roundTrip(generated: Array<Record<string, string>>): Promise<void> {
    run += 1;
    // A clean object type: only this run's records.
    for (const record of (await runtime.deps.records.listRecords('acme', TYPE, { limit: 500 })).items) await runtime.deps.records.deleteRecord('acme', TYPE, record.id);
    const backedUp: CrmRecord[] = generated.map((properties, index) => ({
      id: `rt-${run}-${index}`,
      properties: Object.fromEntries(Object.entries(properties).filter(([, text]) => text !== '')),
    }));
    await runtime.deps.records.putRecords('acme', TYPE, backedUp);

    advance(DAY + 60_000);
    const backup = await runtime.api('POST', '/v1/backups', { as: ACME_ADMIN });
    expect(backup.status, JSON.stringify(backup.body)).toBe(202);
    await runtime.idle();
    expect((await runtime.api('GET', `/v1/backups/${backup.body.id}`, { as: ACME_ADMIN })).body.status).toBe('SUCCEEDED');

    // Change every chosen property of every record: a new value, or a blank where there was one.
    for (const [index, record] of backedUp.entries()) {
      const changed = Object.fromEntries(PROPERTIES.map((name) => [name, (record.properties[name] ?? '') === '' ? `filled ${index}` : index % 2 ? '' : `${record.properties[name]} changed`]));
      const response = await runtime.api('PATCH', `/v1/objects/${TYPE}/records/${record.id}`, { as: ACME_SSO_ADMIN, body: { properties: changed } });
      expect(response.status, JSON.stringify(response.body).slice(0, 300)).toBe(200);
    }

    const plan = await runtime.api('POST', `/v1/backups/${backup.body.id}/restore-plans`, { as: ACME_SSO_ADMIN, body: { objectType: TYPE, properties: PROPERTIES } });
    expect(plan.status, JSON.stringify(plan.body).slice(0, 500)).toBe(201);
    expect(plan.body).toMatchObject({ recordsInBackup: backedUp.length, recordsToChange: backedUp.length, recordsMissing: 0 });
    const restore = await runtime.api('POST', '/v1/restores', { as: ACME_SSO_ADMIN, body: { planId: plan.body.id, acknowledge: ACKNOWLEDGE } });
    expect(restore.status, JSON.stringify(restore.body)).toBe(202);
    await runtime.idle();
    const result = (await runtime.api('GET', `/v1/restores/${restore.body.id}`, { as: ACME_SSO_ADMIN })).body;
    expect(result).toMatchObject({ status: 'SUCCEEDED', counts: { updated: backedUp.length, failed: 0 } });

    // Every chosen property equals its backed-up value, byte for byte (as UTF-8), through the API.
    for (const record of backedUp) {
      const today = await runtime.api('GET', `/v1/objects/${TYPE}/records/${record.id}`, { as: ACME_SSO_ADMIN });
      for (const name of PROPERTIES) {
        const expected = Buffer.from(record.properties[name] ?? '', 'utf8');
        const actual = Buffer.from(today.body.properties[name] ?? '', 'utf8');
        expect(actual.equals(expected), `${record.id}.${name}: ${JSON.stringify(today.body.properties[name]).slice(0, 200)} ≠ ${JSON.stringify(record.properties[name] ?? '').slice(0, 200)}`).toBe(true);
        checkedValues += 1;
      }
    }
  }

  it('restores a record of six 60 KB values over six others, exactly, with one storable change event (and edits and deletes of it too)', async () => {
    const big = ['a', 'b', 'c', 'd', 'e', 'f'];
    await runtime.deps.records.putObjectType('acme', { ...FUZZ_TYPE, name: 'p_big', properties: big.map((name) => ({ ...FUZZ_TYPE.properties[0]!, name })) });
    // 360 KB of text: the record fits in a 400 KB item, its before and after together do not.
    const values = (fill: string) => Object.fromEntries(big.map((name, index) => [name, `${name}${index}😀`.padEnd(60_000, fill)]));
    await runtime.deps.records.putRecords('acme', 'p_big', [{ id: 'big-1', properties: values('x') }, { id: 'big-2', properties: values('z') }]);
    advance(DAY + 60_000);
    const backup = await runtime.api('POST', '/v1/backups', { as: ACME_ADMIN });
    await runtime.idle();
    await runtime.deps.records.putRecords('acme', 'p_big', [{ id: 'big-1', properties: values('y') }]);
    const plan = await runtime.api('POST', `/v1/backups/${backup.body.id}/restore-plans`, { as: ACME_SSO_ADMIN, body: { objectType: 'p_big', properties: big } });
    expect(plan.status, JSON.stringify(plan.body).slice(0, 300)).toBe(201);
    const restore = await runtime.api('POST', '/v1/restores', { as: ACME_SSO_ADMIN, body: { planId: plan.body.id, acknowledge: ACKNOWLEDGE } });
    await runtime.idle();
    const result = (await runtime.api('GET', `/v1/restores/${restore.body.id}`, { as: ACME_SSO_ADMIN })).body;
    expect(result).toMatchObject({ status: 'SUCCEEDED', counts: { updated: 1, unchanged: 1, failed: 0 } });
    expect((await runtime.deps.records.getRecord('acme', 'p_big', 'big-1'))!.properties).toEqual(values('x'));
    const events = (await runtime.deps.records.listChangeEvents('acme', { recordId: 'big-1', limit: 10 })).items.filter((event) => event.restoreId === result.id);
    expect(events).toHaveLength(1);
    expect(events[0]!.changes.map((change) => change.property).sort()).toEqual(big);
    expect(events[0]!.changes.every((change) => change.truncated === true && values('x')[change.property]!.startsWith(change.to))).toBe(true);
    // A user's edit and a delete of such a record also keep their change event.
    const edited = await runtime.api('PATCH', '/v1/objects/p_big/records/big-2', { as: ACME_SSO_ADMIN, body: { properties: Object.fromEntries(big.map((name) => [name, 'short'])) } });
    expect(edited.status, JSON.stringify(edited.body).slice(0, 300)).toBe(200);
    expect((await runtime.api('DELETE', '/v1/objects/p_big/records/big-1', { as: ACME_SSO_ADMIN })).status).toBe(204);
    expect((await runtime.deps.records.listChangeEvents('acme', { recordId: 'big-1', limit: 10 })).items.filter((event) => event.kind === 'DELETED')).toHaveLength(1);
    expect((await runtime.deps.records.listChangeEvents('acme', { recordId: 'big-2', limit: 10 })).items).toHaveLength(1);
  });

  it('restores random records with any Unicode, CR/LF, quotes, commas, formula prefixes, long and empty values exactly', async () => {
    // Every nasty value once, deterministically, then random records.
    const everyNasty = NASTY.map((text, index) => ({ notes: text, formula: NASTY[(index + 7) % NASTY.length]!, label: NASTY[(index + 13) % NASTY.length]! }));
    await roundTrip(everyNasty);
    await fc.assert(fc.asyncProperty(records, roundTrip), { numRuns: 15, seed: 0x5eed9, endOnFailure: true });
    expect(run).toBe(16);
  });
});
