import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbRecordStore } from '#adapters/dynamodb-record-store.ts';
import { createTables, startDynamoDb } from './dynamodb.ts';
import { seedDemoData, seedRecords } from './seed.ts';
import { LOCAL_TABLE_NAMES } from './runtime.ts';

/**
 * `npm run seed -- --account acme --object contacts --records 1000000`: adds generated
 * records to one object type of a local DATA_DIR, for scale work. Run it while
 * `npm start` is stopped: both would open the same LevelDB files.
 */
const usage = 'usage: npm run seed -- --account <id> --object <type> --records <count>   (DATA_DIR, default ./.local-data)';
let values;
try {
  ({ values } = parseArgs({
    options: { account: { type: 'string' }, object: { type: 'string' }, records: { type: 'string' }, help: { type: 'boolean' } },
  }));
} catch (error) {
  console.error(`${(error as Error).message}\n${usage}`);
  process.exit(2);
}
const count = Number(values.records);
if (values.help || !values.account || !values.object || !Number.isInteger(count) || count < 1) {
  console.error(usage);
  process.exit(values.help ? 0 : 2);
}

const dataDir = process.env.DATA_DIR ?? './.local-data';
const dynamo = await startDynamoDb(`${dataDir}/dynamodb`);
const client = new DynamoDBClient({ region: 'us-east-1', endpoint: dynamo.endpoint, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
await createTables(client, LOCAL_TABLE_NAMES);
const store = new DynamoDbRecordStore(DynamoDBDocumentClient.from(client), LOCAL_TABLE_NAMES.DataTable);
await seedDemoData(store, { recordsPerType: Number(process.env.DEMO_RECORDS_PER_TYPE ?? 2500) });

const started = Date.now();
let last = 0;
try {
  await seedRecords(store, values.account, values.object, count, (written) => {
    if (written - last >= 50_000 || written === count) {
      last = written;
      const seconds = (Date.now() - started) / 1000;
      process.stdout.write(`\r${written.toLocaleString('en-US')} / ${count.toLocaleString('en-US')} records (${Math.round(written / seconds)}/s)   `);
    }
  });
  const type = await store.getObjectType(values.account, values.object);
  console.log(`\nDone in ${((Date.now() - started) / 1000).toFixed(1)} s: ${values.account}/${values.object} now has ${type?.records.toLocaleString('en-US')} records.`);
} catch (error) {
  console.error(`\n${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  await dynamo.stop();
}
