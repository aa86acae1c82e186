import { AsyncLocalStorage } from 'node:async_hooks';
import type { ClientInstrument } from '#runtime/clients.ts';
import type { FunctionName } from '#service/catalog.ts';
import { TABLES } from '#service/tables.ts';

/**
 * One AWS call a function made, reduced to what decides its permission: the service and
 * operation, and the resources it names (table and leading keys, bucket and keys,
 * state machine or execution, sender and recipients, key and encryption context, bus).
 * Never the data itself: no item attributes, no object bodies, no email text.
 */
export interface AwsCall {
  function: FunctionName;
  /** The SDK client's service: DynamoDB, S3, SFN, SESv2, KMS, EventBridge. */
  service: string;
  /** The command without its suffix: GetItem, UploadPartCopy, StartExecution. */
  operation: string;
  table?: string;
  index?: string;
  /** The partition key values the call reads or writes (`dynamodb:LeadingKeys`). */
  leadingKeys?: string[];
  /** Per table, for BatchGetItem and BatchWriteItem. */
  tables?: Array<{ table: string; leadingKeys: string[] }>;
  bucket?: string;
  key?: string;
  keys?: string[];
  prefix?: string;
  copySource?: string;
  stateMachineArn?: string;
  executionArn?: string;
  from?: string;
  to?: string[];
  keyId?: string;
  encryptionContext?: Record<string, string>;
  eventBuses?: string[];
}

/** Which function is running, for every async continuation of its invocation. */
export const currentFunction = new AsyncLocalStorage<FunctionName>();

/**
 * An instrument for every SDK client: each command sent while a function runs (inside
 * `currentFunction.run`) is reported with that function's name. A presigned URL is
 * reported too (presigning runs the command's middleware): whoever follows it acts with
 * the signer's permissions. Calls made outside any invocation (seeding, tests reading
 * the stand-ins) are not a function's and are skipped.
 */
export function recordAwsCalls(tableNames: Record<string, string>, onCall: (call: AwsCall) => void): ClientInstrument {
  return (client) => {
    (client.middlewareStack as { add(middleware: unknown, options: unknown): void }).add(
      (next: (args: { input: Record<string, any> }) => Promise<unknown>, context: { clientName?: string; commandName?: string }) =>
        async (args: { input: Record<string, any> }) => {
          const fn = currentFunction.getStore();
          if (fn) {
            const service = String(context.clientName ?? '').replace(/Client$/, '');
            const operation = String(context.commandName ?? '').replace(/Command$/, '');
            onCall({ function: fn, service, operation, ...resourcesOf(service, args.input, tableNames) });
          }
          return next(args);
        },
      // After the document client marshalled the input, before anything is sent.
      { step: 'serialize', priority: 'high', name: 'recordAwsCall', override: true },
    );
  };
}

function resourcesOf(service: string, input: Record<string, any>, tableNames: Record<string, string>): Partial<AwsCall> {
  switch (service) {
    case 'DynamoDB':
      return dynamoResources(input, tableNames);
    case 'S3':
      return {
        bucket: input.Bucket,
        ...(input.Key !== undefined ? { key: input.Key } : {}),
        ...(input.Prefix !== undefined ? { prefix: input.Prefix } : {}),
        ...(input.CopySource !== undefined ? { copySource: decodeURIComponent(String(input.CopySource)) } : {}),
        ...(input.Delete ? { keys: (input.Delete.Objects ?? []).map((object: { Key: string }) => object.Key) } : {}),
      };
    case 'SFN':
      return { stateMachineArn: input.stateMachineArn, executionArn: input.executionArn };
    case 'SESv2':
      return { from: input.FromEmailAddress, to: [...(input.Destination?.ToAddresses ?? []), ...(input.Destination?.CcAddresses ?? []), ...(input.Destination?.BccAddresses ?? [])] };
    case 'KMS':
      return { keyId: input.KeyId, encryptionContext: input.EncryptionContext };
    case 'EventBridge':
      return { eventBuses: [...new Set<string>((input.Entries ?? []).map((entry: { EventBusName?: string }) => entry.EventBusName ?? 'default'))] };
    default:
      return {};
  }
}

/** Partition key attribute of a table or of one of its indexes, by local table name. */
function partitionKeyOf(tableNames: Record<string, string>, table: string, index?: string): string {
  const schema = TABLES.find((candidate) => tableNames[candidate.id] === table);
  if (!schema) throw new Error(`recordAwsCalls: unknown table ${table}`);
  if (!index) return schema.partitionKey;
  const gsi = schema.globalIndexes.find((candidate) => candidate.name === index);
  if (!gsi) throw new Error(`recordAwsCalls: unknown index ${table}/${index}`);
  return gsi.partitionKey;
}

/** A marshalled (`{S: "x"}`) or plain attribute value as a string. */
function plain(value: unknown): string {
  if (value && typeof value === 'object' && 'S' in value) return String((value as { S: unknown }).S);
  if (value && typeof value === 'object' && 'N' in value) return String((value as { N: unknown }).N);
  return String(value);
}

function dynamoResources(input: Record<string, any>, tableNames: Record<string, string>): Partial<AwsCall> {
  if (input.RequestItems) {
    return {
      tables: Object.entries(input.RequestItems as Record<string, any>).map(([table, request]) => {
        const pk = partitionKeyOf(tableNames, table);
        const items: Array<Record<string, unknown>> = Array.isArray(request)
          ? request.map((write: any) => write.PutRequest?.Item ?? write.DeleteRequest?.Key)
          : (request.Keys ?? []);
        return { table, leadingKeys: [...new Set(items.map((item) => plain(item[pk])))] };
      }),
    };
  }
  const table = String(input.TableName);
  const pk = partitionKeyOf(tableNames, table, input.IndexName);
  const item = input.Key ?? input.Item;
  let leadingKeys: string[] = item ? [plain(item[pk])] : [];
  if (input.KeyConditionExpression) {
    const names = (input.ExpressionAttributeNames ?? {}) as Record<string, string>;
    for (const [, name, placeholder] of String(input.KeyConditionExpression).matchAll(/([#\w]+)\s*=\s*(:\w+)/g)) {
      if ((names[name!] ?? name) === pk) leadingKeys = [plain(input.ExpressionAttributeValues?.[placeholder!])];
    }
  }
  return { table, ...(input.IndexName ? { index: input.IndexName } : {}), leadingKeys };
}
