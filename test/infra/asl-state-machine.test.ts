import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { describe, expect, it } from 'vitest';
import { AslStateMachine } from '../../infra/constructs/asl-state-machine.ts';

/** A bare stack with one of each resource an ASL may name, and a machine from `file`. */
function machineFrom(file: string) {
  const stack = new Stack(new App(), 'Test');
  const fn = new lambda.Function(stack, 'Fn', { runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code: lambda.Code.fromInline('export const handler = async () => ({})') });
  const appTable = new dynamodb.Table(stack, 'AppTable', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
  const dataTable = new dynamodb.Table(stack, 'DataTable', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
  const bus = new events.EventBus(stack, 'Bus');
  const construct = new AslStateMachine(stack, 'Machine', {
    // Relative to statemachines/: the fixtures live with the tests.
    file: `../test/infra/fixtures/${file}`,
    stateMachineName: 'test-machine',
    logRetention: logs.RetentionDays.ONE_WEEK,
    resources: {
      functions: { ExportObjectFunctionArn: fn },
      tables: { AppTableName: appTable, DataTableName: dataTable },
      bucket: new s3.Bucket(stack, 'Bucket'),
      eventBus: bus,
      substitutions: { ExportObjectFunctionArn: fn.functionArn, AppTableName: appTable.tableName, DataTableName: dataTable.tableName, BackupBucketName: 'b' },
    },
  });
  return { stack, construct, template: () => Template.fromStack(stack) };
}

describe('AslStateMachine', () => {
  it('grants what each Task state uses, in Map iterators too, and nothing for tables the ASL does not name', () => {
    const { template } = machineFrom('direct-integrations.asl.json');
    const statements = Object.values(template().findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement as Array<Record<string, unknown>>);
    const text = JSON.stringify(statements);
    expect(statements).toContainEqual(expect.objectContaining({ Action: 'lambda:InvokeFunction' }));
    expect(statements).toContainEqual(expect.objectContaining({ Action: 'dynamodb:UpdateItem', Resource: [{ 'Fn::GetAtt': [expect.stringMatching(/^AppTable/), 'Arn'] }] }));
    expect(statements).toContainEqual(expect.objectContaining({ Action: 'events:PutEvents', Resource: { 'Fn::GetAtt': [expect.stringMatching(/^Bus/), 'Arn'] } }));
    expect(text).not.toContain('DataTable');
    expect(text).not.toMatch(/dynamodb:(PutItem|DeleteItem|GetItem)/);
  });

  it('keeps the substituted definition in the template', () => {
    const { template } = machineFrom('direct-integrations.asl.json');
    template().hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineName: 'test-machine',
      DefinitionString: { 'Fn::Join': ['', Match.arrayWith([{ 'Fn::GetAtt': [Match.stringLikeRegexp('^Fn'), 'Arn'] }])] },
    });
  });

  it('refuses a Task it does not know how to grant, naming the file and the state', () => {
    expect(() => machineFrom('unknown-integration.asl.json')).toThrow(/unknown-integration\.asl\.json, state "Send": no grant rule for Task resource "arn:aws:states:::sqs:sendMessage"/);
  });
});
