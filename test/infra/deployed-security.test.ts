import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { App, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_ROUTES, FUNCTIONS, STATE_MACHINES } from '#service/catalog.ts';
import { PROJECT_ROOT } from '../../infra/paths.ts';
import { PERMISSIONS, REAUTHENTICATED_DOWNLOAD_PERMISSIONS, permissionsTable, type FunctionPermissions } from '../../infra/permissions.ts';
import { EXPENSIVE_ROUTE_THROTTLES, RESERVED_CONCURRENCY } from '../../infra/stacks/stateless-stack.ts';
import { reviewWildcards } from '../../infra/wildcard-review.ts';
import { SOURCE_TOKEN_ENCRYPTION_CONTEXT, TOTP_ENCRYPTION_CONTEXT } from '../../infra/data-access-policies.ts';
import { PROTECTED_PARTITIONS, TABLE_OPERATIONS } from '../../infra/function-grants.ts';
import { startTestRuntime } from '../support/local-runtime.ts';
import { clientsOf } from '../support/stand-ins.ts';
import { TABLES } from '#service/tables.ts';
import { removeSynthesizedApps, synthesizeApp, type SynthesizedApp } from './infra-app.ts';
import { flat, list, logicalIdStartingWith, statementsOfRole, type PolicyStatement } from './template-values.ts';

/**
 * Issue 13, findings 11-15: what an adversarial review of the synthesized CloudFormation
 * found, asserted on the templates by value. Each `describe` is one finding.
 */
let synthesized: SynthesizedApp;
let optionalMfa: SynthesizedApp;
beforeAll(() => {
  synthesized = synthesizeApp();
  optionalMfa = synthesizeApp({ mfa: 'optional' });
});
afterAll(removeSynthesizedApps);

const functionLogicalId = (app: SynthesizedApp, name: string) => app.stateless.getLogicalId(app.stateless.functions[name]!.node.defaultChild as never);
const roleIdOf = (app: SynthesizedApp, name: string): string => app.stateless$.toJSON().Resources[functionLogicalId(app, name)].Properties.Role['Fn::GetAtt'][0];
const statementsOf = (app: SynthesizedApp, name: string) => statementsOfRole(app.stateless$, roleIdOf(app, name));
/** The ARN pattern the stateful stack's policies use for a function's role (by its IAM path). */
const rolePattern = (name: string) => `arn:<AWS::Partition>:iam::<AWS::AccountId>:role/crm-backup/test/${name}/*`;
const namesWith = (predicate: (entry: FunctionPermissions) => boolean, table: Record<string, FunctionPermissions> = PERMISSIONS) =>
  Object.entries(table)
    .filter(([, entry]) => predicate(entry))
    .map(([name]) => name)
    .sort();
const keyPolicy = (app: SynthesizedApp, prefix: string): PolicyStatement[] =>
  app.stateful$.toJSON().Resources[logicalIdStartingWith(app.stateful$, 'AWS::KMS::Key', prefix)].Properties.KeyPolicy.Statement;
const principalsOf = (statement: PolicyStatement): string[] => list((statement.Principal as { AWS?: unknown })?.AWS).map(flat).sort();
const trustedArns = (statement: PolicyStatement): string[] => list(statement.Condition?.ArnLike?.['aws:PrincipalArn']).map(flat).sort();
const allowing = (statements: PolicyStatement[], action: string) => statements.filter((s) => s.Effect === 'Allow' && list(s.Action).includes(action));
const isBreakGlass = (arn: string) => /^<BreakGlassRole[A-F0-9]*\.Arn>$/.test(arn);

describe('finding 11: key and bucket policies trust named roles, not the whole account', () => {
  it('gives no statement of the backup or secrets key to the account root without a condition, and never kms:*', () => {
    for (const prefix of ['BackupKey', 'SecretsKey']) {
      for (const statement of keyPolicy(synthesized, prefix)) {
        expect(list(statement.Action), prefix).not.toContain('kms:*');
        const root = principalsOf(statement).some((principal) => principal.endsWith(':root'));
        if (root) expect(statement.Condition?.ArnLike?.['aws:PrincipalArn'], `${prefix}: a root statement must name the roles it trusts`).toBeDefined();
      }
    }
  });

  it('lets only the key-admin role and the CloudFormation execution role administer the keys, without using them', () => {
    for (const prefix of ['BackupKey', 'SecretsKey']) {
      const admin = allowing(keyPolicy(synthesized, prefix), 'kms:PutKeyPolicy');
      expect(admin, prefix).toHaveLength(1);
      const principals = principalsOf(admin[0]!);
      expect(principals, prefix).toHaveLength(2);
      expect(principals.some((p) => /^<KeyAdminRole[A-F0-9]*\.Arn>$/.test(p)), prefix).toBe(true);
      expect(principals.some((p) => p.includes(':role/cdk-hnb659fds-cfn-exec-role-')), prefix).toBe(true);
      for (const action of ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:ReEncryptFrom']) expect(list(admin[0]!.Action), prefix).not.toContain(action);
    }
  });

  it('lets exactly the functions that read or write backups/ and plans/ (and break-glass) decrypt with the backup key, only through S3', () => {
    const statements = keyPolicy(synthesized, 'BackupKey');
    const decrypt = allowing(statements, 'kms:Decrypt');
    const readers = namesWith((p) => (p.backupBucket?.read?.length ?? 0) + (p.backupBucket?.write?.length ?? 0) > 0);
    const trusted = decrypt.flatMap(trustedArns);
    expect(trusted.filter((arn) => !isBreakGlass(arn)).sort()).toEqual(readers.map(rolePattern).sort());
    const breakGlassDecrypt = decrypt.filter((s) => principalsOf(s).some(isBreakGlass));
    expect(breakGlassDecrypt).toHaveLength(1);
    for (const statement of decrypt) expect(statement.Condition?.StringEquals?.['kms:ViaService'], JSON.stringify(statement)).toEqual({ 'Fn::Join': ['', ['s3.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }]] });
    const generate = allowing(statements, 'kms:GenerateDataKey');
    expect(generate.flatMap(trustedArns).sort()).toEqual(namesWith((p) => (p.backupBucket?.write?.length ?? 0) > 0).map(rolePattern).sort());
    for (const statement of generate) expect(statement.Condition?.StringEquals?.['kms:ViaService']).toBeDefined();
    expect(statements.flatMap((s) => list(s.Action)).filter((action) => action.includes('*'))).toEqual([]);
  });

  it('lets the secrets key only encrypt and decrypt TOTP secrets (encryption context purpose=totp), for the functions that check codes', () => {
    const check = (app: SynthesizedApp, decrypters: string[], encrypters: string[]) => {
      const statements = keyPolicy(app, 'SecretsKey');
      // Connected CRMs' tokens have statements of their own (the next test).
      const use = statements.filter((s) => !list(s.Action).includes('kms:PutKeyPolicy') && !String(s.Sid).includes('SourceTokens'));
      expect(use.flatMap((s) => list(s.Action)).sort()).toEqual([...new Set(use.flatMap((s) => list(s.Action)))].sort());
      for (const statement of use) {
        expect(list(statement.Action).every((action) => action === 'kms:Encrypt' || action === 'kms:Decrypt'), JSON.stringify(statement.Action)).toBe(true);
        expect(statement.Condition?.StringEquals?.['kms:EncryptionContext:purpose']).toBe('totp');
        expect(statement.Condition?.Null?.['kms:EncryptionContext:userId']).toBe('false');
      }
      expect(allowing(use, 'kms:Decrypt').flatMap(trustedArns).sort()).toEqual(decrypters.map(rolePattern).sort());
      expect(allowing(use, 'kms:Encrypt').flatMap(trustedArns).sort()).toEqual(encrypters.map(rolePattern).sort());
    };
    // Connecting a data source asks for a code like a restore (sources-api).
    check(synthesized, ['restores-api', 'sources-api'], ['restores-api']);
    // With -c mfa=optional the backups API checks codes before a download (finding 13).
    check(optionalMfa, ['backups-api', 'restores-api', 'sources-api'], ['restores-api']);
  });

  it('lets the secrets key encrypt and decrypt CRM tokens only under their context (purpose=source-token, accountId), for the functions that connect or call a CRM', () => {
    const statements = keyPolicy(synthesized, 'SecretsKey').filter((s) => String(s.Sid).includes('SourceTokens'));
    for (const statement of statements) {
      expect(statement.Condition?.StringEquals?.['kms:EncryptionContext:purpose']).toBe('source-token');
      expect(statement.Condition?.Null?.['kms:EncryptionContext:accountId']).toBe('false');
    }
    const holders = (access: string) => Object.entries(PERMISSIONS).filter(([, entry]) => entry.sourceTokens === access).map(([name]) => rolePattern(name)).sort();
    expect(allowing(statements, 'kms:Decrypt').flatMap(trustedArns).sort()).toEqual(holders('decrypt'));
    expect(allowing(statements, 'kms:Encrypt').flatMap(trustedArns).sort()).toEqual(holders('encrypt'));
    expect(holders('encrypt')).toEqual([rolePattern('sources-api')]);
  });

  it('gives every function role the IAM path the key and bucket policies trust', () => {
    for (const name of Object.keys(FUNCTIONS)) {
      const role = synthesized.stateless$.toJSON().Resources[roleIdOf(synthesized, name)];
      expect(role.Properties.Path, name).toBe(`/crm-backup/test/${name}/`);
    }
  });

  describe('the backup bucket policy', () => {
    const bucketStatements = (app: SynthesizedApp): PolicyStatement[] => {
      const bucketId = logicalIdStartingWith(app.stateful$, 'AWS::S3::Bucket', 'BackupBucket');
      const policy = Object.values(app.stateful$.findResources('AWS::S3::BucketPolicy')).find((p) => p.Properties.Bucket.Ref === bucketId)!;
      return policy.Properties.PolicyDocument.Statement;
    };
    const deniesOn = (resource: string) =>
      bucketStatements(synthesized).filter((s) => s.Effect === 'Deny' && list(s.Resource).map(flat).some((r) => r.endsWith(resource)) && s.Condition?.ArnNotLike);

    it.each(['backups', 'plans'] as const)('denies everything on %s/* to any principal but the functions that use the prefix and the break-glass role', (prefix) => {
      const [deny, ...more] = deniesOn(`/${prefix}/*`);
      expect(more).toEqual([]);
      expect(deny!.Principal).toEqual({ AWS: '*' });
      expect(list(deny!.Action)).toEqual(['s3:*']);
      const users = namesWith((p) => [p.backupBucket?.read, p.backupBucket?.write, p.backupBucket?.delete].some((prefixes) => prefixes?.includes(`${prefix}/`)));
      const exempt = list(deny!.Condition!.ArnNotLike!['aws:PrincipalArn']).map(flat);
      expect(exempt.filter((arn) => !isBreakGlass(arn)).sort()).toEqual(users.map(rolePattern).sort());
      expect(exempt.filter(isBreakGlass)).toHaveLength(1);
    });

    it('denies puts that name another KMS key or another kind of encryption', () => {
      const keyId = logicalIdStartingWith(synthesized.stateful$, 'AWS::KMS::Key', 'BackupKey');
      const puts = bucketStatements(synthesized).filter((s) => s.Effect === 'Deny' && list(s.Action).includes('s3:PutObject'));
      const otherKey = puts.find((s) => s.Condition?.StringNotEquals?.['s3:x-amz-server-side-encryption-aws-kms-key-id']);
      expect(list(otherKey?.Condition?.StringNotEquals?.['s3:x-amz-server-side-encryption-aws-kms-key-id']).map(flat).sort()).toEqual([`<${keyId}.Arn>`, `<${keyId}>`].sort());
      // Only when the request names a key: puts that rely on the bucket's default key pass.
      expect(otherKey!.Condition!.Null).toEqual({ 's3:x-amz-server-side-encryption-aws-kms-key-id': 'false' });
      const otherKind = puts.find((s) => s.Condition?.StringNotEquals?.['s3:x-amz-server-side-encryption']);
      expect(otherKind!.Condition!.StringNotEquals!['s3:x-amz-server-side-encryption']).toBe('aws:kms');
      expect(otherKind!.Condition!.Null).toEqual({ 's3:x-amz-server-side-encryption': 'false' });
      for (const statement of [otherKey!, otherKind!]) expect(list(statement.Resource).map(flat)).toEqual([expect.stringMatching(/^<BackupBucket[A-F0-9]*\.Arn>\/\*$/)]);
    });

    it('denies presigned requests signed more than 5 minutes ago', () => {
      const age = bucketStatements(synthesized).filter((s) => s.Effect === 'Deny' && s.Condition?.NumericGreaterThan?.['s3:signatureAge'] !== undefined);
      expect(age).toHaveLength(1);
      expect(age[0]!.Condition!.NumericGreaterThan!['s3:signatureAge']).toBe(300_000);
      expect(age[0]!.Principal).toEqual({ AWS: '*' });
      expect(list(age[0]!.Resource).map(flat)).toEqual([expect.stringMatching(/^<BackupBucket[A-F0-9]*\.Arn>\/\*$/)]);
    });

    it('gives the break-glass role read access to backups/, plans/ and comparisons/ only, assumable only with MFA', () => {
      const roleId = logicalIdStartingWith(synthesized.stateful$, 'AWS::IAM::Role', 'BreakGlassRole');
      const role = synthesized.stateful$.toJSON().Resources[roleId].Properties;
      expect(role.RoleName).toBe('crm-backup-test-break-glass');
      expect(role.AssumeRolePolicyDocument.Statement).toEqual([
        expect.objectContaining({ Effect: 'Allow', Action: 'sts:AssumeRole', Condition: { Bool: { 'aws:MultiFactorAuthPresent': 'true' } } }),
      ]);
      const statements = statementsOfRole(synthesized.stateful$, roleId);
      expect(statements.flatMap((s) => list(s.Action)).sort()).toEqual(['s3:GetObject', 's3:ListBucket']);
      const objects = statements.find((s) => list(s.Action).includes('s3:GetObject'))!;
      expect(list(objects.Resource).map(flat).sort()).toEqual([
        expect.stringMatching(/\/backups\/\*$/),
        expect.stringMatching(/\/comparisons\/\*$/),
        expect.stringMatching(/\/plans\/\*$/),
      ]);
    });
  });

  it('still lets every function use the keys and prefixes infra/permissions.ts gives it (IAM side)', () => {
    for (const [name, entry] of Object.entries(PERMISSIONS)) {
      const statements = statementsOf(synthesized, name);
      const onKey = (key: string, action: string) => allowing(statements, action).some((s) => list(s.Resource).map(flat).some((r) => r.includes(key)));
      const bucket = entry.backupBucket ?? {};
      expect(onKey('BackupKey', 'kms:Decrypt'), `${name} decrypts backups`).toBe((bucket.read?.length ?? 0) + (bucket.write?.length ?? 0) > 0);
      expect(onKey('BackupKey', 'kms:GenerateDataKey'), `${name} writes backups`).toBe((bucket.write?.length ?? 0) > 0);
      expect(onKey('SecretsKey', 'kms:Encrypt'), `${name} encrypts secrets`).toBe(entry.secretsKey === 'encryptDecrypt' || entry.sourceTokens === 'encrypt');
      expect(onKey('SecretsKey', 'kms:Decrypt'), `${name} decrypts secrets`).toBe(entry.secretsKey === 'encryptDecrypt' || entry.secretsKey === 'decrypt' || entry.sourceTokens === 'decrypt');
    }
  });
});

describe('finding 12: a strict Content-Security-Policy on every CloudFront behaviour', () => {
  const distribution = () => Object.values(synthesized.stateful$.findResources('AWS::CloudFront::Distribution'))[0]!.Properties.DistributionConfig;
  const policyOf = (behaviour: { ResponseHeadersPolicyId?: { Ref?: string } }) => {
    const id = behaviour.ResponseHeadersPolicyId?.Ref;
    expect(id, 'a response headers policy of this stack').toBeDefined();
    const resource = synthesized.stateful$.toJSON().Resources[id!];
    expect(resource.Type).toBe('AWS::CloudFront::ResponseHeadersPolicy');
    return resource.Properties.ResponseHeadersPolicyConfig;
  };
  const directives = (csp: string) => new Map(csp.split(';').map((part) => part.trim().split(/\s+/)).filter((words) => words[0]).map(([name, ...sources]) => [name!, sources]));

  it('sends the same strict policy on the page, its files and /config.json', () => {
    const behaviours = [distribution().DefaultCacheBehavior, ...(distribution().CacheBehaviors ?? [])];
    expect(behaviours.map((b: { PathPattern?: string }) => b.PathPattern ?? '*')).toEqual(['*', '/config.json']);
    for (const behaviour of behaviours) {
      const config = policyOf(behaviour);
      const csp = config.SecurityHeadersConfig.ContentSecurityPolicy;
      expect(csp.Override).toBe(true);
      const found = directives(flat(csp.ContentSecurityPolicy));
      expect(found.get('default-src')).toEqual(["'self'"]);
      expect(found.get('object-src')).toEqual(["'none'"]);
      expect(found.get('base-uri')).toEqual(["'none'"]);
      expect(found.get('frame-ancestors')).toEqual(["'none'"]);
      // The page talks to itself, the API and the Cognito hosted domain, and nothing else.
      const connect = found.get('connect-src')!;
      expect(connect).toHaveLength(3);
      expect(connect[0]).toBe("'self'");
      expect(connect[1]).toMatch(/^<Api[A-F0-9]+\.ApiEndpoint>$/);
      expect(connect[2]).toMatch(/^https:\/\/<UserPoolHostedSignIn[A-F0-9]+>\.auth\.<AWS::Region>\.amazoncognito\.com$/);
      for (const sources of found.values()) for (const source of sources) expect(source).not.toMatch(/\*|unsafe|^https?:$|^data:$/);
      expect(config.SecurityHeadersConfig.FrameOptions).toEqual({ FrameOption: 'DENY', Override: true });
      expect(config.SecurityHeadersConfig.ContentTypeOptions).toEqual({ Override: true });
      expect(config.SecurityHeadersConfig.StrictTransportSecurity).toMatchObject({ Override: true, AccessControlMaxAgeSec: expect.any(Number) });
    }
  });

  it('points connect-src at the API the page is configured with', () => {
    // config.json (uploaded by the stateless stack) and the CSP name the same API resource.
    const csp = flat(policyOf(distribution().DefaultCacheBehavior).SecurityHeadersConfig.ContentSecurityPolicy.ContentSecurityPolicy);
    const apiId = /<(Api[A-F0-9]+)\.ApiEndpoint>/.exec(csp)![1]!;
    expect(synthesized.stateful$.toJSON().Resources[apiId].Type).toBe('AWS::ApiGatewayV2::Api');
    const routes = Object.values(synthesized.stateless$.findResources('AWS::ApiGatewayV2::Route'));
    for (const route of routes) expect(flat(route.Properties.ApiId)).toContain(apiId);
  });
});

describe('finding 13: with -c mfa=optional a download asks for re-authentication', () => {
  const variablesOf = (app: SynthesizedApp, name: string) => app.stateless$.toJSON().Resources[functionLogicalId(app, name)].Properties.Environment.Variables;

  it('tells every function through REAUTHENTICATE_DOWNLOADS, off when Cognito MFA is required', () => {
    for (const name of Object.keys(FUNCTIONS)) {
      expect(variablesOf(synthesized, name).REAUTHENTICATE_DOWNLOADS, name).toBe('false');
      expect(variablesOf(optionalMfa, name).REAUTHENTICATE_DOWNLOADS, name).toBe('true');
    }
  });

  it('acknowledges cdk-nag COG2 with the reason that is true: restores and downloads ask for the service’s own code', () => {
    const reasons = optionalMfa.app.node
      .findAll()
      .flatMap((construct) => construct.node.metadata.filter((entry) => entry.type === 'aws:cdk:acknowledged-rules'))
      .flatMap((entry) => Object.entries(entry.data as Record<string, string>))
      .filter(([id]) => id.endsWith('AwsSolutions-COG2'))
      .map(([, reason]) => reason);
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toMatch(/download/i);
    expect(reasons[0]).toMatch(/restore/i);
    expect(new AwsSolutionsChecks().validateScope(optionalMfa.app).violations).toEqual([]);
  });

  it('lets the backups API check TOTP codes only in that mode', () => {
    const touchesUsers = (app: SynthesizedApp) =>
      allowing(statementsOf(app, 'backups-api'), 'dynamodb:UpdateItem').some((s) => !JSON.stringify(s.Condition ?? {}).includes('USER#'));
    expect(touchesUsers(synthesized)).toBe(false);
    expect(touchesUsers(optionalMfa)).toBe(true);
    expect(REAUTHENTICATED_DOWNLOAD_PERMISSIONS['backups-api']).toMatchObject({ secretsKey: 'decrypt', totp: true });
  });
});

describe('finding 14: the wildcard review accepts only reviewed prefixes and Lambda versions', () => {
  /** cdk-nag's IAM5 findings left unacknowledged on a policy granting `actions` on `resource`. */
  const unacknowledged = (grant: (stack: Stack, role: iam.Role) => void): string[] => {
    const app = new App();
    const stack = new Stack(app, 'Probe');
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    grant(stack, role);
    reviewWildcards(stack);
    app.synth();
    return new AwsSolutionsChecks()
      .validateScope(app)
      .violations.map((violation) => violation.ruleName)
      .filter((rule) => rule.startsWith('AwsSolutions-IAM5'));
  };
  const backupBucket = (stack: Stack) => new s3.Bucket(stack, 'BackupBucket');

  it('refuses a grant on every object of the backup bucket (<BackupBucket.Arn>/*)', () => {
    const findings = unacknowledged((stack, role) => role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [backupBucket(stack).arnForObjects('*')] })));
    expect(findings.join()).toMatch(/BackupBucket.*\/\*/);
  });

  it('accepts grants on backups/* and plans/*', () => {
    const findings = unacknowledged((stack, role) => {
      const bucket = backupBucket(stack);
      role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [bucket.arnForObjects('backups/*'), bucket.arnForObjects('plans/*')] }));
    });
    expect(findings).toEqual([]);
  });

  it('refuses <X.Arn>:* when X is not a Lambda function', () => {
    const findings = unacknowledged((stack, role) => {
      const table = new dynamodb.Table(stack, 'Table', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
      role.addToPolicy(new iam.PolicyStatement({ actions: ['dynamodb:GetItem'], resources: [`${table.tableArn}:*`] }));
    });
    expect(findings.join()).toMatch(/Table[A-F0-9]+\.Arn>:\*/);
  });

  it('accepts <Function.Arn>:* for lambda:InvokeFunction only', () => {
    const makeFunction = (stack: Stack) => new lambda.Function(stack, 'Fn', { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler=()=>1') });
    expect(unacknowledged((stack, role) => makeFunction(stack).grantInvoke(role))).toEqual([]);
    const findings = unacknowledged((stack, role) => role.addToPolicy(new iam.PolicyStatement({ actions: ['lambda:UpdateFunctionCode'], resources: [`${makeFunction(stack).functionArn}:*`] })));
    expect(findings.join()).toMatch(/Fn[A-F0-9]+\.Arn>:\*/);
  });

  it('gives no function s3:List* or s3:GetBucket*, and ListBucket only with an s3:prefix condition on its own prefixes', () => {
    for (const [name, entry] of Object.entries(PERMISSIONS)) {
      const statements = statementsOf(synthesized, name);
      const actions = statements.flatMap((s) => list(s.Action));
      expect(actions.filter((action) => /^s3:(List|GetBucket)\*?$/.test(action) && action !== 's3:ListBucket'), name).toEqual([]);
      const listing = allowing(statements, 's3:ListBucket');
      const prefixes = [...new Set([...(entry.backupBucket?.read ?? []), ...(entry.backupBucket?.delete ?? [])])];
      if (!prefixes.length) expect(listing, name).toEqual([]);
      for (const statement of listing) expect(statement.Condition, name).toEqual({ StringLike: { 's3:prefix': prefixes.map((prefix) => `${prefix}*`) } });
    }
  });
});

describe('finding 15: smaller hardening', () => {
  it('pins each state machine role’s trust to that state machine’s ARN', () => {
    for (const name of Object.keys(STATE_MACHINES)) {
      const machineId = synthesized.stateless.getLogicalId(synthesized.stateless.stateMachines[name]!.node.defaultChild as never);
      const roleId = synthesized.stateless$.toJSON().Resources[machineId].Properties.RoleArn['Fn::GetAtt'][0];
      const trust = synthesized.stateless$.toJSON().Resources[roleId].Properties.AssumeRolePolicyDocument.Statement as PolicyStatement[];
      expect(trust, name).toHaveLength(1);
      const source = flat(trust[0]!.Condition?.ArnEquals?.['aws:SourceArn'] ?? trust[0]!.Condition?.ArnLike?.['aws:SourceArn']);
      expect(source, name).toBe(`arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:stateMachine:CrmBackup-test-Stateless-${name}`);
    }
  });

  it('turns on deletion protection on both tables', () => {
    for (const schema of TABLES) {
      const id = logicalIdStartingWith(synthesized.stateful$, 'AWS::DynamoDB::Table', schema.id);
      expect(synthesized.stateful$.toJSON().Resources[id].Properties.DeletionProtectionEnabled, schema.id).toBe(true);
    }
  });

  it('throttles restore planning (and the other expensive routes) below the stage-wide limit, after the routes exist', () => {
    expect(Object.keys(EXPENSIVE_ROUTE_THROTTLES)).toContain('POST /v1/backups/{id}/restore-plans');
    const [stageId, stage] = Object.entries(synthesized.stateless$.findResources('AWS::ApiGatewayV2::Stage'))[0]!;
    const defaults = stage.Properties.DefaultRouteSettings;
    for (const [routeKey, limits] of Object.entries(EXPENSIVE_ROUTE_THROTTLES)) {
      expect(API_ROUTES[routeKey], routeKey).toBeDefined();
      expect(stage.Properties.RouteSettings[routeKey], routeKey).toEqual({ ThrottlingRateLimit: limits.rateLimit, ThrottlingBurstLimit: limits.burstLimit });
      expect(limits.rateLimit).toBeLessThan(defaults.ThrottlingRateLimit);
    }
    // CloudFormation refuses route settings for a route that does not exist yet.
    const routeIds = Object.keys(synthesized.stateless$.findResources('AWS::ApiGatewayV2::Route'));
    expect([...(stage.DependsOn ?? [])].sort(), stageId).toEqual(expect.arrayContaining(routeIds));
  });

  it('reserves concurrency for the functions that plan restores, and can leave it off for small accounts', () => {
    expect(Object.keys(RESERVED_CONCURRENCY)).toContain('restores-api');
    for (const [name, reserved] of Object.entries(RESERVED_CONCURRENCY)) {
      expect(synthesized.stateless$.toJSON().Resources[functionLogicalId(synthesized, name)].Properties.ReservedConcurrentExecutions, name).toBe(reserved);
    }
    const off = synthesizeApp({ reservedConcurrency: 'false' });
    for (const name of Object.keys(RESERVED_CONCURRENCY))
      expect(off.stateless$.toJSON().Resources[functionLogicalId(off, name)].Properties.ReservedConcurrentExecutions, name).toBeUndefined();
  });

  describe('the app table’s protected partitions (dynamodb:LeadingKeys)', () => {
    const appTableStatements = (app: SynthesizedApp, name: string) => statementsOf(app, name).filter((s) => list(s.Resource).map(flat).some((r) => r.includes('AppTable')));
    const excluded = (statement: PolicyStatement): string[] => list(statement.Condition?.['ForAllValues:StringNotLike']?.['dynamodb:LeadingKeys'] as string | string[] | undefined);
    const reach = (statements: PolicyStatement[], action: string, partition: string) => allowing(statements, action).some((s) => !excluded(s).includes(`${partition}*`));

    it('lets only the functions that check codes read or write USER# (TOTP secrets and lock-outs)', () => {
      for (const app of [synthesized, optionalMfa]) {
        const table = permissionsTable({ mfa: app === synthesized ? 'required' : 'optional' });
        for (const [name, entry] of Object.entries(table)) {
          if (!entry.appTable) continue;
          const statements = appTableStatements(app, name);
          expect(reach(statements, 'dynamodb:GetItem', 'USER#'), `${name} reads USER#`).toBe(entry.totp === true);
          if (entry.appTable === 'readWrite') expect(reach(statements, 'dynamodb:UpdateItem', 'USER#'), `${name} writes USER#`).toBe(entry.totp === true);
        }
      }
    });

    it('lets only the functions that append audit entries write AUDIT#', () => {
      expect(namesWith((entry) => entry.appTable === 'readWrite' && !entry.auditLog).length, 'some functions write the app table but not the audit log').toBeGreaterThan(0);
      for (const [name, entry] of Object.entries(PERMISSIONS)) {
        if (entry.appTable !== 'readWrite') continue;
        const statements = appTableStatements(synthesized, name);
        for (const action of TABLE_OPERATIONS.AppTable.writes) expect(reach(statements, action, 'AUDIT#'), `${name} ${action} AUDIT#`).toBe(entry.auditLog === true);
        // The app table's adapters never batch: no function may batch-write it, audit log or not.
        expect(reach(statements, 'dynamodb:BatchWriteItem', 'AUDIT#'), `${name} dynamodb:BatchWriteItem`).toBe(false);
      }
    });

    it('lets only the functions that call a connected CRM read SOURCE# (its encrypted token), and only the one that connects it write it', () => {
      expect(namesWith((entry) => entry.appTable !== undefined && !entry.sourceTokens).length, 'some functions use the app table but no source').toBeGreaterThan(0);
      for (const [name, entry] of Object.entries(PERMISSIONS)) {
        if (!entry.appTable) continue;
        const statements = appTableStatements(synthesized, name);
        expect(reach(statements, 'dynamodb:GetItem', 'SOURCE#'), `${name} reads SOURCE#`).toBe(entry.sourceTokens !== undefined);
        if (entry.appTable !== 'readWrite') continue;
        for (const action of TABLE_OPERATIONS.AppTable.writes) expect(reach(statements, action, 'SOURCE#'), `${name} ${action} SOURCE#`).toBe(entry.sourceTokens === 'encrypt');
      }
    });

    it('grants no dynamodb:Scan (no code scans, and LeadingKeys cannot limit a Scan)', () => {
      for (const name of Object.keys(FUNCTIONS)) expect(statementsOf(synthesized, name).flatMap((s) => list(s.Action)), name).not.toContain('dynamodb:Scan');
    });

    it('declares AUDIT# and USER# access for exactly the functions whose code reaches the audit log or the TOTP port', () => {
      const reached = codeReach();
      for (const [name, entry] of Object.entries(PERMISSIONS)) {
        const overlay = REAUTHENTICATED_DOWNLOAD_PERMISSIONS[name] ?? {};
        expect({ name, audit: reached[name]!.appendsAudit, totp: reached[name]!.usesTotp }).toEqual({
          name,
          audit: entry.auditLog === true,
          totp: entry.totp === true || overlay.totp === true,
        });
      }
    });
  });
});

/**
 * For each catalog function: whether the core modules its handler imports (transitively,
 * value imports only) append to the audit log or call the TOTP port. An upper
 * bound of what the function can do at run time, which is what its grants must cover.
 */
describe('the names the policies rely on are the ones the code uses', () => {
  it('fences the partitions the adapters write audit entries and TOTP state to, and conditions the secrets key on the context the cipher sets', async () => {
    const contexts: Array<Record<string, string>> = [];
    const runtime = await startTestRuntime({
      recordsPerType: 5,
      wrapDeps: (deps) => ({
        ...deps,
        secrets: { encrypt: (plain, context) => (contexts.push(context), deps.secrets.encrypt(plain, context)), decrypt: (sealed, context) => (contexts.push(context), deps.secrets.decrypt(sealed, context)) },
      }),
    });
    try {
      expect((await runtime.api('POST', '/v1/me/totp-enrolment', { as: 'sso-admin@acme.example' })).status).toBe(201);
      expect((await runtime.api('PUT', '/v1/backup-schedule', { body: { enabled: true } })).status).toBe(200);
      const { Items = [] } = await clientsOf(runtime).dynamodb.send(new ScanCommand({ TableName: runtime.config.appTableName }));
      const pks = (predicate: (item: Record<string, any>) => boolean) => [...new Set(Items.filter(predicate).map((item) => String(item.pk?.S).replace(/#.*/, '#')))];
      expect(pks((item) => item.sk?.S === 'TOTP')).toEqual([PROTECTED_PARTITIONS.totp]);
      expect(pks((item) => item.entry?.M?.action !== undefined)).toEqual([PROTECTED_PARTITIONS.audit]);
      expect(pks((item) => item.encryptedToken !== undefined)).toEqual([PROTECTED_PARTITIONS.source]);
      expect(contexts.length).toBeGreaterThan(0);
      // The runtime also connected initech's demo portal: a token under its own context.
      for (const context of contexts) {
        if (context.purpose === SOURCE_TOKEN_ENCRYPTION_CONTEXT.StringEquals!['kms:EncryptionContext:purpose']) {
          expect(Object.keys(context).sort()).toEqual(['accountId', 'purpose']);
          continue;
        }
        expect(context.purpose).toBe(TOTP_ENCRYPTION_CONTEXT.StringEquals!['kms:EncryptionContext:purpose']);
        expect(Object.keys(context).sort()).toEqual(['purpose', 'userId']);
      }
    } finally {
      await runtime.destroy();
    }
  }, 60_000);
});

function codeReach(): Record<string, { appendsAudit: boolean; usesTotp: boolean }> {
  const aliases: Record<string, string> = { '#core/': 'lambdas/core/', '#handlers/': 'lambdas/handlers/' };
  const reachable = (entry: string): string[] => {
    const seen = new Set<string>();
    const todo = [entry];
    while (todo.length) {
      const file = todo.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      for (const match of readFileSync(file, 'utf8').matchAll(/^import\s+(?!type\b)[^'"]*?from\s+['"]([^'"]+)['"]/gm)) {
        const specifier = match[1]!;
        const alias = Object.keys(aliases).find((prefix) => specifier.startsWith(prefix));
        const target = alias ? join(PROJECT_ROOT, aliases[alias]!, specifier.slice(alias.length)) : specifier.startsWith('.') ? join(file, '..', specifier) : undefined;
        if (target?.includes(`${join(PROJECT_ROOT, 'lambdas', 'core')}/`)) todo.push(target);
      }
    }
    return [...seen].map((file) => readFileSync(file, 'utf8'));
  };
  return Object.fromEntries(
    Object.entries(FUNCTIONS).map(([name, spec]) => {
      const sources = reachable(join(PROJECT_ROOT, 'lambdas', 'handlers', spec.entry));
      return [
        name,
        {
          appendsAudit: sources.some((source) => /\baudit\.append\(/.test(source)),
          usesTotp: sources.some((source) => /\btotp\.\w+\(/.test(source)),
        },
      ];
    }),
  );
}
