import { CfnResource, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';

/**
 * The reviewed list of wildcards in IAM policies. cdk-nag's AwsSolutions-IAM5 flags
 * every `*` in an action or resource; each one we accept is matched here, with the
 * reason, and anything not on this list stays a finding and fails the synth and the
 * tests. The review runs after CDK has resolved cross-stack references (a node
 * validation), so it sees exactly the strings cdk-nag sees.
 */
interface WildcardRule {
  /** Matches the cdk-nag finding (`Action::s3:GetObject*`, `Resource::<Fn.Arn>:*`). */
  finding: RegExp;
  /** For `Resource::*`: every action of every statement using it must be one of these. */
  onlyActions?: string[];
  /**
   * Every statement that produced the finding must pass this too: what a finding's
   * string cannot say (which actions go with a resource, what kind of resource a
   * logical id is).
   */
  statementsMust?: (statement: Statement, finding: RegExpExecArray, stack: Stack) => boolean;
  reason: string;
}

export const WILDCARD_RULES: WildcardRule[] = [
  {
    finding: /^Resource::\*$/,
    onlyActions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'xray:GetSamplingRules', 'xray:GetSamplingTargets', 'xray:GetSamplingStatisticSummaries'],
    reason: 'X-Ray tracing: these X-Ray actions have no resource-level permissions, AWS requires Resource "*" (https://docs.aws.amazon.com/xray/latest/devguide/security_iam_service-with-iam.html).',
  },
  {
    finding: /^Resource::\*$/,
    onlyActions: [
      'logs:CreateLogDelivery',
      'logs:GetLogDelivery',
      'logs:UpdateLogDelivery',
      'logs:DeleteLogDelivery',
      'logs:ListLogDeliveries',
      'logs:PutResourcePolicy',
      'logs:DescribeResourcePolicies',
      'logs:DescribeLogGroups',
    ],
    reason: 'Step Functions logging to CloudWatch Logs: the log-delivery actions do not support resource-level permissions, AWS requires Resource "*" (https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html).',
  },
  {
    finding: /^Resource::\*$/,
    onlyActions: ['cloudfront:CreateInvalidation', 'cloudfront:GetInvalidation'],
    reason: 'aws-s3-deployment grants invalidation on "*"; its custom resource only invalidates the distribution it is given (the web page, after each upload).',
  },
  {
    finding: /^Action::kms:(GenerateDataKey|ReEncrypt)\*$/,
    // The tables' key only: the backup and secrets keys are granted action by action.
    statementsMust: (statement) => onlyResources(statement, /DataKey/),
    reason: 'CDK table grant on the tables\' customer-managed key (DataKey): GenerateDataKey* = GenerateDataKey(+WithoutPlaintext) and ReEncrypt* = ReEncryptFrom/To, which DynamoDB uses on the caller\'s behalf to write items with that key.',
  },
  {
    finding: /^Action::s3:(GetObject|GetBucket|List|DeleteObject|PutObject|Abort)\*$/,
    // Never on the backup bucket: the functions' grants there are action by action (infra/function-grants.ts).
    statementsMust: (statement) => !mentions(statement, /BackupBucket/),
    reason: "CDK's web page deployment on the web and asset buckets: the wildcard spans the object-version and multipart variants of the same operation (e.g. s3:Abort* = AbortMultipartUpload), scoped to those buckets' ARNs.",
  },
  {
    finding: /^Resource::.+\/index\/\*$/,
    reason: "Queries on the table's own global secondary indexes (gsi1): index ARNs are <table>/index/<name>.",
  },
  {
    // The backup bucket only by prefix: a grant on <BackupBucket>/* would reach every tenant's backups and plans.
    finding: /^Resource::.*BackupBucket.*\/(backups|plans|comparisons)\/\*$/,
    reason:
      'Objects under one prefix of the backup bucket (backups/<account>/<backup>/…, plans/<account>/<plan>/…, comparisons/<account>/<comparison>/…): keys are generated per backup, plan and comparison, so they cannot be listed one by one.',
  },
  {
    finding: /^Resource::.*(WebBucket|cdk-[a-z0-9]+-assets-).*\/\*$/,
    statementsMust: (statement) => !mentions(statement, /BackupBucket/),
    reason: 'Objects of the web page bucket, or of the CDK asset bucket the page is copied from: the deployment replaces every file of the site.',
  },
  {
    finding: /^Resource::<([A-Za-z0-9]+)\.Arn>:\*$/,
    // Only lambda:InvokeFunction, and only if <X> is a Lambda function of this stack.
    statementsMust: (statement, finding, stack) =>
      list(statement.Action).every((action) => action === 'lambda:InvokeFunction') && resourceTypeOf(stack, finding[1]!) === 'AWS::Lambda::Function',
    reason: 'lambda:InvokeFunction on one function, any version/alias (<function-arn>:*): CDK grantInvoke, so a Task keeps working if a version is pinned later.',
  },
  {
    finding: /^Resource::arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>:identity\/\*$/,
    reason: 'SES sandbox: SendEmail is also authorized against each verified recipient identity, so the grant covers identity/* but only with ses:FromAddress = the sender address (condition on the statement).',
  },
  {
    finding: /^Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:[A-Za-z0-9-]+:\*$/,
    reason: 'Describe/stop executions of one named state machine: execution ARNs are <machine>:<execution-name>, and names are backup/restore ids.',
  },
];

/** Adds the review to `stack`: runs once the tree is final, before cdk-nag reads it. */
export function reviewWildcards(stack: Stack): void {
  stack.node.addValidation({
    validate: () => {
      for (const construct of stack.node.findAll()) if (isPolicy(construct)) acknowledgeReviewed(construct);
      return [];
    },
  });
}

function isPolicy(construct: IConstruct): construct is iam.CfnPolicy | iam.CfnManagedPolicy {
  return CfnResource.isCfnResource(construct) && (construct instanceof iam.CfnPolicy || construct instanceof iam.CfnManagedPolicy);
}

interface Statement {
  Effect?: string;
  Action?: string | string[];
  Resource?: unknown;
}

const list = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);
const flatResources = (statement: Statement): string[] => list(statement.Resource).map(flattenReference);
const mentions = (statement: Statement, pattern: RegExp): boolean => flatResources(statement).some((resource) => pattern.test(resource));
const onlyResources = (statement: Statement, pattern: RegExp): boolean => flatResources(statement).every((resource) => pattern.test(resource));

/** The CloudFormation type of the resource with this logical id in `stack`, if any. */
function resourceTypeOf(stack: Stack, logicalId: string): string | undefined {
  const resource = stack.node.findAll().find((construct) => CfnResource.isCfnResource(construct) && stack.getLogicalId(construct) === logicalId);
  return resource ? (resource as CfnResource).cfnResourceType : undefined;
}

function acknowledgeReviewed(policy: iam.CfnPolicy | iam.CfnManagedPolicy): void {
  const stack = Stack.of(policy);
  const document = stack.resolve(policy.policyDocument) as { Statement?: Statement[] };
  const statements = (document.Statement ?? []).filter((s) => s.Effect === 'Allow');
  // Each finding with the statements that produce it.
  const findings = new Map<string, Statement[]>();
  const found = (finding: string, statement: Statement) => findings.set(finding, [...(findings.get(finding) ?? []), statement]);
  for (const statement of statements) {
    for (const action of list(statement.Action)) if (action.includes('*')) found(`Action::${action}`, statement);
    for (const resource of flatResources(statement)) if (resource.includes('*')) found(`Resource::${resource}`, statement);
  }
  for (const [finding, sources] of findings) {
    const reasons = new Set<string>();
    if (finding === 'Resource::*') {
      // Accepted only if every action of every statement on "*" is one a rule allows
      // (CDK merges statements, so one statement may carry X-Ray and logging actions).
      const onStar = statements.filter((s) => list(s.Resource).some((r) => r === '*'));
      const actions = onStar.flatMap((s) => list(s.Action));
      const rules = actions.map((action) => WILDCARD_RULES.find((r) => r.onlyActions?.includes(action)));
      if (rules.every(Boolean)) for (const rule of rules) reasons.add(rule!.reason);
    } else {
      const rule = WILDCARD_RULES.find((r) => {
        const match = r.onlyActions ? null : r.finding.exec(finding);
        return match !== null && (!r.statementsMust || sources.every((statement) => r.statementsMust!(statement, match, stack)));
      });
      if (rule) reasons.add(rule.reason);
    }
    if (reasons.size) Validations.of(policy).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason: [...reasons].join(' ') });
  }
}

/** The same flattening cdk-nag applies before matching (`<Logical.Attr>`, `<Ref>`, imports by name). */
function flattenReference(node: unknown): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
  const value = node as Record<string, unknown>;
  if (value['Fn::Join']) {
    const [delimiter, items] = value['Fn::Join'] as [string, unknown[]];
    return items.map(flattenReference).join(delimiter);
  }
  if (value['Fn::Sub']) return flattenReference(value['Fn::Sub']);
  if (value['Fn::GetAtt']) {
    const [resource, attribute] = value['Fn::GetAtt'] as [unknown, unknown];
    return `<${flattenReference(resource)}.${flattenReference(attribute)}>`;
  }
  if (value['Fn::ImportValue']) return flattenReference(value['Fn::ImportValue']);
  if (value.Ref) return `<${flattenReference(value.Ref)}>`;
  return JSON.stringify(node);
}
