import { join } from 'node:path';
import { Duration, RemovalPolicy, Size } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { YOUNG_GENERATION_SEMI_SPACE_MB, type FunctionSpec } from '#service/catalog.ts';
import { PROJECT_ROOT } from '../paths.ts';

export interface ServiceFunctionProps {
  /** The catalog name (`export-object`): names the construct and the log group. */
  name: string;
  spec: FunctionSpec;
  environment: Record<string, string>;
  logRetention: logs.RetentionDays;
  /** Lambda's application log level for the function's JSON logs. */
  logLevel: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /** IAM path of the function's role: the key and bucket policies trust the role by it (infra/trusted-roles.ts). */
  rolePath: string;
  /** Concurrency reserved for (and capping) the function; undefined: the account's shared pool. */
  reservedConcurrency?: number;
}

/** infra/lambda/<this>, copied beside each bundle: the runtime's start command goes through it (AWS_LAMBDA_EXEC_WRAPPER). */
export const NODE_FLAGS_WRAPPER = 'node-flags.sh';

/** The Lambda runtime: the newest Node.js the installed CDK knows, never below 22. */
export const FUNCTION_RUNTIME = lambda.Runtime.NODEJS_24_X;

/**
 * One catalog function as a Lambda: bundled locally by esbuild (no Docker) from
 * lambdas/handlers/<entry>, ARM64, sized by the catalog, traced, with its own log group.
 * Tests skip the bundling through the `aws:cdk:bundling-stacks` context; the props stay the same.
 */
export class ServiceFunction extends Construct {
  readonly function: NodejsFunction;

  constructor(scope: Construct, id: string, props: ServiceFunctionProps) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention,
      // Operational logs only (the audit trail is in the app table): go with the stack.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Our own role instead of AWSLambdaBasicExecutionRole (logs:* on every log group):
    // it may write to its own log group, and gets the rest from infra/permissions.ts.
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      path: props.rolePath,
      description: `Lambda ${props.name}: grants from infra/permissions.ts`,
    });
    logGroup.grantWrite(role);
    this.function = new NodejsFunction(this, 'Function', {
      entry: join(PROJECT_ROOT, 'lambdas', 'handlers', props.spec.entry),
      handler: 'handler',
      description: props.spec.description,
      runtime: FUNCTION_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.spec.memoryMb,
      timeout: Duration.seconds(props.spec.timeoutSeconds),
      ephemeralStorageSize: props.spec.ephemeralStorageMb ? Size.mebibytes(props.spec.ephemeralStorageMb) : undefined,
      reservedConcurrentExecutions: props.reservedConcurrency,
      tracing: lambda.Tracing.ACTIVE,
      logGroup,
      // JSON logs: Lambda's own lines (START, REPORT) become JSON like the handlers' Powertools
      // lines, and the application log level filters both; the platform's lines only from WARN.
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: lambda.ApplicationLogLevel[props.logLevel],
      systemLogLevelV2: lambda.SystemLogLevel.WARN,
      role,
      environment: {
        ...props.environment,
        NODE_OPTIONS: '--enable-source-maps',
        // V8's young generation at its own default size, not a tenth of the memory: see
        // YOUNG_GENERATION_SEMI_SPACE_MB. Only a command-line flag can set it, hence the wrapper.
        AWS_LAMBDA_EXEC_WRAPPER: `/var/task/${NODE_FLAGS_WRAPPER}`,
        NODE_SEMI_SPACE_MB: String(YOUNG_GENERATION_SEMI_SPACE_MB),
      },
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      bundling: {
        forceDockerBundling: false,
        format: OutputFormat.ESM,
        target: 'node24',
        mainFields: ['module', 'main'],
        // Bundle the AWS SDK too: the code runs against the versions package-lock.json
        // pins and the tests exercised, not whatever the runtime ships that week.
        externalModules: [],
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        // Some CommonJS dependencies (yauzl, for one) call require() inside an ESM bundle.
        banner: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (inputDir, outputDir) => [`install -m 755 "${join(inputDir, 'infra', 'lambda', NODE_FLAGS_WRAPPER)}" "${join(outputDir, NODE_FLAGS_WRAPPER)}"`],
        },
      },
    });
  }
}
