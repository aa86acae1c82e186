import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { sendConditionalWrite } from './aws-errors.ts';

/**
 * Sets the defined fields of `patch` on the item at `key`, only while it exists and
 * its `status` is one of `fromStatuses`; answers whether it did. One conditional
 * write, so of two steps racing to move a backup or a restore on (a finalize and a
 * failure) exactly one wins. An empty patch still checks the status.
 * `what` names the store when DynamoDB throttles (see sendConditionalWrite).
 */
export async function updateIfStatus(
  client: DynamoDBDocumentClient,
  key: { TableName: string; Key: Record<string, string> },
  patch: object,
  fromStatuses: readonly string[],
  what: string,
): Promise<boolean> {
  const names: Record<string, string> = { '#status': 'status' };
  const values: Record<string, unknown> = {};
  const sets: string[] = [];
  for (const [field, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    names[`#${field}`] = field;
    values[`:${field}`] = value;
    sets.push(`#${field} = :${field}`);
  }
  const allowed = fromStatuses.map((status, index) => {
    values[`:from${index}`] = status;
    return `:from${index}`;
  });
  return sendConditionalWrite(
    client,
    new UpdateCommand({
      ...key,
      UpdateExpression: sets.length ? `SET ${sets.join(', ')}` : 'SET #status = #status',
      ConditionExpression: `attribute_exists(pk) AND #status IN (${allowed.join(', ')})`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    }),
    what,
  );
}
