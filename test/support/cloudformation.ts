/**
 * Just enough of CloudFormation to read synthesized templates as a deployment would see
 * them: every resource gets the physical name and ARN AWS would give it in one made-up
 * account and region, and `Ref`, `Fn::GetAtt`, `Fn::Join`, `Fn::Sub`, `Fn::Select`,
 * `Fn::Split` and `Fn::ImportValue` (across the app's stacks) resolve to plain strings.
 * Used by the permission check, which evaluates the resolved IAM policies.
 */

export const ACCOUNT = '111111111111';
export const REGION = 'eu-west-1';

export interface Template {
  Resources: Record<string, { Type: string; Properties?: Record<string, any> }>;
  Outputs?: Record<string, { Value: unknown; Export?: { Name: unknown } }>;
}

/** A deployed app: its stacks by name, each with its template. */
export class Deployment {
  private readonly stacks: Map<string, Template>;

  constructor(stacks: Record<string, Template>) {
    this.stacks = new Map(Object.entries(stacks));
  }

  stackNames(): string[] {
    return [...this.stacks.keys()];
  }

  template(stack: string): Template {
    const template = this.stacks.get(stack);
    if (!template) throw new Error(`No stack ${stack}`);
    return template;
  }

  /** Resolves every intrinsic function in `value`, as evaluated in `stack`. */
  resolve(stack: string, value: unknown): any {
    if (Array.isArray(value)) return value.map((item) => this.resolve(stack, item));
    if (value === null || typeof value !== 'object') return value;
    const node = value as Record<string, any>;
    const [key] = Object.keys(node);
    if (Object.keys(node).length === 1 && (key === 'Ref' || key!.startsWith('Fn::'))) return this.intrinsic(stack, key!, node[key!]);
    return Object.fromEntries(Object.entries(node).map(([name, child]) => [name, this.resolve(stack, child)]));
  }

  private intrinsic(stack: string, name: string, argument: any): unknown {
    switch (name) {
      case 'Ref':
        return this.ref(stack, argument);
      case 'Fn::GetAtt': {
        const [logicalId, attribute] = Array.isArray(argument) ? argument : String(argument).split('.');
        return this.attribute(stack, logicalId, attribute);
      }
      case 'Fn::Join': {
        const [delimiter, parts] = argument as [string, unknown[]];
        return (this.resolve(stack, parts) as unknown[]).join(delimiter);
      }
      case 'Fn::Select': {
        const [index, list] = argument as [number, unknown];
        return (this.resolve(stack, list) as unknown[])[Number(index)];
      }
      case 'Fn::Split': {
        const [delimiter, text] = argument as [string, unknown];
        return String(this.resolve(stack, text)).split(delimiter);
      }
      case 'Fn::Sub': {
        const [text, variables] = Array.isArray(argument) ? argument : [argument, {}];
        return String(text).replace(/\$\{([^}]+)\}/g, (_, reference: string) => {
          if (reference in variables) return String(this.resolve(stack, variables[reference]));
          const [logicalId, attribute] = reference.split('.');
          return String(attribute ? this.attribute(stack, logicalId!, attribute) : this.ref(stack, logicalId!));
        });
      }
      case 'Fn::ImportValue':
        return this.importValue(String(this.resolve(stack, argument)));
      default:
        throw new Error(`${stack}: ${name} is not understood by test/support/cloudformation.ts`);
    }
  }

  private importValue(exportName: string): unknown {
    for (const [stack, template] of this.stacks) {
      for (const output of Object.values(template.Outputs ?? {})) {
        if (output.Export && this.resolve(stack, output.Export.Name) === exportName) return this.resolve(stack, output.Value);
      }
    }
    throw new Error(`No stack exports ${exportName}`);
  }

  private ref(stack: string, logicalId: string): unknown {
    const pseudo: Record<string, string> = {
      'AWS::AccountId': ACCOUNT,
      'AWS::Region': REGION,
      'AWS::Partition': 'aws',
      'AWS::URLSuffix': 'amazonaws.com',
      'AWS::StackName': stack,
      'AWS::NoValue': '',
    };
    if (logicalId in pseudo) return pseudo[logicalId];
    const resource = this.resource(stack, logicalId);
    switch (resource.Type) {
      case 'AWS::KMS::Key':
        return this.keyId(logicalId);
      case 'AWS::StepFunctions::StateMachine':
      case 'AWS::SNS::Topic':
        return this.attribute(stack, logicalId, 'Arn');
      case 'AWS::SES::EmailIdentity':
        return this.resolve(stack, resource.Properties!.EmailIdentity);
      default:
        return this.physicalName(stack, logicalId);
    }
  }

  private attribute(stack: string, logicalId: string, attribute: string): unknown {
    const resource = this.resource(stack, logicalId);
    const name = () => String(this.ref(stack, logicalId));
    const arn = (service: string, resourcePart: string, region = REGION, account = ACCOUNT) => `arn:aws:${service}:${region}:${account}:${resourcePart}`;
    if (attribute === 'Arn') {
      switch (resource.Type) {
        case 'AWS::DynamoDB::Table':
          return arn('dynamodb', `table/${name()}`);
        case 'AWS::S3::Bucket':
          return `arn:aws:s3:::${name()}`;
        case 'AWS::KMS::Key':
          return arn('kms', `key/${this.keyId(logicalId)}`);
        case 'AWS::Events::EventBus':
          return arn('events', `event-bus/${name()}`);
        case 'AWS::IAM::Role':
          return `arn:aws:iam::${ACCOUNT}:role${this.resolve(stack, resource.Properties?.Path) ?? '/'}${name()}`;
        case 'AWS::Logs::LogGroup':
          return arn('logs', `log-group:${name()}:*`);
        case 'AWS::Lambda::Function':
          return arn('lambda', `function:${name()}`);
        case 'AWS::SQS::Queue':
          return arn('sqs', name());
        case 'AWS::SNS::Topic':
          return arn('sns', this.physicalName(stack, logicalId));
        case 'AWS::StepFunctions::StateMachine':
          return arn('states', `stateMachine:${this.physicalName(stack, logicalId)}`);
        case 'AWS::Cognito::UserPool':
          return arn('cognito-idp', `userpool/${name()}`);
        default:
          return `arn:aws:${resource.Type.split('::')[1]!.toLowerCase()}:${REGION}:${ACCOUNT}:${logicalId}`;
      }
    }
    if (attribute === 'Name' && resource.Type === 'AWS::StepFunctions::StateMachine') return this.physicalName(stack, logicalId);
    return `${logicalId}.${attribute}`;
  }

  private resource(stack: string, logicalId: string) {
    const resource = this.template(stack).Resources[logicalId];
    if (!resource) throw new Error(`${stack} has no resource ${logicalId}`);
    return resource;
  }

  /** The name CloudFormation would generate, or the one the template sets. */
  private physicalName(stack: string, logicalId: string): string {
    const properties = this.resource(stack, logicalId).Properties ?? {};
    for (const property of ['TableName', 'BucketName', 'RoleName', 'LogGroupName', 'FunctionName', 'QueueName', 'TopicName', 'StateMachineName', 'Name']) {
      if (properties[property] !== undefined) return String(this.resolve(stack, properties[property]));
    }
    const generated = `${stack}-${logicalId}`;
    return this.resource(stack, logicalId).Type === 'AWS::S3::Bucket' ? generated.toLowerCase() : generated;
  }

  private keyId(logicalId: string): string {
    return `key-${logicalId.toLowerCase()}`;
  }

  /** Every resource of a type in a stack, by logical id. */
  resourcesOf(stack: string, type: string): Array<[string, Record<string, any>]> {
    return Object.entries(this.template(stack).Resources)
      .filter(([, resource]) => resource.Type === type)
      .map(([logicalId, resource]) => [logicalId, resource.Properties ?? {}]);
  }

  /** The stack and logical id of the resource whose `Ref` is `physicalName`. */
  findByName(type: string, physicalName: string): { stack: string; logicalId: string } | undefined {
    for (const stack of this.stacks.keys()) {
      for (const [logicalId] of this.resourcesOf(stack, type)) if (this.ref(stack, logicalId) === physicalName) return { stack, logicalId };
    }
    return undefined;
  }
}
