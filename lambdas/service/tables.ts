/**
 * Key schemas of the service's DynamoDB tables, as plain data: the CDK stack builds
 * the real tables from it and the local runtime creates the same tables in the
 * stand-in, so the two cannot drift. Item layouts are in ARCHITECTURE.md.
 */
export interface TableSchema {
  /** Logical id in the CDK stack and table name locally. */
  id: 'DataTable' | 'AppTable';
  partitionKey: string;
  sortKey: string;
  globalIndexes: Array<{ name: string; partitionKey: string; sortKey: string }>;
  /** Attribute holding an epoch-seconds expiry (plans, leases); DynamoDB TTL deletes the item. */
  ttlAttribute?: string;
}

export const TABLES: TableSchema[] = [
  {
    id: 'DataTable',
    partitionKey: 'pk',
    sortKey: 'sk',
    globalIndexes: [{ name: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' }],
  },
  {
    id: 'AppTable',
    partitionKey: 'pk',
    sortKey: 'sk',
    globalIndexes: [{ name: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' }],
    ttlAttribute: 'ttl',
  },
];
