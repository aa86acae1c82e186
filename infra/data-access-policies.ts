import { Aws, DefaultStackSynthesizer, Fn, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { BucketPrefix, FunctionPermissions } from './permissions.ts';
import { functionRoleArnPattern } from './trusted-roles.ts';

/**
 * The resource policies of the backup bucket and of the backup and secrets keys
 * (issue 13, finding 11). IAM alone is not enough for data this sensitive: with the
 * default policies (the account root with `kms:*`, a bucket policy that only denies
 * plain HTTP), any principal of the account whose IAM allows `s3:GetObject` and
 * `kms:Decrypt` reads every tenant's backups. Here the resource says who, by name.
 */
export interface TrustedPrincipals {
  stage: string;
  /** The permission table for this deployment (infra/permissions.ts, settings applied). */
  permissions: Record<string, FunctionPermissions>;
  /** May administer the keys (never use them). */
  keyAdmin: iam.IRole;
  /** May read backups/ and plans/ when the service cannot (assumed with MFA). */
  breakGlass: iam.IRole;
}

/**
 * Key administration without use: enough to change the policy, rotation, tags, state
 * and deletion, not to encrypt or decrypt. Listed one by one (no `kms:*Key*` wildcards)
 * so that a reviewer sees exactly what an administrator can do.
 */
const KEY_ADMIN_ACTIONS = [
  'kms:DescribeKey',
  'kms:GetKeyPolicy',
  'kms:PutKeyPolicy',
  'kms:GetKeyRotationStatus',
  'kms:EnableKeyRotation',
  'kms:DisableKeyRotation',
  'kms:RotateKeyOnDemand',
  'kms:ListKeyRotations',
  'kms:ListResourceTags',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:UpdateKeyDescription',
  'kms:EnableKey',
  'kms:DisableKey',
  'kms:ListGrants',
  'kms:RevokeGrant',
  'kms:ListAliases',
  'kms:CreateAlias',
  'kms:UpdateAlias',
  'kms:DeleteAlias',
  'kms:ScheduleKeyDeletion',
  'kms:CancelKeyDeletion',
];

/** S3 uses the key on the caller's behalf: the only way the bucket's key is used. */
export const THROUGH_S3: Record<string, Record<string, unknown>> = { StringEquals: { 'kms:ViaService': `s3.${Aws.REGION}.${Aws.URL_SUFFIX}` } };

/**
 * The encryption context the TOTP cipher sets (`cipherContext` in
 * lambdas/core/totp/totp-enrolment.ts): the secrets key works under it only.
 */
export const TOTP_ENCRYPTION_CONTEXT: Record<string, Record<string, unknown>> = {
  StringEquals: { 'kms:EncryptionContext:purpose': 'totp' },
  Null: { 'kms:EncryptionContext:userId': 'false' },
};

/** The functions whose entry satisfies `predicate`, as the ARN patterns of their roles. */
function rolesOf(stack: Stack, trusted: TrustedPrincipals, predicate: (entry: FunctionPermissions) => boolean): string[] {
  return Object.entries(trusted.permissions)
    .filter(([, entry]) => predicate(entry))
    .map(([name]) => functionRoleArnPattern(stack, trusted.stage, name));
}

const usesPrefix = (entry: FunctionPermissions, prefix: BucketPrefix) =>
  [entry.backupBucket?.read, entry.backupBucket?.write, entry.backupBucket?.delete].some((prefixes) => prefixes?.includes(prefix));
const readsOrWritesBackups = (entry: FunctionPermissions) => (entry.backupBucket?.read?.length ?? 0) + (entry.backupBucket?.write?.length ?? 0) > 0;
const writesBackups = (entry: FunctionPermissions) => (entry.backupBucket?.write?.length ?? 0) > 0;

/** The account's principals, but only those whose ARN matches one of `roles` (no statement for none). */
function onlyRoles(roles: string[], conditions: Record<string, Record<string, unknown>>, statement: Omit<iam.PolicyStatementProps, 'principals' | 'conditions'>): iam.PolicyStatement[] {
  if (!roles.length) return [];
  return [
    new iam.PolicyStatement({
      ...statement,
      principals: [new iam.AccountRootPrincipal()],
      resources: ['*'],
      conditions: { ...conditions, ArnLike: { 'aws:PrincipalArn': roles } },
    }),
  ];
}

/**
 * Administration by the key-admin role and by the role CloudFormation deploys with:
 * KMS refuses a key policy that would lock out the principal setting it, and the next
 * deploy must be able to update it.
 */
function administration(stack: Stack, keyAdmin: iam.IRole): iam.PolicyStatement {
  const synthesizer = stack.synthesizer;
  if (!(synthesizer instanceof DefaultStackSynthesizer))
    throw new Error('The key policies name the CDK bootstrap CloudFormation execution role as key administrator: deploy with the default stack synthesizer (cdk bootstrap)');
  return new iam.PolicyStatement({
    sid: 'Administration',
    principals: [keyAdmin, new iam.ArnPrincipal(Fn.sub(synthesizer.cloudFormationExecutionRoleArn))],
    actions: KEY_ADMIN_ACTIONS,
    resources: ['*'],
  });
}

/**
 * The backup key: administered by the key-admin role; used only through S3, for
 * Decrypt by the functions that read or write backups/ or plans/ (writes need it for
 * multipart uploads and part copies) and the break-glass role, for GenerateDataKey by
 * the functions that write.
 */
export function backupKeyPolicy(stack: Stack, trusted: TrustedPrincipals): iam.PolicyDocument {
  return new iam.PolicyDocument({
    statements: [
      administration(stack, trusted.keyAdmin),
      ...onlyRoles(rolesOf(stack, trusted, readsOrWritesBackups), THROUGH_S3, { sid: 'DecryptThroughS3', actions: ['kms:Decrypt'] }),
      ...onlyRoles(rolesOf(stack, trusted, writesBackups), THROUGH_S3, { sid: 'EncryptThroughS3', actions: ['kms:GenerateDataKey'] }),
      new iam.PolicyStatement({ sid: 'BreakGlassDecryptThroughS3', principals: [trusted.breakGlass], actions: ['kms:Decrypt'], resources: ['*'], conditions: THROUGH_S3 }),
    ],
  });
}

/**
 * The secrets key wraps TOTP secrets and nothing else: Encrypt (enrolment) and Decrypt
 * (code checks) only, only with the encryption context the cipher sets
 * (`purpose=totp`, `userId`), only for the functions that enrol or check codes.
 */
export function secretsKeyPolicy(stack: Stack, trusted: TrustedPrincipals): iam.PolicyDocument {
  return new iam.PolicyDocument({
    statements: [
      administration(stack, trusted.keyAdmin),
      ...onlyRoles(rolesOf(stack, trusted, (entry) => entry.secretsKey !== undefined), TOTP_ENCRYPTION_CONTEXT, { sid: 'DecryptTotpSecrets', actions: ['kms:Decrypt'] }),
      ...onlyRoles(rolesOf(stack, trusted, (entry) => entry.secretsKey === 'encryptDecrypt'), TOTP_ENCRYPTION_CONTEXT, { sid: 'EncryptTotpSecrets', actions: ['kms:Encrypt'] }),
    ],
  });
}

/** Presigned URLs are handed out for 5 minutes (DOWNLOAD_URL_SECONDS); S3 refuses older signatures whatever their expiry. */
const PRESIGNED_MAX_AGE_MS = 5 * 60 * 1000;

/**
 * Denies on the backup bucket that hold whatever IAM says elsewhere in the account:
 * - `backups/*` and `plans/*`: any principal but the functions that use the prefix
 *   (by infra/permissions.ts) and the break-glass role; listing the bucket likewise;
 * - puts that name another KMS key, or another kind of server-side encryption, than
 *   the bucket's (puts that name none get the bucket's default key);
 * - presigned requests signed more than 5 minutes ago (`s3:signatureAge`).
 */
export function guardBackupBucket(bucket: s3.Bucket, key: kms.IKey, prefixes: BucketPrefix[], trusted: TrustedPrincipals): void {
  const stack = Stack.of(bucket);
  const anyone = [new iam.AnyPrincipal()];
  const exempt = (roles: string[]) => ({ ArnNotLike: { 'aws:PrincipalArn': [...roles, trusted.breakGlass.roleArn] } });
  for (const prefix of prefixes) {
    bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: `OnlyServiceRolesOn${prefix.replace(/\W/g, '')}`,
        effect: iam.Effect.DENY,
        principals: anyone,
        actions: ['s3:*'],
        resources: [bucket.arnForObjects(`${prefix}*`)],
        conditions: exempt(rolesOf(stack, trusted, (entry) => usesPrefix(entry, prefix))),
      }),
    );
  }
  bucket.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'OnlyServiceRolesList',
      effect: iam.Effect.DENY,
      principals: anyone,
      actions: ['s3:ListBucket', 's3:ListBucketVersions', 's3:ListBucketMultipartUploads'],
      resources: [bucket.bucketArn],
      conditions: exempt(rolesOf(stack, trusted, (entry) => prefixes.some((prefix) => usesPrefix(entry, prefix)))),
    }),
  );
  bucket.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'NoOtherKey',
      effect: iam.Effect.DENY,
      principals: anyone,
      actions: ['s3:PutObject'],
      resources: [bucket.arnForObjects('*')],
      conditions: {
        Null: { 's3:x-amz-server-side-encryption-aws-kms-key-id': 'false' },
        StringNotEquals: { 's3:x-amz-server-side-encryption-aws-kms-key-id': [key.keyArn, key.keyId] },
      },
    }),
  );
  bucket.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'NoOtherEncryption',
      effect: iam.Effect.DENY,
      principals: anyone,
      actions: ['s3:PutObject'],
      resources: [bucket.arnForObjects('*')],
      conditions: { Null: { 's3:x-amz-server-side-encryption': 'false' }, StringNotEquals: { 's3:x-amz-server-side-encryption': 'aws:kms' } },
    }),
  );
  bucket.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'NoStalePresignedRequests',
      effect: iam.Effect.DENY,
      principals: anyone,
      actions: ['s3:*'],
      resources: [bucket.arnForObjects('*')],
      conditions: { NumericGreaterThan: { 's3:signatureAge': PRESIGNED_MAX_AGE_MS } },
    }),
  );
}
