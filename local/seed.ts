import type { RecordStore } from '#core/ports/record-store.ts';
import { demoAccounts, demoRecord } from './demo-data.ts';

const CHUNK = 500;
const PARALLEL_CHUNKS = 4;

/**
 * Seeds the demo accounts unless they are already there (data survives restarts in
 * DATA_DIR). Answers whether it seeded anything.
 */
export async function seedDemoData(store: RecordStore, options: { recordsPerType: number }): Promise<boolean> {
  let seeded = false;
  for (const demo of demoAccounts(options.recordsPerType)) {
    if (await store.getAccount(demo.account.id)) continue;
    for (const objectType of demo.objectTypes) await store.putObjectType(demo.account.id, objectType);
    for (const objectType of demo.objectTypes) await seedRecords(store, demo.account.id, objectType.name, demo.records[objectType.name] ?? 0);
    // The account item goes last: its presence means "fully seeded".
    await store.putAccount(demo.account);
    seeded = true;
  }
  return seeded;
}

/**
 * Adds `count` more demo records to one object type, continuing after the records it
 * already has (so repeated runs grow it). Generates and writes in chunks: memory
 * stays flat for millions of records.
 */
export async function seedRecords(
  store: RecordStore,
  accountId: string,
  objectTypeName: string,
  count: number,
  onProgress?: (written: number) => void,
): Promise<void> {
  const demo = demoAccounts(1).find((candidate) => candidate.account.id === accountId);
  const objectType = (await store.getObjectType(accountId, objectTypeName)) ?? demo?.objectTypes.find((type) => type.name === objectTypeName);
  if (!objectType) throw new Error(`Unknown object type "${objectTypeName}" in account "${accountId}"`);
  const allTypes = demo?.objectTypes ?? [objectType];
  const start = (await store.getObjectType(accountId, objectTypeName))?.records ?? 0;
  let written = 0;
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const from = next;
      next = Math.min(count, next + CHUNK);
      const records = [];
      for (let i = from; i < next; i += 1) records.push(demoRecord(accountId, allTypes, objectType, start + i));
      await store.putRecords(accountId, objectTypeName, records);
      written += records.length;
      onProgress?.(written);
    }
  };
  await Promise.all(Array.from({ length: PARALLEL_CHUNKS }, worker));
}
