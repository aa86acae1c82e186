import { createValidatedPolicy, validateResourcePolicy } from '@cloud-copilot/iam-policy';
import { runSimulation, runUnsafeSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import type { AwsCall } from '../../local/aws-calls.ts';
import { LOCAL_RESOURCES } from '../../local/runtime.ts';
import { configFromEnv, type AppConfig } from '#runtime/config.ts';
import { FUNCTIONS, type FunctionName } from '#service/catalog.ts';
import { ACCOUNT, REGION, type Deployment } from './cloudformation.ts';

/**
 * The permission check: the AWS calls each function made in the end-to-end suites
 * (local/aws-calls.ts), translated into the IAM requests AWS would authorize for them
 * (with the resource ARNs of the deployed stacks, the KMS use S3 and DynamoDB make on
 * the caller's behalf, and the condition keys the policies test), evaluated by
 * @cloud-copilot/iam-simulate against that function's role policies and the resource
 * policies of the bucket and keys.
 */

/** One request IAM authorizes: who, what, on which ARN, with which condition keys. */
export interface IamRequest {
  function: FunctionName;
  action: string;
  resource: string;
  context: Record<string, string | string[]>;
  /** The resource's own policy (bucket policy, key policy), when it has one. */
  resourcePolicy?: unknown;
  /** The recorded call it comes from, for the report. */
  call: string;
}

interface PolicyDocument {
  Statement: Array<{ Effect: string; Action?: string | string[]; Resource?: string | string[]; Condition?: unknown; Principal?: unknown }>;
}

/** A function as deployed: its role and the identity policies attached to it. */
export interface DeployedFunction {
  name: FunctionName;
  roleArn: string;
  policies: Array<{ name: string; policy: PolicyDocument }>;
}

/** The deployed app, read from the synthesized stacks: what the check evaluates against. */
export class DeployedApp {
  readonly functions: Map<FunctionName, DeployedFunction>;
  /** What every function's environment names (configFromEnv over the resolved variables). */
  readonly config: AppConfig;

  private readonly deployment: Deployment;
  private readonly stateless: string;

  constructor(deployment: Deployment, stateless: string) {
    this.deployment = deployment;
    this.stateless = stateless;
    this.functions = new Map();
    let environment: Record<string, string> | undefined;
    for (const [name, spec] of Object.entries(FUNCTIONS) as Array<[FunctionName, (typeof FUNCTIONS)[FunctionName]]>) {
      const found = deployment.resourcesOf(stateless, 'AWS::Lambda::Function').find(([, properties]) => properties.Description === spec.description);
      if (!found) throw new Error(`No Lambda function for ${name} in ${stateless}`);
      const [, properties] = found;
      environment ??= deployment.resolve(stateless, properties.Environment?.Variables ?? {});
      const roleId = properties.Role['Fn::GetAtt'][0] as string;
      const roleArn = String(deployment.resolve(stateless, properties.Role));
      const role = deployment.template(stateless).Resources[roleId]!.Properties ?? {};
      if (role.ManagedPolicyArns?.length) throw new Error(`${name}'s role has managed policies, which this check cannot read: ${JSON.stringify(role.ManagedPolicyArns)}`);
      const policies = [
        ...(role.Policies ?? []).map((inline: { PolicyName: string; PolicyDocument: unknown }) => ({ name: inline.PolicyName, policy: deployment.resolve(stateless, inline.PolicyDocument) })),
        ...deployment
          .resourcesOf(stateless, 'AWS::IAM::Policy')
          .filter(([, policy]) => (policy.Roles ?? []).some((ref: { Ref?: string }) => ref.Ref === roleId))
          .map(([logicalId, policy]) => ({ name: logicalId, policy: deployment.resolve(stateless, policy.PolicyDocument) })),
      ];
      this.functions.set(name, { name, roleArn, policies });
    }
    this.config = configFromEnv({ AWS_REGION: REGION, ...environment });
  }

  /** The table with this name: its ARN, its key, its resource policy. */
  table(name: string): { arn: string; keyArn?: string; policy?: unknown } {
    const found = this.deployment.findByName('AWS::DynamoDB::Table', name);
    if (!found) throw new Error(`No DynamoDB table named ${name} in the stacks`);
    const properties = this.deployment.template(found.stack).Resources[found.logicalId]!.Properties ?? {};
    return {
      arn: this.deployment.resolve(found.stack, { 'Fn::GetAtt': [found.logicalId, 'Arn'] }),
      keyArn: this.deployment.resolve(found.stack, properties.SSESpecification?.KMSMasterKeyId),
      policy: this.deployment.resolve(found.stack, properties.ResourcePolicy?.PolicyDocument),
    };
  }

  /** The bucket with this name: its ARN, its default KMS key, its bucket policy. */
  bucket(name: string): { arn: string; keyArn?: string; policy?: unknown } {
    const found = this.deployment.findByName('AWS::S3::Bucket', name);
    if (!found) throw new Error(`No bucket named ${name} in the stacks`);
    const properties = this.deployment.template(found.stack).Resources[found.logicalId]!.Properties ?? {};
    const policy = this.deployment
      .resourcesOf(found.stack, 'AWS::S3::BucketPolicy')
      .find(([, candidate]) => this.deployment.resolve(found.stack, candidate.Bucket) === name)?.[1].PolicyDocument;
    const encryption = properties.BucketEncryption?.ServerSideEncryptionConfiguration?.[0]?.ServerSideEncryptionByDefault;
    return {
      arn: `arn:aws:s3:::${name}`,
      keyArn: encryption?.SSEAlgorithm === 'aws:kms' ? this.deployment.resolve(found.stack, encryption.KMSMasterKeyID) : undefined,
      policy: policy && this.deployment.resolve(found.stack, policy),
    };
  }

  /** A KMS key by ARN: its key policy (KMS needs it to allow, not only IAM). */
  keyPolicy(keyArn: string): unknown {
    for (const stack of [this.stateless, ...this.otherStacks()]) {
      for (const [logicalId, properties] of this.deployment.resourcesOf(stack, 'AWS::KMS::Key')) {
        if (this.deployment.resolve(stack, { 'Fn::GetAtt': [logicalId, 'Arn'] }) === keyArn) return this.deployment.resolve(stack, properties.KeyPolicy);
      }
    }
    throw new Error(`No KMS key ${keyArn} in the stacks`);
  }

  private otherStacks(): string[] {
    return this.deployment.stackNames().filter((stack) => stack !== this.stateless);
  }
}

const VIA = (service: string) => ({ 'kms:ViaService': `${service}.${REGION}.amazonaws.com`, 'kms:CallerAccount': ACCOUNT });

/**
 * The IAM requests one recorded call needs, with AWS names in place of the local ones.
 * A call this does not know fails the check: a new kind of call gets its rule here.
 */
export function iamRequestsFor(call: AwsCall, app: DeployedApp): Array<Omit<IamRequest, 'function' | 'call'>> {
  const { config } = app;
  const local = LOCAL_RESOURCES;
  const tableName = (localName: string) => {
    if (localName === local.tables.DataTable) return config.dataTableName;
    if (localName === local.tables.AppTable) return config.appTableName;
    throw new Error(`Unknown local table ${localName}`);
  };
  const fail = (): never => {
    throw new Error(`No IAM mapping for ${call.service} ${call.operation} (test/support/permission-check.ts): ${JSON.stringify(call)}`);
  };

  switch (call.service) {
    case 'DynamoDB': {
      const onTable = (localName: string, leadingKeys: string[], index?: string) => {
        const table = app.table(tableName(localName));
        const requests: Array<Omit<IamRequest, 'function' | 'call'>> = [
          { action: `dynamodb:${call.operation}`, resource: index ? `${table.arn}/index/${index}` : table.arn, context: { 'dynamodb:LeadingKeys': leadingKeys }, resourcePolicy: table.policy },
        ];
        // A table under a customer managed key: DynamoDB decrypts the table key with the caller's permission.
        if (table.keyArn) requests.push({ action: 'kms:Decrypt', resource: table.keyArn, context: VIA('dynamodb'), resourcePolicy: app.keyPolicy(table.keyArn) });
        return requests;
      };
      if (call.tables) return call.tables.flatMap((entry) => onTable(entry.table, entry.leadingKeys));
      if (!['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query'].includes(call.operation)) fail();
      return onTable(call.table!, call.leadingKeys ?? [], call.index);
    }
    case 'S3': {
      if (call.bucket !== local.bucket) throw new Error(`Unknown local bucket ${call.bucket}`);
      const bucket = app.bucket(config.backupBucketName);
      const object = (key: string) => `${bucket.arn}/${key}`;
      const s3 = (action: string, resource: string, context: Record<string, string | string[]> = {}) => ({ action, resource, context, resourcePolicy: bucket.policy });
      // SSE-KMS: reading an object decrypts its data key, writing one generates a data key,
      // and multipart uploads (parts, copies, completion) read the upload's key back.
      const kms = (...actions: string[]) =>
        bucket.keyArn ? actions.map((action) => ({ action, resource: bucket.keyArn!, context: VIA('s3'), resourcePolicy: app.keyPolicy(bucket.keyArn!) })) : [];
      switch (call.operation) {
        case 'GetObject':
          return [s3('s3:GetObject', object(call.key!)), ...kms('kms:Decrypt')];
        case 'HeadObject':
          return [s3('s3:GetObject', object(call.key!))];
        case 'PutObject':
        case 'CreateMultipartUpload':
          return [s3('s3:PutObject', object(call.key!)), ...kms('kms:GenerateDataKey')];
        case 'UploadPart':
        case 'CompleteMultipartUpload':
          return [s3('s3:PutObject', object(call.key!)), ...kms('kms:Decrypt')];
        case 'UploadPartCopy': {
          const source = call.copySource!.replace(/^\//, '');
          if (!source.startsWith(`${local.bucket}/`)) throw new Error(`Copy from another bucket: ${source}`);
          return [s3('s3:PutObject', object(call.key!)), s3('s3:GetObject', object(source.slice(local.bucket.length + 1))), ...kms('kms:Decrypt')];
        }
        case 'AbortMultipartUpload':
          return [s3('s3:AbortMultipartUpload', object(call.key!))];
        case 'ListParts':
          return [s3('s3:ListMultipartUploadParts', object(call.key!))];
        case 'ListObjectsV2':
          return [s3('s3:ListBucket', bucket.arn, { 's3:prefix': call.prefix ?? '' })];
        case 'DeleteObject':
          return [s3('s3:DeleteObject', object(call.key!))];
        case 'DeleteObjects':
          return (call.keys ?? []).map((key) => s3('s3:DeleteObject', object(key)));
        default:
          return fail();
      }
    }
    case 'SFN': {
      const machines = new Map<string, string>([
        [local.stateMachineArn('backup'), config.backupStateMachineArn],
        [local.stateMachineArn('restore'), config.restoreStateMachineArn],
        [local.stateMachineArn('restore-plan'), config.restorePlanStateMachineArn ?? ''],
        [local.stateMachineArn('comparison'), config.comparisonStateMachineArn ?? ''],
        [local.stateMachineArn('anomaly-check'), config.anomalyCheckStateMachineArn ?? ''],
      ]);
      if (call.operation === 'StartExecution') return [{ action: 'states:StartExecution', resource: machines.get(call.stateMachineArn!) ?? fail(), context: {} }];
      if (call.operation === 'DescribeExecution' || call.operation === 'StopExecution') {
        const [machineArn, name] = [call.executionArn!.slice(0, call.executionArn!.lastIndexOf(':')).replace(':execution:', ':stateMachine:'), call.executionArn!.split(':').pop()];
        const deployed = machines.get(machineArn) ?? fail();
        return [{ action: `states:${call.operation}`, resource: `${deployed.replace(':stateMachine:', ':execution:')}:${name}`, context: {} }];
      }
      return fail();
    }
    case 'SESv2': {
      if (call.operation !== 'SendEmail') fail();
      if (call.from !== local.senderEmail) throw new Error(`Email from ${call.from}, not the configured sender`);
      const identity = (name: string) => `arn:aws:ses:${REGION}:${ACCOUNT}:identity/${name}`;
      const context = { 'ses:FromAddress': config.senderEmail };
      // SES authorizes the sender's identity and, in the sandbox, each recipient's.
      return [identity(config.senderEmail), ...(call.to ?? []).map(identity)].map((resource) => ({ action: 'ses:SendEmail', resource, context }));
    }
    case 'KMS': {
      if (!['Encrypt', 'Decrypt'].includes(call.operation)) fail();
      const keyArn = config.secretsKeyId ?? fail();
      const context: Record<string, string | string[]> = { 'kms:EncryptionContextKeys': Object.keys(call.encryptionContext ?? {}) };
      for (const [name, value] of Object.entries(call.encryptionContext ?? {})) context[`kms:EncryptionContext:${name}`] = value;
      return [{ action: `kms:${call.operation}`, resource: keyArn, context, resourcePolicy: app.keyPolicy(keyArn) }];
    }
    case 'EventBridge': {
      if (call.operation !== 'PutEvents') fail();
      return (call.eventBuses ?? []).map((bus) => {
        if (bus !== local.eventBus) throw new Error(`Events put on ${bus}, not the change bus`);
        return { action: 'events:PutEvents', resource: `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/${config.eventBusName}`, context: {} };
      });
    }
    default:
      return fail();
  }
}

/** Allowed, or why not: iam-simulate's verdict on one request. */
export async function evaluate(request: IamRequest, fn: DeployedFunction): Promise<string> {
  const simulation: Simulation = {
    request: {
      principal: fn.roleArn,
      action: request.action,
      resource: { resource: request.resource, accountId: ACCOUNT },
      contextVariables: {
        'aws:SecureTransport': 'true',
        'aws:PrincipalArn': fn.roleArn,
        'aws:PrincipalAccount': ACCOUNT,
        'aws:RequestedRegion': REGION,
        ...request.context,
      },
    },
    identityPolicies: fn.policies,
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: request.resourcePolicy,
  };
  // iam-simulate 0.1 drops context keys it cannot match to the action's list, and it
  // matches variable keys only after a "/" (aws:PrincipalTag/x), not after a ":" as in
  // kms:EncryptionContext:<key>: such a request runs without that filtering, its
  // resource policy validated here instead (the unchecked path needs it pre-loaded, named).
  if (Object.keys(request.context).some((key) => key.startsWith('kms:EncryptionContext:'))) {
    const resourcePolicy = request.resourcePolicy ? createValidatedPolicy(request.resourcePolicy, validateResourcePolicy, { name: 'resource policy' }) : undefined;
    if (resourcePolicy?.errors.length) throw new Error(`Invalid resource policy for ${request.resource}: ${JSON.stringify(resourcePolicy.errors)}`);
    return runUnsafeSimulation({ ...simulation, resourcePolicy }, {});
  }
  const result = await runSimulation(simulation, {});
  if (result.resultType === 'error') throw new Error(`iam-simulate could not evaluate ${request.action} on ${request.resource}: ${JSON.stringify(result.errors)}`);
  return result.overallResult;
}

/** `s3:GetObject*` matches `s3:GetObject`; IAM's `*` and `?` wildcards, case-insensitive for actions. */
export function matchesPattern(pattern: string, value: string, ignoreCase = false): boolean {
  const source = `^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`;
  return new RegExp(source, ignoreCase ? 'i' : '').test(value);
}

/** One grant of an identity policy: an action (as written, maybe with a wildcard) on a resource pattern. */
export interface Grant {
  function: FunctionName;
  action: string;
  resource: string;
}

/** Every (action, resource) pair the function's Allow statements grant. */
export function grantsOf(fn: DeployedFunction): Grant[] {
  const list = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);
  return fn.policies.flatMap(({ policy }) =>
    policy.Statement.filter((statement) => statement.Effect === 'Allow').flatMap((statement) =>
      list(statement.Action).flatMap((action) => list(statement.Resource).map((resource) => ({ function: fn.name, action, resource }))),
    ),
  );
}
