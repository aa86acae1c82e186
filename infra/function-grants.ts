import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { SOURCE_TOKEN_ENCRYPTION_CONTEXT, THROUGH_S3, TOTP_ENCRYPTION_CONTEXT } from './data-access-policies.ts';
import type { FunctionPermissions } from './permissions.ts';

/**
 * The IAM statements for the table, bucket and secrets-key parts of a function's entry
 * in infra/permissions.ts, written out rather than left to CDK's `grant*` helpers,
 * whose wildcards (`s3:List*`, `s3:GetBucket*` on the whole bucket, `dynamodb:Scan`,
 * `kms:GenerateDataKey*` on the secrets key) are more than any handler calls
 * (issue 13, findings 14 and 15).
 */

/**
 * The calls the adapters of each table make (test/after-suites/permissions.test.ts finds
 * any other unused). No Scan: no code scans, and a Scan has no leading key that a
 * condition could limit. The record store batches (BatchGetItem while planning,
 * BatchWriteItem for change events) and writes accounts only when seeding, with the
 * operator's credentials; the app table's adapters work item by item.
 */
export const TABLE_OPERATIONS = {
  DataTable: { reads: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'], writes: ['dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'] },
  AppTable: { reads: ['dynamodb:GetItem', 'dynamodb:Query'], writes: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'] },
} as const;

/**
 * App table partitions only some functions may touch: the audit log, the TOTP state
 * (the wrapped secret, used time steps, lock-outs) and each account's connected CRM
 * (its encrypted token, portal and scopes). The prefixes are the ones the adapters build
 * (dynamodb-audit-log.ts, dynamodb-totp-secrets.ts, dynamodb-source-connections.ts).
 */
export const PROTECTED_PARTITIONS = { audit: 'AUDIT#', totp: 'USER#', source: 'SOURCE#' } as const;

/**
 * Reads (and writes, for `readWrite`) on `table` and its indexes, and the table key's
 * decrypt (encrypt) that DynamoDB needs on the caller's behalf. `fenced` lists partition
 * prefixes the function may not read or write: a `dynamodb:LeadingKeys` condition.
 */
export function grantTable(
  fn: iam.IGrantable,
  table: dynamodb.ITable,
  operations: { reads: readonly string[]; writes: readonly string[] },
  access: 'read' | 'readWrite',
  fenced: { read: string[]; write: string[] } = { read: [], write: [] },
): void {
  const outside = (prefixes: string[]) =>
    prefixes.length ? { 'ForAllValues:StringNotLike': { 'dynamodb:LeadingKeys': prefixes.map((prefix) => `${prefix}*`) } } : undefined;
  // Only Query reads an index (GetItem and BatchGetItem name the table's own key).
  iam.Grant.addToPrincipal({ grantee: fn, actions: [...operations.reads], resourceArns: [table.tableArn], conditions: outside(fenced.read) });
  iam.Grant.addToPrincipal({ grantee: fn, actions: ['dynamodb:Query'], resourceArns: [`${table.tableArn}/index/*`], conditions: outside(fenced.read) });
  if (access === 'readWrite') iam.Grant.addToPrincipal({ grantee: fn, actions: [...operations.writes], resourceArns: [table.tableArn], conditions: outside(fenced.write) });
  if (access === 'read') table.encryptionKey?.grantDecrypt(fn);
  else table.encryptionKey?.grantEncryptDecrypt(fn);
}

/**
 * What the app table fences off from a function, by its entry: others' audit entries are
 * read-only, TOTP state untouchable; a source connection is read only by the functions
 * that may decrypt its token, and written only by the one that may encrypt one.
 */
export function fencedAppPartitions(entry: FunctionPermissions): { read: string[]; write: string[] } {
  const read: string[] = [];
  const write: string[] = [];
  if (!entry.auditLog) write.push(PROTECTED_PARTITIONS.audit);
  if (!entry.totp) {
    read.push(PROTECTED_PARTITIONS.totp);
    write.push(PROTECTED_PARTITIONS.totp);
  }
  if (!entry.sourceTokens) read.push(PROTECTED_PARTITIONS.source);
  if (entry.sourceTokens !== 'encrypt') write.push(PROTECTED_PARTITIONS.source);
  return { read, write };
}

/**
 * Objects under the entry's prefixes, by verb; ListBucket only under the prefixes it
 * reads or deletes (`s3:prefix`), which is what deleting a prefix lists; the bucket
 * key's Decrypt (read, write: multipart uploads and part copies read it back) and
 * GenerateDataKey (write), only through S3. Nothing on the bucket itself.
 */
export function grantBackupBucket(fn: iam.IGrantable, bucket: s3.IBucket, access: NonNullable<FunctionPermissions['backupBucket']>): void {
  const objects = (prefixes: string[] | undefined) => (prefixes ?? []).map((prefix) => bucket.arnForObjects(`${prefix}*`));
  const add = (actions: string[], resourceArns: string[], conditions?: Record<string, Record<string, unknown>>) => {
    if (resourceArns.length) iam.Grant.addToPrincipal({ grantee: fn, actions, resourceArns, conditions });
  };
  add(['s3:GetObject'], objects(access.read));
  add(['s3:PutObject', 's3:AbortMultipartUpload'], objects(access.write));
  add(['s3:DeleteObject'], objects(access.delete));
  const listed = [...new Set([...(access.read ?? []), ...(access.delete ?? [])])];
  if (listed.length) add(['s3:ListBucket'], [bucket.bucketArn], { StringLike: { 's3:prefix': listed.map((prefix) => `${prefix}*`) } });

  const key = bucket.encryptionKey;
  if (!key) return;
  if (access.read?.length || access.write?.length) add(['kms:Decrypt'], [key.keyArn], THROUGH_S3);
  if (access.write?.length) add(['kms:GenerateDataKey'], [key.keyArn], THROUGH_S3);
}

/** Encrypt (enrolment) and/or Decrypt (code checks) of TOTP secrets, only under their encryption context. */
export function grantSecretsKey(fn: iam.IGrantable, key: kms.IKey, access: NonNullable<FunctionPermissions['secretsKey']>): void {
  iam.Grant.addToPrincipal({
    grantee: fn,
    actions: access === 'encryptDecrypt' ? ['kms:Encrypt', 'kms:Decrypt'] : ['kms:Decrypt'],
    resourceArns: [key.keyArn],
    conditions: TOTP_ENCRYPTION_CONTEXT,
  });
}

/** Encrypt (connecting a CRM) or Decrypt (calling it) of a connected CRM's token, only under its encryption context. */
export function grantSourceTokens(fn: iam.IGrantable, key: kms.IKey, access: NonNullable<FunctionPermissions['sourceTokens']>): void {
  iam.Grant.addToPrincipal({
    grantee: fn,
    actions: access === 'encrypt' ? ['kms:Encrypt'] : ['kms:Decrypt'],
    resourceArns: [key.keyArn],
    conditions: SOURCE_TOKEN_ENCRYPTION_CONTEXT,
  });
}
