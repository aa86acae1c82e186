import { createHash } from 'node:crypto';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { generate } from 'otplib';
import { expect } from 'vitest';
import { withEveryProperty } from '#core/data-plane.ts';
import type { CrmRecord } from '#core/model.ts';
import type { TestRuntime } from './local-runtime.ts';
import { clientsOf } from './stand-ins.ts';

/** Every record of one object type, blanks as "" (the API's view), by id. */
export async function allRecords(runtime: TestRuntime, accountId: string, objectType: string): Promise<Map<string, CrmRecord>> {
  const records = new Map<string, CrmRecord>();
  const type = await runtime.deps.records.getObjectType(accountId, objectType);
  if (!type) throw new Error(`No object type ${objectType} in ${accountId}`);
  let cursor: string | undefined;
  do {
    const page = await runtime.deps.records.listRecords(accountId, objectType, { limit: 500, cursor });
    for (const record of page.items) records.set(record.id, withEveryProperty(record, type));
    cursor = page.nextCursor;
  } while (cursor);
  return records;
}

/**
 * SHA-256 over every record of every object type of the given accounts (and the type
 * definitions): "the data plane did not change" is "the hash did not change".
 */
export async function dataPlaneHash(runtime: TestRuntime, accounts = ['acme', 'globex']): Promise<string> {
  const hash = createHash('sha256');
  for (const accountId of accounts) {
    const types = (await runtime.deps.records.listObjectTypes(accountId)).sort((a, b) => a.name.localeCompare(b.name));
    for (const type of types) {
      const records = [...(await allRecords(runtime, accountId, type.name)).values()].sort((a, b) => a.id.localeCompare(b.id));
      hash.update(JSON.stringify([accountId, type.name, type.properties, records]));
    }
  }
  return hash.digest('hex');
}

/**
 * SHA-256 over every item of the data table (accounts, object types, records, change
 * events of every tenant), read by Scan: one query-free pass, fast enough to take
 * after every request of a fuzz run (dataPlaneHash reads each type's 16 segments).
 */
export async function dataTableHash(runtime: TestRuntime): Promise<string> {
  const hash = createHash('sha256');
  let start: Record<string, unknown> | undefined;
  do {
    const page = await clientsOf(runtime).dynamodb.send(new ScanCommand({ TableName: runtime.config.dataTableName, ExclusiveStartKey: start, ConsistentRead: true }));
    for (const item of page.Items ?? []) hash.update(JSON.stringify(item));
    start = page.LastEvaluatedKey;
  } while (start);
  return hash.digest('hex');
}

/**
 * A user edits the first deal of `acme` after `backupId`; the demo admin plans the
 * restore of its name from that backup and applies it with a TOTP code; answers once the
 * restore ended.
 */
export async function restoreOneEditedDeal(runtime: TestRuntime, backupId: string): Promise<{ restoreId: string; dealId: string }> {
  const [dealId] = [...(await allRecords(runtime, 'acme', 'deals')).keys()].sort();
  const edited = await runtime.api('PATCH', `/v1/objects/deals/records/${dealId}`, { as: 'user@acme.example', body: { properties: { dealname: 'Edited after the backup' } } });
  expect(edited.status).toBe(200);
  const admin = 'admin@acme.example';
  const plan = await runtime.api('POST', `/v1/backups/${backupId}/restore-plans`, { as: admin, body: { objectType: 'deals', properties: ['dealname'] } });
  expect(plan.status, JSON.stringify(plan.body)).toBe(201);
  expect(plan.body.recordsToChange).toBe(1);
  const secret = /admin@acme\.example\s+secret (\w+)/.exec(await runtime.banner())![1]!;
  const started = await runtime.api('POST', '/v1/restores', {
    as: admin,
    body: { planId: plan.body.id, acknowledge: { changesData: true, cannotBeUndone: true }, totp: await generate({ secret }) },
  });
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  await runtime.idle();
  return { restoreId: started.body.id, dealId: dealId! };
}
