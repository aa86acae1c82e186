import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbRecordStore } from '#adapters/dynamodb-record-store.ts';
import { seedDemoData } from '../local/seed.ts';

/**
 * `node infra/seed-demo-data.ts --table <DataTableName output> [--records 500]`: writes
 * the demo accounts (acme, Enterprise; globex, Professional), their object types and
 * records into the deployed data table, with the same seeder as the local runtime.
 * For trying a fresh deployment; a real CRM writes its own data. Uses your AWS CLI
 * credentials and region (AWS_REGION / AWS_PROFILE).
 */
const usage = 'usage: node infra/seed-demo-data.ts --table <DataTableName> [--records 500]';
const { values } = parseArgs({ options: { table: { type: 'string' }, records: { type: 'string', default: '500' } } });
const records = Number(values.records);
if (!values.table || !Number.isInteger(records) || records < 0) {
  console.error(usage);
  process.exit(2);
}
const store = new DynamoDbRecordStore(DynamoDBDocumentClient.from(new DynamoDBClient({})), values.table);
const seeded = await seedDemoData(store, { recordsPerType: records });
console.log(seeded ? `Seeded the demo accounts acme and globex into ${values.table}.` : `${values.table} already holds the demo accounts.`);
