import type { Node } from 'constructs';

/**
 * Everything a deployment may choose, read from CDK context (`-c key=value` or cdk.json).
 * Parsed once in app.ts and handed to the stacks, so a typo fails the synth with a
 * sentence instead of deploying something half-configured.
 */
export interface DeploySettings {
  /** Names the stacks (`CrmBackup-<stage>-Stateful`) and so every generated name. */
  stage: string;
  /** SES identity the notification emails come from (an address, or a domain you own). */
  senderEmail: string;
  /** Custom domain for the web page (`backups.example.com`); needs `certificateArn`. */
  domainName?: string;
  /** ACM certificate in us-east-1 covering `domainName` (CloudFront only takes those). */
  certificateArn?: string;
  /** Hosted sign-in domain prefix (`<prefix>.auth.<region>.amazoncognito.com`), globally unique. */
  authDomainPrefix?: string;
  /** Optional single sign-on through a SAML or OIDC identity provider. */
  sso?: SsoSettings;
  /** Where alarm notifications go (an email subscription to the alarm topic). */
  alarmEmail?: string;
  /** Days Lambda, Step Functions and API access logs are kept. */
  logRetentionDays: number;
  /** The functions' application log level (Lambda's JSON log format filters by it): DEBUG, INFO (default), WARN or ERROR. */
  logLevel: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /**
   * Cognito MFA for password sign-ins: `required` (default) or `optional`. Restores
   * ask for the service's own TOTP code either way (docs/restores.md).
   */
  mfa: 'required' | 'optional';
  /**
   * Reserve Lambda concurrency for the functions that plan restores (default true), so
   * that one tenant's planning burst cannot take the account's whole pool and cannot
   * grow past it. It reserves 40 and Lambda keeps 10 unreserved, so an account whose
   * concurrency limit is below 50 (new accounts may start at 10) fails the deploy:
   * deploy there with `-c reservedConcurrency=false`.
   */
  reservedConcurrency: boolean;
  /**
   * Folder with the built web page. Absent: the distribution is still created (Cognito
   * needs its URL) but nothing is uploaded, and synth says so.
   */
  webAssetsDir?: string;
}

export type SsoSettings =
  | {
      type: 'SAML';
      /** Provider name shown on the hosted sign-in page (letters, digits, spaces, `-_.`). */
      name: string;
      /** URL of the IdP's SAML metadata document. */
      metadataUrl: string;
      /** IdP attribute carrying the CRM account id (mapped to `custom:accountId`). */
      accountIdAttribute?: string;
    }
  | {
      type: 'OIDC';
      name: string;
      issuerUrl: string;
      clientId: string;
      /** Secrets Manager secret (name or ARN) holding the client secret: never in context. */
      clientSecretName: string;
      accountIdAttribute?: string;
    };

/** Log retentions CloudWatch accepts; anything else would fail at deploy time. */
const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/** Reads and checks the context; throws a sentence naming the bad value. */
export function readSettings(node: Node): DeploySettings {
  const text = (key: string): string | undefined => {
    const value: unknown = node.tryGetContext(key);
    if (value === undefined || value === null || value === '') return undefined;
    return typeof value === 'string' ? value : JSON.stringify(value);
  };
  const stage = text('stage') ?? 'dev';
  if (!/^[a-z][a-z0-9-]{0,19}$/.test(stage)) throw new Error(`Context "stage" must be 1-20 lowercase letters, digits or dashes, starting with a letter; got "${stage}"`);

  const senderEmail = text('senderEmail');
  if (!senderEmail) throw new Error('Context "senderEmail" is required: pass -c senderEmail=backups@your-domain.example (an SES identity you can verify)');
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(senderEmail)) throw new Error(`Context "senderEmail" is not an email address: "${senderEmail}"`);

  const domainName = text('domainName');
  const certificateArn = text('certificateArn');
  if (domainName && !certificateArn) throw new Error('Context "domainName" needs "certificateArn": an ACM certificate in us-east-1 for that name');
  if (certificateArn && !/^arn:aws[a-z-]*:acm:us-east-1:\d{12}:certificate\//.test(certificateArn))
    throw new Error('Context "certificateArn" must be an ACM certificate ARN in us-east-1 (CloudFront only uses certificates from that region)');

  const authDomainPrefix = text('authDomainPrefix');
  if (authDomainPrefix && !/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(authDomainPrefix))
    throw new Error(`Context "authDomainPrefix" must be lowercase letters, digits and dashes; got "${authDomainPrefix}"`);
  if (authDomainPrefix && /aws|amazon|cognito/.test(authDomainPrefix)) throw new Error('Context "authDomainPrefix" may not contain "aws", "amazon" or "cognito" (Cognito refuses them)');

  const retention = Number(text('logRetentionDays') ?? 30);
  if (!RETENTION_DAYS.includes(retention)) throw new Error(`Context "logRetentionDays" must be one of ${RETENTION_DAYS.join(', ')}; got ${retention}`);

  const logLevel = (text('logLevel') ?? 'INFO').toUpperCase();
  if (!['DEBUG', 'INFO', 'WARN', 'ERROR'].includes(logLevel)) throw new Error(`Context "logLevel" must be DEBUG, INFO, WARN or ERROR; got "${logLevel}"`);

  const mfa = text('mfa') ?? 'required';
  if (mfa !== 'required' && mfa !== 'optional') throw new Error(`Context "mfa" must be "required" or "optional"; got "${mfa}"`);

  const reservedConcurrency = text('reservedConcurrency') ?? 'true';
  if (reservedConcurrency !== 'true' && reservedConcurrency !== 'false')
    throw new Error(`Context "reservedConcurrency" must be "true" or "false"; got "${reservedConcurrency}"`);

  return {
    stage,
    mfa,
    reservedConcurrency: reservedConcurrency === 'true',
    senderEmail,
    domainName,
    certificateArn,
    authDomainPrefix,
    sso: parseSso(node.tryGetContext('sso')),
    alarmEmail: text('alarmEmail'),
    logRetentionDays: retention,
    logLevel: logLevel as DeploySettings['logLevel'],
    webAssetsDir: text('webAssetsDir'),
  };
}

function parseSso(raw: unknown): SsoSettings | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  const value = (typeof raw === 'string' ? JSON.parse(raw) : raw) as Record<string, unknown>;
  const need = (key: string): string => {
    const field = value[key];
    if (typeof field !== 'string' || !field) throw new Error(`Context "sso" of type ${String(value.type)} needs "${key}"`);
    return field;
  };
  const accountIdAttribute = typeof value.accountIdAttribute === 'string' ? value.accountIdAttribute : undefined;
  if (value.type === 'SAML') return { type: 'SAML', name: need('name'), metadataUrl: need('metadataUrl'), accountIdAttribute };
  if (value.type === 'OIDC')
    return { type: 'OIDC', name: need('name'), issuerUrl: need('issuerUrl'), clientId: need('clientId'), clientSecretName: need('clientSecretName'), accountIdAttribute };
  throw new Error('Context "sso" must be {"type":"SAML",...} or {"type":"OIDC",...}');
}
