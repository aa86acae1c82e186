import { createHash } from 'node:crypto';
import { ArnFormat, CfnOutput, CfnResource, Duration, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as cr from 'aws-cdk-lib/custom-resources';
import type { Construct } from 'constructs';
import {
  API_ROUTES,
  EXECUTION_STATUS_RULES,
  FUNCTIONS,
  SCHEDULED_FUNCTIONS,
  STATE_MACHINES,
  aslSubstitutions,
  type FunctionName,
} from '#service/catalog.ts';
import { AslStateMachine, functionsByPlaceholder } from '../constructs/asl-state-machine.ts';
import { OperationsDashboard } from '../constructs/operations-dashboard.ts';
import { ServiceFunction } from '../constructs/service-function.ts';
import { fencedAppPartitions, grantBackupBucket, grantSecretsKey, grantSourceTokens, grantTable, TABLE_OPERATIONS } from '../function-grants.ts';
import { permissionsFor, type FunctionPermissions } from '../permissions.ts';
import type { DeploySettings } from '../settings.ts';
import { functionRolePath } from '../trusted-roles.ts';
import { reviewWildcards } from '../wildcard-review.ts';
import type { StatefulStack } from './stateful-stack.ts';

export interface StatelessStackProps extends StackProps {
  settings: DeploySettings;
  stateful: StatefulStack;
  /** Built web page to upload; undefined = upload nothing (the caller says why). */
  webAssetsDir?: string;
}

/** Requests per second across the API, and the burst above it: generous for a few admins, a cap for a runaway script. */
const API_THROTTLE = { rateLimit: 50, burstLimit: 100 };

/**
 * Routes whose requests cost far more than the others, with their own limit below the
 * stage's, since one stage-wide limit is shared by every tenant: a single caller
 * planning in a loop must not take the whole API's capacity, nor every Lambda.
 */
export const EXPENSIVE_ROUTE_THROTTLES: Record<string, { rateLimit: number; burstLimit: number }> = {
  // Reads a whole backup's CSV and compares it with DynamoDB: up to ~20 s of a 1,769 MB Lambda.
  'POST /v1/backups/{id}/restore-plans': { rateLimit: 1, burstLimit: 5 },
  // Reads a window of the change history and today's records, like a restore plan.
  'POST /v1/revert-plans': { rateLimit: 1, burstLimit: 5 },
  // Checks a TOTP code (KMS) and takes the account's lock; a person starts a few a day.
  'POST /v1/restores': { rateLimit: 1, burstLimit: 5 },
  // Each accepted request exports a whole account (the quota refuses the rest, after a read and a conditional write).
  'POST /v1/backups': { rateLimit: 2, burstLimit: 5 },
};

/**
 * Lambda concurrency reserved for (and capped at) the functions that plan restores:
 * at most a second's plans from the route above for ~20 s each, plus the other
 * restore routes; and the state machine's continuation of big plans. Off with
 * `-c reservedConcurrency=false` (accounts whose concurrency limit is below 50).
 */
export const RESERVED_CONCURRENCY: Partial<Record<FunctionName, number>> = {
  'restores-api': 30,
  'build-restore-plan': 10,
};

/** `backup` → `BACKUP_STATE_MACHINE_ARN`, `restore-plan` or `restorePlan` → `RESTORE_PLAN_STATE_MACHINE_ARN`: what configFromEnv reads. */
export const stateMachineEnvName = (name: string): string =>
  `${name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/-/g, '_')
    .toUpperCase()}_STATE_MACHINE_ARN`;
/** State machines the handlers' config always names (lambdas/runtime/config.ts), whether built yet or not. */
const CONFIG_STATE_MACHINES = ['backup', 'restore'];

/**
 * Code and wiring, all derived from lambdas/service/catalog.ts: one Lambda per
 * FUNCTIONS entry, one HTTP API route per API_ROUTES entry (every route behind the
 * Cognito JWT authorizer), one state machine per STATE_MACHINES entry, EventBridge rules
 * for EXECUTION_STATUS_RULES and SCHEDULED_FUNCTIONS, alarms for all of it, and the web
 * page's files plus its config.json. Redeploying it never touches data.
 */
export class StatelessStack extends Stack {
  readonly functions: Record<string, lambda.IFunction>;
  readonly stateMachines: Record<string, sfn.StateMachine>;
  readonly api: apigw.IHttpApi;
  readonly alarmTopic: sns.Topic;
  /** Business metrics next to every alarm (docs/operations.md). */
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: StatelessStackProps) {
    super(scope, id, props);
    const { settings, stateful } = props;
    const logRetention = settings.logRetentionDays as logs.RetentionDays;

    // Functions that start a state machine need its ARN, and the state machine's
    // definition needs their ARNs: a cycle if both were tokens. The machine names are
    // fixed here from the stack name instead, so the ARNs are known before either exists.
    const stateMachineName = (name: string) => `${this.stackName}-${name}`;
    const stateMachineArn = (name: string) =>
      this.formatArn({ service: 'states', resource: 'stateMachine', resourceName: stateMachineName(name), arnFormat: ArnFormat.COLON_RESOURCE_NAME });

    const environment: Record<string, string> = {
      DATA_TABLE_NAME: stateful.tables.DataTable.tableName,
      APP_TABLE_NAME: stateful.tables.AppTable.tableName,
      BACKUP_BUCKET_NAME: stateful.backupBucket.bucketName,
      SENDER_EMAIL: settings.senderEmail,
      APP_URL: stateful.appUrl,
      SECRETS_KEY_ID: stateful.secretsKey.keyArn,
      EVENT_BUS_NAME: stateful.changeEventBus.eventBusName,
      // Anomaly alerts email the account's super admins: the members of its group.
      USER_POOL_ID: stateful.userPool.userPoolId,
      // A dimension of every business metric, and the `stage` key of every log line.
      STAGE: settings.stage,
      LOG_LEVEL: settings.logLevel,
      // Cognito MFA optional: a download asks for the same re-authentication as a restore.
      REAUTHENTICATE_DOWNLOADS: String(settings.mfa === 'optional'),
      // A connected HubSpot portal's API (lambdas/adapters/hubspot/hubspot-api.ts: HUBSPOT_API_URL).
      HUBSPOT_API_URL: 'https://api.hubapi.com',
    };
    for (const name of new Set([...CONFIG_STATE_MACHINES, ...Object.keys(STATE_MACHINES)])) environment[stateMachineEnvName(name)] = stateMachineArn(name);

    const functions: Record<string, lambda.IFunction> = {};
    for (const [name, spec] of Object.entries(FUNCTIONS)) {
      functions[name] = new ServiceFunction(this, pascal(name), {
        name,
        spec,
        environment,
        logRetention,
        logLevel: settings.logLevel,
        rolePath: functionRolePath(settings.stage, name),
        reservedConcurrency: settings.reservedConcurrency ? RESERVED_CONCURRENCY[name as FunctionName] : undefined,
      }).function;
    }
    this.functions = functions;

    // State machines, then the grants that may refer to them by name.
    const stateMachines: Record<string, sfn.StateMachine> = {};
    const substitutions = aslSubstitutions({
      functionArn: (name: FunctionName) => functions[name]!.functionArn,
      dataTableName: stateful.tables.DataTable.tableName,
      appTableName: stateful.tables.AppTable.tableName,
      backupBucketName: stateful.backupBucket.bucketName,
    });
    for (const [name, machine] of Object.entries(STATE_MACHINES)) {
      stateMachines[name] = new AslStateMachine(this, `${pascal(name)}Workflow`, {
        file: machine.file,
        stateMachineName: stateMachineName(name),
        logRetention,
        resources: {
          functions: functionsByPlaceholder(functions),
          tables: { DataTableName: stateful.tables.DataTable, AppTableName: stateful.tables.AppTable },
          bucket: stateful.backupBucket,
          eventBus: stateful.changeEventBus,
          substitutions,
        },
      }).stateMachine;
    }
    this.stateMachines = stateMachines;

    for (const [name, fn] of Object.entries(functions)) this.grantFunction(name, fn, permissionsFor(name, settings), stateful, stateMachineName, settings.senderEmail);

    for (const rule of EXECUTION_STATUS_RULES) {
      const machine = stateMachines[rule.stateMachine];
      if (!machine) throw new Error(`EXECUTION_STATUS_RULES names state machine "${rule.stateMachine}", which is not in STATE_MACHINES`);
      new events.Rule(this, `${pascal(rule.stateMachine)}${rule.statuses.map((s) => pascal(s.toLowerCase())).join('')}To${pascal(rule.function)}`, {
        description: `${rule.statuses.join('/')} executions of ${rule.stateMachine} run ${rule.function}`,
        eventPattern: {
          source: ['aws.states'],
          detailType: ['Step Functions Execution Status Change'],
          detail: { stateMachineArn: [machine.stateMachineArn], status: rule.statuses },
        },
        targets: [new targets.LambdaFunction(functions[rule.function]!, { retryAttempts: 10, maxEventAge: Duration.hours(6) })],
      });
    }
    for (const schedule of SCHEDULED_FUNCTIONS) {
      new events.Rule(this, `${pascal(schedule.function)}Schedule`, {
        description: `Runs ${schedule.function} every ${schedule.everyMinutes} minutes`,
        schedule: events.Schedule.rate(Duration.minutes(schedule.everyMinutes)),
        targets: [new targets.LambdaFunction(functions[schedule.function]!, { retryAttempts: 2 })],
      });
    }

    // EventBridge invokes these asynchronously: an event whose handler still fails after
    // Lambda's retries (a refund or lock release not done) is kept here, not dropped.
    const failedInvocations = new sqs.Queue(this, 'FailedInvocations', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(failedInvocations).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the failure destination of the asynchronously invoked functions; a dead-letter queue for it would have nothing to catch (nothing consumes it but an operator).',
    });
    const asyncTargets = new Set<string>([...EXECUTION_STATUS_RULES.map((rule) => rule.function), ...SCHEDULED_FUNCTIONS.map((schedule) => schedule.function)]);
    for (const name of asyncTargets)
      functions[name]!.configureAsyncInvoke({ retryAttempts: 2, maxEventAge: Duration.hours(6), onFailure: new destinations.SqsDestination(failedInvocations) });

    this.api = this.buildApi(stateful, functions, logRetention);
    const { topic, alarms } = this.buildAlarms(settings, functions, stateMachines, failedInvocations);
    this.alarmTopic = topic;
    this.dashboard = new OperationsDashboard(this, 'Operations', { stage: settings.stage, alarms }).dashboard;

    if (props.webAssetsDir) this.deployWebPage(props.webAssetsDir, stateful, logRetention);

    new CfnOutput(this, 'ApiUrl', { value: this.api.apiEndpoint, description: 'The HTTP API (append /v1/...)' });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarmTopic.topicArn, description: 'Subscribe to receive alarms' });
    reviewWildcards(this);
  }

  /** Uploads the built page and a config.json pointing it at this API and user pool. */
  private deployWebPage(webAssetsDir: string, stateful: StatefulStack, logRetention: logs.RetentionDays): void {
    // Own role and log group rather than the construct's AWSLambdaBasicExecutionRole.
    const logGroup = new logs.LogGroup(this, 'WebPageDeploymentLogs', { retention: logRetention, removalPolicy: RemovalPolicy.DESTROY });
    const role = new iam.Role(this, 'WebPageDeploymentRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Copies the web page into its bucket and invalidates CloudFront',
    });
    logGroup.grantWrite(role);
    new s3deploy.BucketDeployment(this, 'WebPage', {
      sources: [
        s3deploy.Source.asset(webAssetsDir),
        // One deployment for files and config, so pruning never deletes config.json.
        s3deploy.Source.jsonData('config.json', {
          mode: 'aws',
          apiUrl: this.api.apiEndpoint,
          cognitoDomain: stateful.authDomain.baseUrl(),
          clientId: stateful.webClient.userPoolClientId,
          region: this.region,
        }),
      ],
      destinationBucket: stateful.webBucket,
      distribution: stateful.distribution,
      distributionPaths: ['/*'],
      memoryLimit: 256,
      role,
      logGroup,
    });
    // The construct's handler is a stack-level singleton function.
    for (const child of this.node.children.filter((c) => c.node.id.startsWith('Custom::CDKBucketDeployment')))
      Validations.of(child).acknowledge({
        id: 'AwsSolutions-L1',
        reason: "aws-cdk-lib's own deployment handler (Python, runs only during cdk deploy): its runtime moves with aws-cdk-lib upgrades and cannot be set here.",
      });
  }

  /** Turns one permissions.ts entry into grant* calls; nothing else grants the functions anything. */
  private grantFunction(
    name: string,
    fn: lambda.IFunction,
    permissions: FunctionPermissions,
    stateful: StatefulStack,
    stateMachineName: (name: string) => string,
    senderEmail: string,
  ): void {
    if (permissions.dataTable) grantTable(fn, stateful.tables.DataTable, TABLE_OPERATIONS.DataTable, permissions.dataTable);
    if (permissions.appTable) grantTable(fn, stateful.tables.AppTable, TABLE_OPERATIONS.AppTable, permissions.appTable, fencedAppPartitions(permissions));
    // Per prefix (`backups/*`, `plans/*`); read covers presigning, since a presigned GET
    // carries the signer's permissions (and its KMS Decrypt).
    if (permissions.backupBucket) grantBackupBucket(fn, stateful.backupBucket, permissions.backupBucket);
    if (permissions.secretsKey) grantSecretsKey(fn, stateful.secretsKey, permissions.secretsKey);
    if (permissions.sourceTokens) grantSourceTokens(fn, stateful.secretsKey, permissions.sourceTokens);
    if (permissions.sendEmail) {
      // SES authorizes SendEmail against the sender's identity and, in the sandbox, each
      // (verified) recipient's: any identity of this account, but only From the sender
      // address. (CDK's grantSendEmail would add SendRawEmail, which nothing sends.)
      iam.Grant.addToPrincipal({
        grantee: fn,
        actions: ['ses:SendEmail'],
        resourceArns: [this.formatArn({ service: 'ses', resource: 'identity', resourceName: '*' })],
        conditions: { StringEquals: { 'ses:FromAddress': senderEmail } },
      });
    }
    if (permissions.putEvents) stateful.changeEventBus.grantPutEventsTo(fn);
    if (permissions.listSuperAdmins) iam.Grant.addToPrincipal({ grantee: fn, actions: ['cognito-idp:ListUsersInGroup'], resourceArns: [stateful.userPool.userPoolArn] });
    for (const [machine, actions] of Object.entries(permissions.stateMachines ?? {})) {
      if (!STATE_MACHINES[machine] && !CONFIG_STATE_MACHINES.includes(machine))
        throw new Error(`infra/permissions.ts gives "${name}" access to state machine "${machine}", which is not in STATE_MACHINES`);
      // By name, not by construct: the function's ARN is inside that machine's definition.
      const ref = sfn.StateMachine.fromStateMachineName(this, `${pascal(name)}To${pascal(machine)}`, stateMachineName(machine));
      if (actions.includes('start')) ref.grantStartExecution(fn);
      if (actions.includes('describe')) ref.grantExecution(fn, 'states:DescribeExecution');
      if (actions.includes('stop')) ref.grantExecution(fn, 'states:StopExecution');
    }
  }

  /**
   * The routes, stage and CORS of the stateful stack's HTTP API: every route of the
   * catalog behind the Cognito JWT authorizer, the stage's throttling with lower limits
   * on the expensive routes, access logs.
   */
  private buildApi(stateful: StatefulStack, functions: Record<string, lambda.IFunction>, logRetention: logs.RetentionDays): apigw.IHttpApi {
    const api = stateful.api;
    const integrations = new Map<string, HttpLambdaIntegration>();
    const routes: apigw.HttpRoute[] = [];
    for (const [routeKey, functionName] of Object.entries(API_ROUTES)) {
      const [method, path] = routeKey.split(' ') as [string, string];
      let integration = integrations.get(functionName);
      if (!integration) {
        const fn = functions[functionName];
        if (!fn) throw new Error(`API_ROUTES sends "${routeKey}" to "${functionName}", which is not in FUNCTIONS`);
        integration = new HttpLambdaIntegration(`${pascal(functionName)}Integration`, fn, { payloadFormatVersion: apigw.PayloadFormatVersion.VERSION_2_0 });
        integrations.set(functionName, integration);
      }
      // The authorizer is named on each route (the API has no default), so a route can
      // never be added here without it.
      routes.push(
        new apigw.HttpRoute(this, `Route${pascal(`${method} ${path}`.replace(/[^A-Za-z0-9]+/g, '-'))}`, {
          httpApi: api,
          routeKey: apigw.HttpRouteKey.with(path, method as apigw.HttpMethod),
          integration,
          authorizer: stateful.apiAuthorizer,
        }),
      );
    }
    for (const routeKey of Object.keys(EXPENSIVE_ROUTE_THROTTLES))
      if (!API_ROUTES[routeKey]) throw new Error(`EXPENSIVE_ROUTE_THROTTLES names "${routeKey}", which is not in API_ROUTES`);

    const accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', { retention: logRetention, removalPolicy: RemovalPolicy.DESTROY });
    const stage = new apigw.HttpStage(this, 'ApiStage', {
      httpApi: api,
      stageName: '$default',
      autoDeploy: true,
      throttle: API_THROTTLE,
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            time: '$context.requestTime',
            routeKey: '$context.routeKey',
            status: '$context.status',
            latencyMs: '$context.responseLatency',
            ip: '$context.identity.sourceIp',
            sub: '$context.authorizer.claims.sub',
            authorizerError: '$context.authorizer.error',
            integrationError: '$context.integrationErrorMessage',
          }),
        ),
      },
    });
    // A map keyed by route key, passed to CloudFormation as is (hence its property names).
    (stage.node.defaultChild as apigw.CfnStage).routeSettings = Object.fromEntries(
      Object.entries(EXPENSIVE_ROUTE_THROTTLES).map(([routeKey, limits]) => [routeKey, { ThrottlingRateLimit: limits.rateLimit, ThrottlingBurstLimit: limits.burstLimit }]),
    );
    // API Gateway refuses settings for a route that does not exist yet.
    for (const route of routes) stage.node.addDependency(route);

    this.allowCorsFromThePage(stateful, logRetention);
    return api;
  }

  /**
   * CORS for the web page's origin only. Set after both exist, by a deploy-time call,
   * because the page's Content-Security-Policy (on the distribution) names the API and
   * the API's CORS names the distribution: as properties of the two resources that
   * would be a dependency cycle.
   */
  private allowCorsFromThePage(stateful: StatefulStack, logRetention: logs.RetentionDays): void {
    const api = stateful.api;
    const logGroup = new logs.LogGroup(this, 'ApiCorsLogs', { retention: logRetention, removalPolicy: RemovalPolicy.DESTROY });
    const role = new iam.Role(this, 'ApiCorsRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: "Sets the HTTP API's CORS to the web page's origin at deploy time",
    });
    logGroup.grantWrite(role);
    const setCors: cr.AwsSdkCall = {
      service: 'ApiGatewayV2',
      action: 'UpdateApi',
      parameters: {
        ApiId: api.apiId,
        CorsConfiguration: {
          AllowOrigins: [stateful.appUrl],
          AllowMethods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
          // The page sends one Idempotency-Key per action on the POSTs that start work.
          AllowHeaders: ['authorization', 'content-type', 'idempotency-key'],
          // The page reads Retry-After on 429 (quota) to say when to try again.
          ExposeHeaders: ['retry-after', 'location', 'idempotency-replayed'],
          MaxAge: 3600,
        },
      },
      // A new id whenever the API resource changes: CloudFormation's update of the API
      // may reset what it does not carry (CORS), so the call is made again after it.
      physicalResourceId: cr.PhysicalResourceId.of(`${api.apiId}-cors-${definitionHash(api.node.defaultChild as CfnResource)}`),
    };
    new cr.AwsCustomResource(this, 'ApiCors', {
      onCreate: setCors,
      onUpdate: setCors,
      role,
      logGroup,
      installLatestAwsSdk: false,
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({ actions: ['apigateway:PATCH'], resources: [this.formatArn({ service: 'apigateway', account: '', resource: '/apis', resourceName: api.apiId })] }),
      ]),
    });
  }

  private buildAlarms(
    settings: DeploySettings,
    functions: Record<string, lambda.IFunction>,
    stateMachines: Record<string, sfn.StateMachine>,
    failedInvocations: sqs.Queue,
  ): { topic: sns.Topic; alarms: cloudwatch.Alarm[] } {
    const topic = new sns.Topic(this, 'AlarmTopic', { displayName: `crm-backup ${settings.stage} alarms`, enforceSSL: true });
    if (settings.alarmEmail) topic.addSubscription(new subscriptions.EmailSubscription(settings.alarmEmail));
    const action = new cwActions.SnsAction(topic);
    const alarms: cloudwatch.Alarm[] = [];
    const alarm = (id: string, metric: cloudwatch.IMetric, description: string) => {
      const created = new cloudwatch.Alarm(this, id, {
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      created.addAlarmAction(action);
      alarms.push(created);
    };
    const period = Duration.minutes(5);
    for (const [name, fn] of Object.entries(functions)) {
      alarm(`${pascal(name)}Errors`, fn.metricErrors({ period, statistic: 'Sum' }), `${name} threw errors (see its log group)`);
      alarm(`${pascal(name)}Throttles`, fn.metricThrottles({ period, statistic: 'Sum' }), `${name} was throttled (account concurrency)`);
    }
    alarm('FailedInvocationsQueued', failedInvocations.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }), 'A failure handler or the scheduler failed for good: its event is in the FailedInvocations queue');
    for (const [name, machine] of Object.entries(stateMachines)) {
      alarm(`${pascal(name)}ExecutionsFailed`, machine.metricFailed({ period, statistic: 'Sum' }), `${name} executions failed`);
      alarm(`${pascal(name)}ExecutionsTimedOut`, machine.metricTimedOut({ period, statistic: 'Sum' }), `${name} executions timed out`);
      alarm(`${pascal(name)}ExecutionsAborted`, machine.metricAborted({ period, statistic: 'Sum' }), `${name} executions were aborted`);
    }
    return { topic, alarms };
  }
}

/** A short hash of a resource's CloudFormation definition, as its stack will deploy it. */
function definitionHash(resource: CfnResource): string {
  return createHash('sha256')
    .update(JSON.stringify(Stack.of(resource).resolve(resource._toCloudFormation())))
    .digest('hex')
    .slice(0, 16);
}

/** `export-object` → `ExportObject`, for construct ids. */
function pascal(name: string): string {
  return name.replace(/(^|[-_\s])(\w)/g, (_, __, letter: string) => letter.toUpperCase());
}
