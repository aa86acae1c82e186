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
  s3: S3Client;
  stepFunctions: SFNClient;
  ses: SESv2Client;
  /** Encrypts TOTP secrets in AWS (the local runtime uses an AES-GCM stand-in instead). */
  kms: KMSClient;
  /** Publishes record change events when config.eventBusName is set. */
  eventBridge: EventBridgeClient;
  /** Lists an account's super admins for alerts (the local runtime lists its demo users instead). */
  cognito: CognitoIdentityProviderClient;
}

/** Credentials the embedded stand-ins accept (the S3 stand-in checks every signature made with them). */
export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/**
 * Builds the clients. The only difference between Lambda and the local runtime is
 * here: local endpoints, fixed credentials, and the S3 settings s3rver needs.
 */
export function createAwsClients(config: AppConfig): AwsClients {
  const local = config.local;
  const common = { region: config.region, ...(local ? { credentials: LOCAL_CREDENTIALS, maxAttempts: 3 } : {}) };
  const dynamodb = new DynamoDBClient({ ...common, ...(local ? { endpoint: local.dynamodb } : {}) });
  return {
    dynamodb: DynamoDBDocumentClient.from(dynamodb, { marshallOptions: { removeUndefinedValues: true } }),
    s3: new S3Client({
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
    }),
    stepFunctions: new SFNClient({ ...common, ...(local ? { endpoint: local.stepFunctions } : {}) }),
    ses: new SESv2Client({ ...common, ...(local ? { endpoint: local.ses } : {}) }),
    kms: new KMSClient(common),
    eventBridge: new EventBridgeClient(common),
    cognito: new CognitoIdentityProviderClient(common),
  };
}
