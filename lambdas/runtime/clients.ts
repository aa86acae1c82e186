import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { KMSClient } from '@aws-sdk/client-kms';
import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import type { AppConfig } from './config.ts';

/** The AWS SDK v3 clients, one of each per container, shared by every adapter. */
export interface AwsClients {
  dynamodb: DynamoDBDocumentClient;
  /** The client under `dynamodb`, for libraries that marshal themselves (Powertools Idempotency). */
  dynamodbClient: DynamoDBClient;
  s3: S3Client;
  stepFunctions: SFNClient;
  ses: SESv2Client;
  /** Encrypts TOTP secrets. */
  kms: KMSClient;
  /** Publishes record change events when config.eventBusName is set. */
  eventBridge: EventBridgeClient;
  /** Lists an account's super admins for alerts (the local runtime lists its demo users instead). */
  cognito: CognitoIdentityProviderClient;
}

/** Any of the service's SDK clients: what an instrument (tracing, the local call recorder) is given. */
export type AwsClient = DynamoDBClient | S3Client | SFNClient | SESv2Client | KMSClient | EventBridgeClient | CognitoIdentityProviderClient;

/** Adds middleware to a client when it is built (X-Ray capture in Lambda, recording locally). */
export type ClientInstrument = (client: AwsClient) => void;

/** Credentials the embedded stand-ins accept (the S3 stand-in checks every signature made with them). */
export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/**
 * Builds the clients. The only difference between Lambda and the local runtime is
 * here: local endpoints, fixed credentials, and the S3 settings s3rver needs.
 */
export function createAwsClients(config: AppConfig, instruments: ClientInstrument[] = []): AwsClients {
  const local = config.local;
  const common = { region: config.region, ...(local ? { credentials: LOCAL_CREDENTIALS, maxAttempts: 3 } : {}) };
  const instrumented = <C extends AwsClient>(client: C): C => {
    for (const instrument of instruments) instrument(client);
    return client;
  };
  // The document client shares the base client's middleware stack: instrumenting one covers both.
  const dynamodb = instrumented(new DynamoDBClient({ ...common, ...(local ? { endpoint: local.dynamodb } : {}) }));
  return {
    dynamodb: DynamoDBDocumentClient.from(dynamodb, { marshallOptions: { removeUndefinedValues: true } }),
    dynamodbClient: dynamodb,
    s3: instrumented(new S3Client({
      ...common,
      ...(local
        ? {
            endpoint: local.s3,
            forcePathStyle: true,
            // s3rver predates S3's default CRC checksums and rejects them.
            requestChecksumCalculation: 'WHEN_REQUIRED',
            responseChecksumValidation: 'WHEN_REQUIRED',
          }
        : {}),
    })),
    stepFunctions: instrumented(new SFNClient({ ...common, ...(local ? { endpoint: local.stepFunctions } : {}) })),
    ses: instrumented(new SESv2Client({ ...common, ...(local ? { endpoint: local.ses } : {}) })),
    kms: instrumented(new KMSClient({ ...common, ...(local ? { endpoint: local.kms } : {}) })),
    eventBridge: instrumented(new EventBridgeClient({ ...common, ...(local ? { endpoint: local.eventBridge } : {}) })),
    cognito: instrumented(new CognitoIdentityProviderClient(common)),
  };
}
