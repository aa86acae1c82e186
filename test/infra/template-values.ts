import type { Template } from 'aws-cdk-lib/assertions';

/**
 * A CloudFormation value as one readable string: `{Ref: X}` → `<X>`, `Fn::GetAtt` →
 * `<X.Attr>`, `Fn::ImportValue` → `<import:Name>`, `Fn::Join` and `Fn::Sub` joined,
 * so tests compare policies and headers by value without re-deriving CDK's tokens.
 */
export function flat(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value !== 'object') return String(value);
  const node = value as Record<string, unknown>;
  if (node.Ref !== undefined) return `<${flat(node.Ref)}>`;
  if (node['Fn::GetAtt']) return `<${(node['Fn::GetAtt'] as unknown[]).map(flat).join('.')}>`;
  if (node['Fn::ImportValue']) return `<import:${flat(node['Fn::ImportValue'])}>`;
  if (node['Fn::Join']) {
    const [delimiter, items] = node['Fn::Join'] as [string, unknown[]];
    return items.map(flat).join(delimiter);
  }
  if (node['Fn::Sub']) return flat(Array.isArray(node['Fn::Sub']) ? node['Fn::Sub'][0] : node['Fn::Sub']);
  return JSON.stringify(node);
}

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource?: unknown;
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

/** `value` as a list (IAM allows a single value or a list almost everywhere). */
export const list = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** Every statement of every AWS::IAM::Policy attached to the role with logical id `roleId`. */
export function statementsOfRole(template: Template, roleId: string): PolicyStatement[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((policy) => (policy.Properties.Roles as Array<{ Ref: string }>).some((role) => role.Ref === roleId))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as PolicyStatement[]);
}

/** The logical id of the one resource of `type` whose logical id starts with `prefix`. */
export function logicalIdStartingWith(template: Template, type: string, prefix: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
  if (ids.length !== 1) throw new Error(`Expected one ${type} starting with ${prefix}, found ${ids.join(', ') || 'none'}`);
  return ids[0]!;
}
