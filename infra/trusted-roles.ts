import { ArnFormat, type Stack } from 'aws-cdk-lib';

/**
 * How the stateful stack's key and bucket policies name the roles they trust.
 *
 * The functions' roles live in the stateless stack, which is deployed after the
 * stateful one and may be replaced without touching data, so the policies cannot
 * refer to them as resources (and KMS refuses a principal that does not exist yet).
 * Each function's role instead gets its own IAM path, and the policies trust the
 * account's principals only under the condition `aws:PrincipalArn` matches that path:
 * exact per function, without a dependency from data to code.
 */

/** `/crm-backup/<stage>/<function>/`: the IAM path of a function's role. */
export function functionRolePath(stage: string, functionName: string): string {
  return `/crm-backup/${stage}/${functionName}/`;
}

/** `arn:aws:iam::<account>:role/crm-backup/<stage>/<function>/*`, for `aws:PrincipalArn` conditions. */
export function functionRoleArnPattern(stack: Stack, stage: string, functionName: string): string {
  return stack.formatArn({
    service: 'iam',
    region: '',
    resource: 'role',
    resourceName: `${functionRolePath(stage, functionName).slice(1)}*`,
    arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
  });
}

/** The role an operator assumes (with MFA) to read backups when the service cannot. */
export const breakGlassRoleName = (stage: string): string => `crm-backup-${stage}-break-glass`;

/** The role that may administer (never use) the backup and secrets keys. */
export const keyAdminRoleName = (stage: string): string => `crm-backup-${stage}-key-admin`;
