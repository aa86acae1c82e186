import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { StopExecutionCommand } from '@aws-sdk/client-sfn';
import { createAwsClients, type AwsClients } from '#runtime/clients.ts';
import type { LocalRuntime } from '../../local/runtime.ts';

/**
 * What tests look at in the stand-ins beyond what the service's ports offer: every key
 * under a prefix of the bucket, and an execution stopped from outside (as a person in
 * the console would). The tests' own SDK clients, pointed where the runtime's point.
 */

const clients = new WeakMap<LocalRuntime, AwsClients>();

/** SDK clients of the tests' own, for what no port offers (writing an item in a layout the service no longer writes). */
export function clientsOf(runtime: LocalRuntime): AwsClients {
  if (!clients.has(runtime)) clients.set(runtime, createAwsClients(runtime.config));
  return clients.get(runtime)!;
}

/** Keys in the backup bucket under a prefix, in key order. */
export async function bucketKeys(runtime: LocalRuntime, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await clientsOf(runtime).s3.send(new ListObjectsV2Command({ Bucket: runtime.config.backupBucketName, Prefix: prefix, ContinuationToken: token }));
    keys.push(...(page.Contents ?? []).map((object) => object.Key!));
    token = page.NextContinuationToken;
  } while (token);
  return keys;
}

/** Stops the execution named `name` of a state machine (StopExecution: it ends ABORTED). */
export async function stopExecution(runtime: LocalRuntime, stateMachineArn: string, name: string): Promise<void> {
  await clientsOf(runtime).stepFunctions.send(new StopExecutionCommand({ executionArn: `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}` }));
}
