import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Duration, Stack, type CfnResource } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_ROUTES, EXECUTION_STATUS_RULES, FUNCTIONS, SCHEDULED_FUNCTIONS, STATE_MACHINES, functionArnPlaceholder } from '#service/catalog.ts';
import { BUSINESS_METRICS } from '#core/ports/metrics.ts';
import { configFromEnv, configToEnv, LOCAL_ENDPOINTS_VARIABLE, type AppConfig } from '#runtime/config.ts';
import { PERMISSIONS } from '../../infra/permissions.ts';
import { PROJECT_ROOT } from '../../infra/paths.ts';
import { TABLES } from '#service/tables.ts';
import { removeSynthesizedApps, resourceStartingWith, synthesizeApp, type SynthesizedApp } from './infra-app.ts';
import { flat } from './template-values.ts';

let synthesized: SynthesizedApp;
beforeAll(() => {
  synthesized = synthesizeApp();
});
afterAll(removeSynthesizedApps);

const logicalId = (resource: { node: { defaultChild?: unknown } } | CfnResource): string => {
  const cfn = ('cfnResourceType' in resource ? resource : resource.node.defaultChild) as CfnResource;
  return Stack.of(cfn).getLogicalId(cfn);
};
const functionId = (name: string) => logicalId(synthesized.stateless.functions[name] as never);
const resourcesOf = (template: SynthesizedApp['stateful$'], type: string) => Object.values(template.findResources(type)) as Array<Record<string, any>>;

describe('the stateful stack', () => {
  it('expires backups/ and plans/ after 14 days and aborts incomplete multipart uploads after 1 day', () => {
    const bucket = resourceStartingWith(synthesized.stateful$, 'AWS::S3::Bucket', 'BackupBucket').resource;
    const rules = bucket.Properties.LifecycleConfiguration.Rules as Array<Record<string, unknown>>;
    expect(rules).toContainEqual(expect.objectContaining({ Prefix: 'backups/', ExpirationInDays: 14, Status: 'Enabled' }));
    expect(rules).toContainEqual(expect.objectContaining({ Prefix: 'plans/', ExpirationInDays: 14, Status: 'Enabled' }));
    const abort = rules.find((rule) => rule.AbortIncompleteMultipartUpload);
    expect(abort).toMatchObject({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' });
    expect(abort!.Prefix, 'the abort rule covers the whole bucket').toBeUndefined();
  });

  it('encrypts the backup bucket with its own customer-managed KMS key that rotates', () => {
    const bucket = resourceStartingWith(synthesized.stateful$, 'AWS::S3::Bucket', 'BackupBucket').resource;
    const sse = bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0];
    expect(sse.ServerSideEncryptionByDefault.SSEAlgorithm).toBe('aws:kms');
    const keyId = sse.ServerSideEncryptionByDefault.KMSMasterKeyID['Fn::GetAtt'][0] as string;
    const key = synthesized.stateful$.toJSON().Resources[keyId];
    expect(key.Type).toBe('AWS::KMS::Key');
    expect(key.Properties.EnableKeyRotation).toBe(true);
  });

  it('blocks all public access to the backup bucket and denies any request without TLS', () => {
    const { id, resource } = resourceStartingWith(synthesized.stateful$, 'AWS::S3::Bucket', 'BackupBucket');
    expect(resource.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    synthesized.stateful$.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: id },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 's3:*', Principal: { AWS: '*' }, Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('keeps no old object versions, so an expired backup is really gone', () => {
    const bucket = resourceStartingWith(synthesized.stateful$, 'AWS::S3::Bucket', 'BackupBucket').resource;
    expect(bucket.Properties.VersioningConfiguration).toBeUndefined();
  });

  it('writes server access logs of the backup bucket to the logs bucket', () => {
    const bucket = resourceStartingWith(synthesized.stateful$, 'AWS::S3::Bucket', 'BackupBucket').resource;
    const logs = resourceStartingWith(synthesized.stateful$, 'AWS::S3::Bucket', 'LogsBucket');
    expect(bucket.Properties.LoggingConfiguration).toEqual({ DestinationBucketName: { Ref: logs.id }, LogFilePrefix: 'backup-bucket/' });
  });

  it('retains the tables, the buckets, the keys and the user pool when the stack is deleted', () => {
    const template = synthesized.stateful$.toJSON().Resources as Record<string, { Type: string; DeletionPolicy?: string }>;
    const kept = ['AWS::DynamoDB::Table', 'AWS::S3::Bucket', 'AWS::KMS::Key', 'AWS::Cognito::UserPool'];
    const notRetained = Object.entries(template)
      .filter(([, resource]) => kept.includes(resource.Type) && resource.DeletionPolicy !== 'Retain')
      .map(([id]) => id);
    expect(notRetained).toEqual([]);
    expect(resourcesOf(synthesized.stateful$, 'AWS::DynamoDB::Table')).toHaveLength(TABLES.length);
  });

  it('builds every table of lambdas/service/tables.ts on demand with point-in-time recovery, its KMS key and TTL', () => {
    for (const schema of TABLES) {
      const { resource } = resourceStartingWith(synthesized.stateful$, 'AWS::DynamoDB::Table', schema.id);
      const table = resource.Properties;
      expect(table.BillingMode).toBe('PAY_PER_REQUEST');
      expect(table.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
      expect(table.SSESpecification).toMatchObject({ SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: { 'Fn::GetAtt': [expect.stringMatching(/^DataKey/), 'Arn'] } });
      expect(table.KeySchema).toEqual([
        { AttributeName: schema.partitionKey, KeyType: 'HASH' },
        { AttributeName: schema.sortKey, KeyType: 'RANGE' },
      ]);
      expect(table.GlobalSecondaryIndexes.map((index: { IndexName: string }) => index.IndexName)).toEqual(schema.globalIndexes.map((index) => index.name));
      if (schema.ttlAttribute) expect(table.TimeToLiveSpecification).toEqual({ AttributeName: schema.ttlAttribute, Enabled: true });
      else expect(table.TimeToLiveSpecification).toBeUndefined();
    }
    const dataKey = resourceStartingWith(synthesized.stateful$, 'AWS::KMS::Key', 'DataKey').resource;
    expect(dataKey.Properties.EnableKeyRotation).toBe(true);
  });

  it('has a user pool with the accountId attribute, the super-admins group and TOTP MFA, and no self sign-up', () => {
    synthesized.stateful$.hasResourceProperties('AWS::Cognito::UserPool', {
      Schema: Match.arrayWith([Match.objectLike({ Name: 'accountId', AttributeDataType: 'String' })]),
      MfaConfiguration: 'ON',
      EnabledMfas: ['SOFTWARE_TOKEN_MFA'],
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
    });
    synthesized.stateful$.hasResourceProperties('AWS::Cognito::UserPoolGroup', { GroupName: 'super-admins' });
    synthesized.stateful$.hasResourceProperties('AWS::Cognito::UserPoolDomain', { Domain: Match.anyValue() });
  });

  it('gives the web page a public client for the code flow with PKCE that cannot change its own accountId', () => {
    const client = resourcesOf(synthesized.stateful$, 'AWS::Cognito::UserPoolClient')[0]!.Properties;
    expect(client.GenerateSecret).toBe(false);
    expect(client.AllowedOAuthFlows).toEqual(['code']);
    expect(client.AllowedOAuthFlowsUserPoolClient).toBe(true);
    expect(client.AllowedOAuthScopes).not.toContain('aws.cognito.signin.user.admin');
    expect(client.ExplicitAuthFlows).toEqual(['ALLOW_REFRESH_TOKEN_AUTH']);
    expect(client.ReadAttributes).toContain('custom:accountId');
    expect(client.WriteAttributes ?? []).not.toContain('custom:accountId');
    // The same redirect_uri the page sends (web/src/auth.ts; test/web/cognito-sign-in.test.ts).
    expect(client.CallbackURLs).toHaveLength(1);
    expect(client.CallbackURLs[0]).toEqual({ 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [expect.stringMatching(/^WebDistribution/), 'DomainName'] }, '/']] });
  });

  it('serves the web page from a private bucket through CloudFront with origin access control', () => {
    const distribution = resourcesOf(synthesized.stateful$, 'AWS::CloudFront::Distribution')[0]!.Properties.DistributionConfig;
    expect(distribution.DefaultRootObject).toBe('index.html');
    expect(distribution.DefaultCacheBehavior.ViewerProtocolPolicy).toBe('redirect-to-https');
    expect(distribution.Origins[0].OriginAccessControlId).toBeDefined();
    // The email links to /backups/{id}: unknown paths answer the page itself.
    expect(distribution.CustomErrorResponses).toContainEqual(expect.objectContaining({ ErrorCode: 403, ResponseCode: 200, ResponsePagePath: '/index.html' }));
    const web = resourceStartingWith(synthesized.stateful$, 'AWS::S3::Bucket', 'WebBucket').resource;
    expect(web.Properties.PublicAccessBlockConfiguration.RestrictPublicBuckets).toBe(true);
  });

  it('has the record change event bus and the sender identity from context', () => {
    expect(resourcesOf(synthesized.stateful$, 'AWS::Events::EventBus')).toHaveLength(1);
    synthesized.stateful$.hasResourceProperties('AWS::SES::EmailIdentity', { EmailIdentity: 'backups@crm.test' });
  });
});

describe('the stateless stack', () => {
  it('makes one ARM64, Node 22+, traced function per catalog entry, sized by the catalog, logging to its own group', () => {
    for (const [name, spec] of Object.entries(FUNCTIONS)) {
      const fn = synthesized.stateless$.toJSON().Resources[functionId(name)];
      expect(fn.Type, name).toBe('AWS::Lambda::Function');
      expect(fn.Properties.Architectures, name).toEqual(['arm64']);
      expect(Number(/^nodejs(\d+)\.x$/.exec(fn.Properties.Runtime)?.[1]), name).toBeGreaterThanOrEqual(22);
      expect(fn.Properties.MemorySize, name).toBe(spec.memoryMb);
      expect(fn.Properties.Timeout, name).toBe(spec.timeoutSeconds);
      const storage = (spec as { ephemeralStorageMb?: number }).ephemeralStorageMb;
      expect(fn.Properties.EphemeralStorage, name).toEqual(storage ? { Size: storage } : undefined);
      expect(fn.Properties.TracingConfig, name).toEqual({ Mode: 'Active' });
      expect(fn.Properties.LoggingConfig, name).toMatchObject({ LogFormat: 'JSON', ApplicationLogLevel: 'INFO', SystemLogLevel: 'WARN' });
      expect(fn.Properties.Handler, name).toBe('index.handler');
      const logGroup = synthesized.stateless$.toJSON().Resources[fn.Properties.LoggingConfig.LogGroup.Ref];
      expect(logGroup.Properties.RetentionInDays, name).toBe(30);
    }
  });

  it("switches on Lambda's JSON log format for every function of the app, aws-cdk-lib's own too", () => {
    const functions = [synthesized.stateful$, synthesized.stateless$].flatMap((template) => Object.entries(template.findResources('AWS::Lambda::Function')));
    expect(functions.length).toBeGreaterThan(Object.keys(FUNCTIONS).length);
    for (const [id, fn] of functions) expect(fn.Properties.LoggingConfig?.LogFormat, id).toBe('JSON');
  });

  it('gives every function each environment variable lambdas/runtime/config.ts reads', () => {
    const full: AppConfig = {
      region: 'eu-west-1',
      stage: 'prod',
      logLevel: 'DEBUG',
      dataTableName: 'data',
      appTableName: 'app',
      backupBucketName: 'bucket',
      backupStateMachineArn: 'arn:backup',
      restoreStateMachineArn: 'arn:restore',
      restorePlanStateMachineArn: 'arn:restore-plan',
      comparisonStateMachineArn: 'arn:comparison',
      anomalyCheckStateMachineArn: 'arn:anomaly-check',
      userPoolId: 'pool',
      senderEmail: 'backups@crm.test',
      appUrl: 'https://app',
      secretsKeyId: 'key',
      eventBusName: 'bus',
      reauthenticateDownloads: true,
    };
    // configToEnv is what configFromEnv reads: the round trip proves the list is complete.
    expect(configFromEnv(configToEnv(full))).toEqual(full);
    const names = new Set(Object.keys(configToEnv(full)));
    // Lambda sets the region itself.
    names.delete('AWS_REGION');
    expect(names.size).toBeGreaterThanOrEqual(10);
    for (const name of Object.keys(FUNCTIONS)) {
      const variables = synthesized.stateless$.toJSON().Resources[functionId(name)].Properties.Environment.Variables;
      for (const variable of names) expect(variables[variable], `${name} ${variable}`).toBeDefined();
      // The local endpoints are the local runtime's alone.
      expect(variables[LOCAL_ENDPOINTS_VARIABLE], name).toBeUndefined();
      expect(variables.SENDER_EMAIL).toBe('backups@crm.test');
      expect(JSON.stringify(variables.BACKUP_STATE_MACHINE_ARN)).toContain(':stateMachine:CrmBackup-test-Stateless-backup');
      expect(JSON.stringify(variables.RESTORE_STATE_MACHINE_ARN)).toContain(':stateMachine:CrmBackup-test-Stateless-restore');
    }
  });

  it('shows every business metric, by service and stage, and every alarm on the operations dashboard', () => {
    const [dashboard] = Object.values(synthesized.stateless$.findResources('AWS::CloudWatch::Dashboard'));
    expect(dashboard, 'a dashboard').toBeDefined();
    const body = JSON.stringify(synthesized.stateless.resolve(dashboard!.Properties.DashboardBody));
    for (const metric of Object.keys(BUSINESS_METRICS)) expect(body, metric).toContain(`\\"CrmBackup\\",\\"${metric}\\",\\"service\\",\\"crm-backup\\",\\"stage\\",\\"test\\"`);
    const alarms = Object.keys(synthesized.stateless$.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms.length).toBeGreaterThan(30);
    for (const alarm of alarms) expect(body, alarm).toContain(alarm);
  });

  it('puts every route of the catalog behind the Cognito JWT authorizer', () => {
    // The API and its authorizer live in the stateful stack (the page's CSP names the API); routes are code.
    const [authorizerId, authorizer] = Object.entries(synthesized.stateful$.findResources('AWS::ApiGatewayV2::Authorizer'))[0]!;
    expect(authorizer.Properties.AuthorizerType).toBe('JWT');
    expect(JSON.stringify(authorizer.Properties.JwtConfiguration.Issuer)).toMatch(/https:\/\/cognito-idp\..*amazonaws\.com\/.*UserPool/);
    expect(JSON.stringify(authorizer.Properties.JwtConfiguration.Audience)).toContain('UserPoolWebClient');
    const routes = resourcesOf(synthesized.stateless$, 'AWS::ApiGatewayV2::Route').map((route) => route.Properties);
    expect(routes.map((route) => route.RouteKey).sort()).toEqual(Object.keys(API_ROUTES).sort());
    for (const route of routes) {
      expect(route.AuthorizationType, route.RouteKey).toBe('JWT');
      expect(JSON.stringify(route.AuthorizerId), route.RouteKey).toContain(`Ref${authorizerId}`);
    }
  });

  it('sends each route to the function the catalog names', () => {
    const integrations = synthesized.stateless$.findResources('AWS::ApiGatewayV2::Integration');
    for (const route of resourcesOf(synthesized.stateless$, 'AWS::ApiGatewayV2::Route').map((r) => r.Properties)) {
      const integrationId = (route.Target['Fn::Join'][1][1] as { Ref: string }).Ref;
      const uri = integrations[integrationId]!.Properties.IntegrationUri;
      expect(uri, route.RouteKey).toEqual({ 'Fn::GetAtt': [functionId(API_ROUTES[route.RouteKey]!), 'Arn'] });
    }
  });

  it('throttles the API, writes access logs and allows CORS from the web page only', () => {
    synthesized.stateless$.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('requestId') },
    });
    // The API resource carries no CORS: it is set at deploy time (the page's CSP names the API, so the API cannot name the page).
    expect(resourcesOf(synthesized.stateful$, 'AWS::ApiGatewayV2::Api')[0]!.Properties.CorsConfiguration).toBeUndefined();
    const cors = resourcesOf(synthesized.stateless$, 'Custom::AWS').find((resource) => JSON.stringify(resource.Properties.Create).includes('UpdateApi'))!;
    const call = JSON.parse(flat(cors.Properties.Create)) as {
      action: string;
      parameters: { ApiId: string; CorsConfiguration: { AllowOrigins: string[]; AllowHeaders: string[]; ExposeHeaders: string[] } };
    };
    expect(call.action).toBe('UpdateApi');
    expect(call.parameters.ApiId).toMatch(/^<import:CrmBackup-test-Stateful:ExportsOutputRefApi[A-F0-9]+/);
    expect(call.parameters.CorsConfiguration.AllowOrigins).toEqual([expect.stringMatching(/^https:\/\/<import:CrmBackup-test-Stateful:ExportsOutputFnGetAttWebDistribution[A-F0-9]+DomainName/)]);
    // The page sends an Idempotency-Key with each POST that starts work, and may read whether it was replayed.
    expect(call.parameters.CorsConfiguration.AllowHeaders).toEqual(['authorization', 'content-type', 'idempotency-key']);
    expect(call.parameters.CorsConfiguration.ExposeHeaders).toContain('idempotency-replayed');
    expect(JSON.stringify(cors.Properties.Update)).toEqual(JSON.stringify(cors.Properties.Create));
  });

  describe('state machines', () => {
    /** The definition with each CloudFormation token replaced by `<<LogicalId.Attribute>>` (or `<<Ref>>`). */
    const definitionOf = (name: string): string => {
      const machine = synthesized.stateless$.toJSON().Resources[logicalId(synthesized.stateless.stateMachines[name]!)];
      const parts = machine.Properties.DefinitionString['Fn::Join'][1] as unknown[];
      const token = (part: Record<string, any>) =>
        part['Fn::GetAtt'] ? `<<${part['Fn::GetAtt'].join('.')}>>` : part.Ref ? `<<${part.Ref}>>` : part['Fn::ImportValue'] ? `<<${part['Fn::ImportValue']}>>` : '<<?>>';
      return parts.map((part) => (typeof part === 'string' ? part : token(part as Record<string, any>))).join('');
    };

    it('builds each one from its ASL file with every ${placeholder} resolved', () => {
      expect(Object.keys(synthesized.stateless.stateMachines).sort()).toEqual(Object.keys(STATE_MACHINES).sort());
      for (const name of Object.keys(STATE_MACHINES)) {
        const definition = definitionOf(name);
        expect(definition, name).not.toContain('${');
        expect(definition, name).not.toContain('<<?>>');
        expect(() => JSON.parse(definition), name).not.toThrow();
      }
    });

    it('puts the ARN of the right function where the ASL names it', () => {
      for (const [name, machine] of Object.entries(STATE_MACHINES)) {
        const raw = readFileSync(join(PROJECT_ROOT, 'statemachines', machine.file), 'utf8');
        const definition = definitionOf(name);
        for (const fn of Object.keys(FUNCTIONS)) {
          const named = raw.includes(`\${${functionArnPlaceholder(fn)}}`);
          expect(definition.includes(`<<${functionId(fn)}.Arn>>`), `${name} → ${fn}`).toBe(named);
        }
      }
    });

    it('logs ALL events, traces, and is named after the stack so functions know its ARN up front', () => {
      for (const name of Object.keys(STATE_MACHINES)) {
        const machine = synthesized.stateless$.toJSON().Resources[logicalId(synthesized.stateless.stateMachines[name]!)].Properties;
        expect(machine.StateMachineName).toBe(`CrmBackup-test-Stateless-${name}`);
        expect(machine.TracingConfiguration).toEqual({ Enabled: true });
        expect(machine.LoggingConfiguration).toMatchObject({ Level: 'ALL', IncludeExecutionData: false });
      }
    });

    it('may invoke exactly the functions its ASL names', () => {
      for (const [name, machine] of Object.entries(STATE_MACHINES)) {
        const raw = readFileSync(join(PROJECT_ROOT, 'statemachines', machine.file), 'utf8');
        const roleId = (synthesized.stateless$.toJSON().Resources[logicalId(synthesized.stateless.stateMachines[name]!)].Properties.RoleArn['Fn::GetAtt'] as string[])[0]!;
        const policy = Object.values(synthesized.stateless$.findResources('AWS::IAM::Policy')).find((p) =>
          (p.Properties.Roles as Array<{ Ref: string }>).some((role) => role.Ref === roleId),
        )!;
        const invoke = (policy.Properties.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown }>)
          .filter((statement) => [statement.Action].flat().includes('lambda:InvokeFunction'))
          .flatMap((statement) => [statement.Resource].flat());
        const invoked = new Set(JSON.stringify(invoke).match(/"Fn::GetAtt":\["([A-Za-z0-9]+)","Arn"\]/g)!.map((m) => m.split('"')[3]));
        const expected = Object.keys(FUNCTIONS).filter((fn) => raw.includes(`\${${functionArnPlaceholder(fn)}}`)).map(functionId);
        expect([...invoked].sort(), name).toEqual(expected.sort());
      }
    });
  });

  it('runs each execution-status rule of the catalog, including the restore lock release, on its statuses', () => {
    const rules = resourcesOf(synthesized.stateless$, 'AWS::Events::Rule').map((r) => r.Properties);
    for (const rule of EXECUTION_STATUS_RULES) {
      const machineId = logicalId(synthesized.stateless.stateMachines[rule.stateMachine]!);
      expect(rules, `${rule.stateMachine} → ${rule.function}`).toContainEqual(
        expect.objectContaining({
          EventPattern: {
            source: ['aws.states'],
            'detail-type': ['Step Functions Execution Status Change'],
            detail: { stateMachineArn: [{ Ref: machineId }], status: rule.statuses },
          },
          Targets: [expect.objectContaining({ Arn: { 'Fn::GetAtt': [functionId(rule.function), 'Arn'] } })],
        }),
      );
    }
    // The promise by value: a restore that fails, times out or is stopped frees the lock.
    const lockRelease = EXECUTION_STATUS_RULES.find((rule) => rule.stateMachine === 'restore');
    expect(lockRelease?.statuses.sort()).toEqual(['ABORTED', 'FAILED', 'TIMED_OUT']);
  });

  it('runs each scheduled function on its rate', () => {
    expect(SCHEDULED_FUNCTIONS.length).toBeGreaterThan(0);
    const rules = resourcesOf(synthesized.stateless$, 'AWS::Events::Rule').map((r) => r.Properties);
    for (const schedule of SCHEDULED_FUNCTIONS) {
      expect(rules).toContainEqual(
        expect.objectContaining({
          ScheduleExpression: events.Schedule.rate(Duration.minutes(schedule.everyMinutes)).expressionString,
          State: 'ENABLED',
          Targets: [expect.objectContaining({ Arn: { 'Fn::GetAtt': [functionId(schedule.function), 'Arn'] } })],
        }),
      );
    }
    // Lambda lets EventBridge invoke each target function.
    synthesized.stateless$.hasResourceProperties('AWS::Lambda::Permission', {
      Principal: 'events.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [functionId(SCHEDULED_FUNCTIONS[0]!.function), 'Arn'] },
    });
  });

  it('alarms on every function’s errors and throttles and every state machine’s failed executions, to the SNS topic', () => {
    const topicId = Object.keys(synthesized.stateless$.findResources('AWS::SNS::Topic'))[0]!;
    const alarms = resourcesOf(synthesized.stateless$, 'AWS::CloudWatch::Alarm').map((a) => a.Properties);
    const has = (metric: string, dimension: unknown) =>
      alarms.some(
        (alarm) =>
          alarm.MetricName === metric &&
          JSON.stringify(alarm.Dimensions).includes(JSON.stringify(dimension)) &&
          JSON.stringify(alarm.AlarmActions) === JSON.stringify([{ Ref: topicId }]),
      );
    for (const name of Object.keys(FUNCTIONS)) {
      expect(has('Errors', { Ref: functionId(name) }), `${name} errors`).toBe(true);
      expect(has('Throttles', { Ref: functionId(name) }), `${name} throttles`).toBe(true);
    }
    for (const name of Object.keys(STATE_MACHINES)) {
      expect(has('ExecutionsFailed', { Ref: logicalId(synthesized.stateless.stateMachines[name]!) }), `${name} failed`).toBe(true);
      expect(has('ExecutionsTimedOut', { Ref: logicalId(synthesized.stateless.stateMachines[name]!) }), `${name} timed out`).toBe(true);
    }
  });

  it('keeps the events of asynchronously invoked functions that fail for good in a queue, with an alarm', () => {
    const queueId = Object.keys(synthesized.stateless$.findResources('AWS::SQS::Queue'))[0]!;
    const configs = resourcesOf(synthesized.stateless$, 'AWS::Lambda::EventInvokeConfig').map((c) => c.Properties);
    const targets = new Set([...EXECUTION_STATUS_RULES.map((r) => r.function), ...SCHEDULED_FUNCTIONS.map((s) => s.function)]);
    expect(configs).toHaveLength(targets.size);
    for (const name of targets)
      expect(configs).toContainEqual(
        expect.objectContaining({
          FunctionName: { Ref: functionId(name) },
          MaximumRetryAttempts: 2,
          DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queueId, 'Arn'] } } },
        }),
      );
    synthesized.stateless$.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }],
    });
  });

  it('uploads the web page with a config.json naming the API, the sign-in domain, the client and the region', () => {
    const deployment = resourcesOf(synthesized.stateless$, 'Custom::CDKBucketDeployment')[0]!.Properties;
    expect(JSON.stringify(deployment.DestinationBucketName)).toContain('WebBucket');
    expect(deployment.DistributionPaths).toEqual(['/*']);
    const markers = JSON.stringify(deployment.SourceMarkers);
    for (const value of ['ApiEndpoint', 'UserPoolHostedSignIn', 'UserPoolWebClient', 'AWS::Region']) expect(markers).toContain(value);
  });
});

describe('least privilege', () => {
  type Statement = { Effect: string; Action: string | string[]; Resource: unknown };
  /** Every (action, resource kind) a function's role may use. */
  const accessOf = (name: string): Set<string> => {
    const fn = synthesized.stateless$.toJSON().Resources[functionId(name)];
    const roleId = fn.Properties.Role['Fn::GetAtt'][0] as string;
    const pairs = new Set<string>();
    for (const policy of Object.values(synthesized.stateless$.findResources('AWS::IAM::Policy'))) {
      if (!(policy.Properties.Roles as Array<{ Ref: string }>).some((role) => role.Ref === roleId)) continue;
      for (const statement of policy.Properties.PolicyDocument.Statement as Statement[]) {
        expect(statement.Effect).toBe('Allow');
        for (const action of [statement.Action].flat())
          for (const resource of [statement.Resource].flat()) pairs.add(`${action} ${kindOf(JSON.stringify(resource))}`);
      }
    }
    return pairs;
  };
  const kindOf = (resource: string): string => {
    const kinds: Array<[RegExp, string]> = [
      [/DataTable.*index\/\*/, 'DataTable/index'],
      [/AppTable.*index\/\*/, 'AppTable/index'],
      [/DataTable/, 'DataTable'],
      [/AppTable/, 'AppTable'],
      [/BackupBucket.*\/backups\/\*/, 'bucket:backups/*'],
      [/BackupBucket.*\/plans\/\*/, 'bucket:plans/*'],
      [/BackupBucket.*\/comparisons\/\*/, 'bucket:comparisons/*'],
      [/BackupBucket/, 'bucket'],
      [/UserPool[0-9A-F]{8}Arn/, 'UserPool'],
      [/BackupKey/, 'BackupKey'],
      [/DataKey/, 'DataKey'],
      [/SecretsKey/, 'SecretsKey'],
      [/ChangeEventBus/, 'ChangeEventBus'],
      [/:identity\//, 'SenderIdentity'],
      [/stateMachine:CrmBackup-test-Stateless-([\w-]+)/, 'stateMachine'],
      [/execution:CrmBackup-test-Stateless-([\w-]+)/, 'execution'],
      [/Logs[0-9A-F]{8}/, 'own log group'],
      [/FailedInvocations/, 'failure queue'],
      [/^"\*"$/, '*'],
    ];
    for (const [pattern, kind] of kinds) {
      const match = pattern.exec(resource);
      if (match) return match[1] ? `${kind}:${match[1]}` : kind;
    }
    return `unexpected resource ${resource}`;
  };

  it('lets each function touch only what infra/permissions.ts lists for it', () => {
    for (const [name, allowed] of Object.entries(PERMISSIONS)) {
      const access = [...accessOf(name)];
      const on = (kind: string) => access.filter((pair) => pair.endsWith(` ${kind}`));
      const writes = (kind: string) => on(kind).filter((pair) => /dynamodb:(PutItem|UpdateItem|DeleteItem|BatchWriteItem)/.test(pair));
      expect(access.filter((pair) => pair.includes('unexpected resource')), name).toEqual([]);
      // Tables: nothing, reads only, or reads and writes, as listed.
      expect(on('DataTable').length > 0, `${name} data table`).toBe(allowed.dataTable !== undefined);
      expect(writes('DataTable').length > 0, `${name} writes data table`).toBe(allowed.dataTable === 'readWrite');
      expect(on('AppTable').length > 0, `${name} app table`).toBe(allowed.appTable !== undefined);
      expect(writes('AppTable').length > 0, `${name} writes app table`).toBe(allowed.appTable === 'readWrite');
      // Bucket: per prefix; never the whole bucket's objects.
      const bucket = allowed.backupBucket ?? {};
      for (const prefix of ['backups', 'plans', 'comparisons']) {
        const objects = on(`bucket:${prefix}/*`);
        expect(objects.some((p) => p.startsWith('s3:GetObject')), `${name} reads ${prefix}/`).toBe(bucket.read?.includes(`${prefix}/` as never) ?? false);
        expect(objects.some((p) => p.startsWith('s3:PutObject')), `${name} writes ${prefix}/`).toBe(bucket.write?.includes(`${prefix}/` as never) ?? false);
        expect(objects.some((p) => p.startsWith('s3:DeleteObject')), `${name} deletes ${prefix}/`).toBe(bucket.delete?.includes(`${prefix}/` as never) ?? false);
      }
      // The bucket key decrypts what is read or written; deleting and listing never use it.
      expect(on('BackupKey').length > 0, `${name} backup key`).toBe((bucket.read?.length ?? 0) + (bucket.write?.length ?? 0) > 0);
      expect(on('SecretsKey').some((p) => p.startsWith('kms:Encrypt')), `${name} encrypts secrets`).toBe(allowed.secretsKey === 'encryptDecrypt' || allowed.sourceTokens === 'encrypt');
      expect(on('SecretsKey').some((p) => p.startsWith('kms:Decrypt')), `${name} decrypts secrets`).toBe(
        allowed.secretsKey === 'decrypt' || allowed.secretsKey === 'encryptDecrypt' || allowed.sourceTokens === 'decrypt',
      );
      expect(access.some((p) => p.startsWith('ses:SendEmail ')), `${name} email`).toBe(allowed.sendEmail === true);
      expect(access.some((p) => p.startsWith('events:PutEvents ')), `${name} events`).toBe(allowed.putEvents === true);
      expect(on('UserPool'), `${name} user pool`).toEqual(allowed.listSuperAdmins ? ['cognito-idp:ListUsersInGroup UserPool'] : []);
      for (const machine of Object.keys(STATE_MACHINES)) {
        const actions = allowed.stateMachines?.[machine] ?? [];
        expect(access.includes(`states:StartExecution stateMachine:${machine}`), `${name} starts ${machine}`).toBe(actions.includes('start'));
        expect(access.includes(`states:DescribeExecution execution:${machine}`), `${name} describes ${machine}`).toBe(actions.includes('describe'));
      }
      // Only functions that EventBridge invokes may send their failed events to the queue.
      const invokedAsync = EXECUTION_STATUS_RULES.some((rule) => rule.function === name) || SCHEDULED_FUNCTIONS.some((schedule) => schedule.function === name);
      // CDK's grantSendMessages: SendMessage plus the two reads the SDK does before it.
      expect(on('failure queue').map((pair) => pair.split(' ')[0]).sort(), `${name} failure queue`).toEqual(
        invokedAsync ? ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'] : [],
      );
      // "*" only for X-Ray, which has no resource-level permissions.
      expect(on('*').map((pair) => pair.split(' ')[0]).filter((action) => !action!.startsWith('xray:')), name).toEqual([]);
    }
  });

  it('lets functions send email only From the configured sender, whatever the recipient identity', () => {
    const statements = Object.values(synthesized.stateless$.findResources('AWS::IAM::Policy')).flatMap(
      (policy) => policy.Properties.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown; Condition?: unknown }>,
    );
    const onAnyIdentity = statements.filter((statement) => JSON.stringify(statement.Resource).includes(':identity/*'));
    expect(onAnyIdentity.length).toBeGreaterThan(0);
    for (const statement of onAnyIdentity) {
      expect([statement.Action].flat()).toEqual(['ses:SendEmail']);
      expect(statement.Condition).toEqual({ StringEquals: { 'ses:FromAddress': 'backups@crm.test' } });
    }
  });
});

describe('cdk-nag', () => {
  it('finds nothing unacknowledged in the AwsSolutions pack', () => {
    const report = new AwsSolutionsChecks().validateScope(synthesized.app);
    const findings = report.violations.flatMap((violation) =>
      violation.violatingResources.map((resource) => `${violation.ruleName} (${violation.severity}) at ${resource.constructPath}`),
    );
    expect(findings).toEqual([]);
  });

  it('gives every acknowledgement a reason a reviewer can check', () => {
    const reasons = synthesized.app.node
      .findAll()
      .flatMap((construct) => construct.node.metadata.filter((entry) => entry.type === 'aws:cdk:acknowledged-rules'))
      .flatMap((entry) => Object.entries(entry.data as Record<string, string>));
    expect(reasons.length).toBeGreaterThan(0);
    for (const [id, reason] of reasons) expect(reason.length, id).toBeGreaterThanOrEqual(60);
  });
});

describe('deploy settings', () => {
  it('federates an SSO provider, maps its account attribute and lets the web client sign in through it', () => {
    const sso = synthesizeApp({ sso: { type: 'SAML', name: 'Corp', metadataUrl: 'https://idp.corp.test/metadata.xml', accountIdAttribute: 'crmAccount' } });
    sso.stateful$.hasResourceProperties('AWS::Cognito::UserPoolIdentityProvider', {
      ProviderName: 'Corp',
      ProviderType: 'SAML',
      AttributeMapping: Match.objectLike({ 'custom:accountId': 'crmAccount' }),
    });
    const client = resourcesOf(sso.stateful$, 'AWS::Cognito::UserPoolClient')[0]!.Properties;
    expect(JSON.stringify(client.SupportedIdentityProviders)).toMatch(/^\["COGNITO",\{"Ref":"SsoProvider/);
    expect(client.WriteAttributes).toContain('custom:accountId');
    expect(client.AllowedOAuthScopes).not.toContain('aws.cognito.signin.user.admin');
    expect(new AwsSolutionsChecks().validateScope(sso.app).violations).toEqual([]);
  });

  it('serves the page on a custom domain with TLS 1.2 and links emails there', () => {
    const custom = synthesizeApp({ domainName: 'backups.corp.test', certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc' });
    const distribution = resourcesOf(custom.stateful$, 'AWS::CloudFront::Distribution')[0]!.Properties.DistributionConfig;
    expect(distribution.Aliases).toEqual(['backups.corp.test']);
    expect(distribution.ViewerCertificate.MinimumProtocolVersion).toBe('TLSv1.2_2021');
    const fn = custom.stateless$.toJSON().Resources[logicalId(custom.stateless.functions['data-plane-api'] as never)];
    expect(fn.Properties.Environment.Variables.APP_URL).toBe('https://backups.corp.test');
  });

  it('federates an OIDC provider with its client secret read from Secrets Manager at deploy time', () => {
    const oidc = synthesizeApp({ sso: JSON.stringify({ type: 'OIDC', name: 'CorpOidc', issuerUrl: 'https://login.corp.test', clientId: 'crm-backup', clientSecretName: 'crm-backup/oidc' }) });
    const provider = resourcesOf(oidc.stateful$, 'AWS::Cognito::UserPoolIdentityProvider')[0]!.Properties;
    expect(provider.ProviderType).toBe('OIDC');
    expect(provider.AttributeMapping['custom:accountId']).toBe('accountId');
    expect(JSON.stringify(provider.ProviderDetails.client_secret)).toContain('{{resolve:secretsmanager:crm-backup/oidc:SecretString');
  });

  it('makes Cognito MFA optional when asked, with the cdk-nag finding acknowledged', () => {
    const optional = synthesizeApp({ mfa: 'optional' });
    optional.stateful$.hasResourceProperties('AWS::Cognito::UserPool', { MfaConfiguration: 'OPTIONAL' });
    expect(new AwsSolutionsChecks().validateScope(optional.app).violations).toEqual([]);
  });

  it('refuses a deployment without a sender address, naming the context key', () => {
    expect(() => synthesizeApp({ senderEmail: '' })).toThrow(/senderEmail/);
  });
});
