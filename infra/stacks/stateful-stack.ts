import { CfnOutput, Duration, Fn, RemovalPolicy, SecretValue, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpUserPoolAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as ses from 'aws-cdk-lib/aws-ses';
import type { Construct } from 'constructs';
import { TABLES, type TableSchema } from '#service/tables.ts';
import { contentSecurityPolicy } from '../../web/content-security-policy.ts';
import { backupKeyPolicy, guardBackupBucket, secretsKeyPolicy, type TrustedPrincipals } from '../data-access-policies.ts';
import { permissionsTable, type BucketPrefix } from '../permissions.ts';
import type { DeploySettings } from '../settings.ts';
import { breakGlassRoleName, keyAdminRoleName } from '../trusted-roles.ts';
import { reviewWildcards } from '../wildcard-review.ts';

/** Days a backup zip (and the plan files computed from it) can be downloaded: PRODUCT.md. */
export const BACKUP_RETENTION_DAYS = 14;
/** S3 prefixes whose objects expire after BACKUP_RETENTION_DAYS. */
export const EXPIRING_PREFIXES: BucketPrefix[] = ['backups/', 'plans/', 'comparisons/'];
/** The Cognito group whose members may back up and restore (the handlers check this claim). */
export const SUPER_ADMINS_GROUP = 'super-admins';

export interface StatefulStackProps extends StackProps {
  settings: DeploySettings;
}

/**
 * Everything that holds data or identity and must outlive code deployments: the
 * tables, the backup bucket and its keys, the user pool, the change-event bus, the
 * sender identity, and the web page's front door (its URL is baked into the user pool
 * client's callback URLs, so it lives here and the stateless stack only uploads files).
 * Data resources are RETAIN: `cdk destroy` never deletes backups, records or users.
 */
export class StatefulStack extends Stack {
  readonly tables: Record<TableSchema['id'], dynamodb.Table>;
  readonly backupBucket: s3.Bucket;
  readonly secretsKey: kms.Key;
  /** Reads backups/, plans/ and comparisons/ when the service cannot; assumed with MFA (docs/security.md). */
  readonly breakGlassRole: iam.Role;
  readonly userPool: cognito.UserPool;
  readonly webClient: cognito.UserPoolClient;
  readonly authDomain: cognito.UserPoolDomain;
  readonly changeEventBus: events.EventBus;
  readonly senderIdentity: ses.EmailIdentity;
  readonly webBucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  /**
   * The HTTP API itself (its routes, stage and CORS are code, in the stateless stack):
   * its address is part of the web page's Content-Security-Policy, which CloudFront
   * sends from here.
   */
  readonly api: apigw.HttpApi;
  /** The Cognito JWT authorizer every route names. */
  readonly apiAuthorizer: HttpUserPoolAuthorizer;
  /** `https://…` where the web page is served; emails link here. */
  readonly appUrl: string;

  constructor(scope: Construct, id: string, props: StatefulStackProps) {
    super(scope, id, props);
    const { settings } = props;

    // Server access logs of both buckets and the CloudFront logs: evidence of who
    // downloaded what, so it is kept like the data (RETAIN). S3 log delivery only
    // writes SSE-S3 objects, and CloudFront's standard logs need ACLs (BUCKET_OWNER_PREFERRED).
    const logsBucket = new s3.Bucket(this, 'LogsBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(365) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(logsBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the access-log bucket itself; logging it into itself would loop, and S3 has no other sink for server access logs.',
    });

    // Who administers the keys and who may read backups when the service cannot: named
    // roles, assumable only with MFA by principals of this account that IAM allows to.
    const assumedWithMfa = new iam.AccountRootPrincipal().withConditions({ Bool: { 'aws:MultiFactorAuthPresent': 'true' } });
    const keyAdmin = new iam.Role(this, 'KeyAdminRole', {
      roleName: keyAdminRoleName(settings.stage),
      assumedBy: assumedWithMfa,
      maxSessionDuration: Duration.hours(1),
      description: 'Administers the backup and secrets keys (policy, rotation, deletion); cannot encrypt or decrypt',
    });
    this.breakGlassRole = new iam.Role(this, 'BreakGlassRole', {
      roleName: breakGlassRoleName(settings.stage),
      assumedBy: assumedWithMfa,
      maxSessionDuration: Duration.hours(1),
      description: 'Break glass: reads backups/ and plans/ of the backup bucket when the service cannot; every use is in CloudTrail',
    });
    const trusted: TrustedPrincipals = { stage: settings.stage, permissions: permissionsTable(settings), keyAdmin, breakGlass: this.breakGlassRole };

    // Keys are RETAIN: deleting one would make the retained tables and backups unreadable.
    const dataKey = new kms.Key(this, 'DataKey', {
      description: 'Encrypts the CRM data and app tables',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const backupKey = new kms.Key(this, 'BackupKey', {
      description: 'Encrypts backup zips, exported CSVs and restore plans in the backup bucket',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
      policy: backupKeyPolicy(this, trusted),
    });
    this.secretsKey = new kms.Key(this, 'SecretsKey', {
      description: 'Wraps per-user TOTP secrets for restore re-authentication',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
      policy: secretsKeyPolicy(this, trusted),
    });

    const tables = {} as Record<TableSchema['id'], dynamodb.Table>;
    for (const schema of TABLES) {
      const table = new dynamodb.Table(this, schema.id, {
        partitionKey: { name: schema.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: schema.sortKey, type: dynamodb.AttributeType.STRING },
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
        encryptionKey: dataKey,
        timeToLiveAttribute: schema.ttlAttribute,
        removalPolicy: RemovalPolicy.RETAIN,
        // RETAIN survives `cdk destroy`; this also refuses a DeleteTable from anyone.
        deletionProtection: true,
      });
      for (const index of schema.globalIndexes) {
        table.addGlobalSecondaryIndex({
          indexName: index.name,
          partitionKey: { name: index.partitionKey, type: dynamodb.AttributeType.STRING },
          sortKey: { name: index.sortKey, type: dynamodb.AttributeType.STRING },
          projectionType: dynamodb.ProjectionType.ALL,
        });
      }
      tables[schema.id] = table;
    }
    this.tables = tables;

    this.backupBucket = new s3.Bucket(this, 'BackupBucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: backupKey,
      // One data key per bucket rather than per object: far fewer KMS calls while
      // exports write millions of parts.
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // No versioning: an expired backup must really be gone after 14 days, and
      // versioning would keep noncurrent copies of sensitive data behind delete markers.
      versioned: false,
      lifecycleRules: [
        ...EXPIRING_PREFIXES.map((prefix) => ({
          id: `expire-${prefix.replace(/\/$/, '')}`,
          prefix,
          expiration: Duration.days(BACKUP_RETENTION_DAYS),
        })),
        // An export that died mid-upload leaves invisible parts that cost money forever.
        { id: 'abort-incomplete-multipart-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      serverAccessLogsBucket: logsBucket,
      serverAccessLogsPrefix: 'backup-bucket/',
      removalPolicy: RemovalPolicy.RETAIN,
    });
    guardBackupBucket(this.backupBucket, backupKey, EXPIRING_PREFIXES, trusted);
    // The break-glass role reads (never writes or deletes) the two prefixes, and lists only them.
    this.breakGlassRole.addToPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: EXPIRING_PREFIXES.map((prefix) => this.backupBucket.arnForObjects(`${prefix}*`)) }));
    this.breakGlassRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [this.backupBucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': EXPIRING_PREFIXES.map((prefix) => `${prefix}*`) } },
      }),
    );

    this.changeEventBus = new events.EventBus(this, 'ChangeEventBus', {
      description: 'Record change events from the CRM data plane; restores mark theirs with source RESTORE',
    });

    this.senderIdentity = new ses.EmailIdentity(this, 'SenderIdentity', {
      identity: ses.Identity.email(settings.senderEmail),
    });

    this.webBucket = new s3.Bucket(this, 'WebBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: logsBucket,
      serverAccessLogsPrefix: 'web-bucket/',
      // Only built assets live here; RETAIN keeps `cdk destroy` from failing on a
      // non-empty bucket without a custom resource to empty it (docs/deploy.md, Teardown).
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // Identity: admins are invited (no self sign-up); `custom:accountId` names the tenant.
    this.userPool = new cognito.UserPool(this, 'UserPool', {
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      autoVerify: { email: true },
      standardAttributes: { email: { required: true, mutable: true } },
      // Mutable only because federated sign-ins rewrite mapped attributes on every
      // sign-in (Cognito requires it); users still cannot change it: see the client below.
      customAttributes: { accountId: new cognito.StringAttribute({ minLen: 1, maxLen: 64, mutable: true }) },
      passwordPolicy: { minLength: 12, requireLowercase: true, requireUppercase: true, requireDigits: true, requireSymbols: true },
      // Admins of backups hold every tenant's export: TOTP MFA for everyone who signs
      // in with a password (federated users get MFA from their IdP).
      mfa: settings.mfa === 'required' ? cognito.Mfa.REQUIRED : cognito.Mfa.OPTIONAL,
      mfaSecondFactor: { otp: true, sms: false },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      featurePlan: cognito.FeaturePlan.ESSENTIALS,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    if (settings.mfa === 'optional')
      Validations.of(this.userPool).acknowledge({
        id: 'AwsSolutions-COG2',
        reason:
          "The operator chose -c mfa=optional, so a password alone signs in (this client cannot enrol TOTP in Cognito: it has no aws.cognito.signin.user.admin scope). Every restore and every backup download therefore asks for the service's own TOTP code, unless the user signed in through SSO, whose identity provider does MFA (REAUTHENTICATE_DOWNLOADS, docs/security.md).",
      });
    Validations.of(this.userPool).acknowledge({
      id: 'AwsSolutions-COG8',
      reason: 'Plus tier (threat protection) is billed per monthly active user; the pool only holds a few invited super admins with TOTP MFA required. Upgrade the feature plan if your policy asks for adaptive authentication.',
    });
    new cognito.UserPoolGroup(this, 'SuperAdminsGroup', {
      userPool: this.userPool,
      groupName: SUPER_ADMINS_GROUP,
      description: 'May create, download and restore backups of their account',
    });

    const providers: cognito.UserPoolClientIdentityProvider[] = [cognito.UserPoolClientIdentityProvider.COGNITO];
    const idp = settings.sso ? this.addSso(settings.sso) : undefined;
    if (idp) providers.push(cognito.UserPoolClientIdentityProvider.custom(idp.providerName));

    // Cognito domain prefixes are global: derive one from stage and account unless given.
    const domainPrefix = settings.authDomainPrefix ?? Fn.join('-', ['crm-backup', settings.stage, this.account]);
    this.authDomain = this.userPool.addDomain('HostedSignIn', { cognitoDomain: { domainPrefix } });

    // The web page: a private bucket behind CloudFront (Origin Access Control).
    const certificate = settings.certificateArn ? acm.Certificate.fromCertificateArn(this, 'WebCertificate', settings.certificateArn) : undefined;
    const webOrigin = origins.S3BucketOrigin.withOriginAccessControl(this.webBucket);

    // The HTTP API: created here, before the page's front door, because the page's
    // Content-Security-Policy names it. Routes, stage, throttling and CORS are code
    // (stateless stack); the authorizer every route names belongs to the API.
    this.api = new apigw.HttpApi(this, 'Api', { description: 'crm-backup public API (docs/API.md)', createDefaultStage: false });

    // Every behaviour, /config.json included, gets the page's strict policy (finding 12 of
    // issue 13): the ID token in sessionStorage is enough to download a whole tenant.
    const securityHeaders = new cloudfront.ResponseHeadersPolicy(this, 'WebSecurityHeaders', {
      comment: `crm-backup web page (${settings.stage}): CSP, HSTS, no framing, no sniffing, no referrer`,
      securityHeadersBehavior: {
        contentSecurityPolicy: { contentSecurityPolicy: contentSecurityPolicy([this.api.apiEndpoint, this.authDomain.baseUrl()]), override: true },
        strictTransportSecurity: { accessControlMaxAge: Duration.days(365), includeSubdomains: true, override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        contentTypeOptions: { override: true },
        // The sign-in callback carries ?code= in the URL: never send it anywhere.
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.NO_REFERRER, override: true },
      },
    });
    this.distribution = new cloudfront.Distribution(this, 'WebDistribution', {
      comment: `crm-backup web page (${settings.stage})`,
      defaultRootObject: 'index.html',
      defaultBehavior: {
        origin: webOrigin,
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        responseHeadersPolicy: securityHeaders,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
      },
      additionalBehaviors: {
        // Rewritten on every deploy (API URL, client id): never cached.
        '/config.json': {
          origin: webOrigin,
          viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
          responseHeadersPolicy: securityHeaders,
          cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
        },
      },
      // The page routes on the client (`/backups/{id}` from the email link): unknown
      // paths answer index.html. The bucket is private, so a missing key is a 403.
      errorResponses: [403, 404].map((httpStatus) => ({ httpStatus, responseHttpStatus: 200, responsePagePath: '/index.html', ttl: Duration.seconds(0) })),
      domainNames: settings.domainName ? [settings.domainName] : undefined,
      certificate,
      // Only a custom certificate can raise the viewer TLS floor (see CFR4 below).
      minimumProtocolVersion: certificate ? cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021 : undefined,
      enableLogging: true,
      logBucket: logsBucket,
      logFilePrefix: 'cloudfront/',
    });
    Validations.of(this.distribution).acknowledge({
      id: 'AwsSolutions-CFR1',
      reason: 'Super admins of any country use the page; every API call behind it is authenticated, so geo restriction adds nothing.',
    });
    Validations.of(this.distribution).acknowledge({
      id: 'AwsSolutions-CFR2',
      reason: 'The distribution serves static, public assets only (no data, no forms); the API has its own throttling. Attach a WAF web ACL per organisation policy if required.',
    });
    if (!certificate)
      Validations.of(this.distribution).acknowledge({
        id: 'AwsSolutions-CFR4',
        reason: 'Without -c domainName/certificateArn the page uses the default *.cloudfront.net certificate, whose policy CloudFront fixes at TLSv1; pass a custom domain to enforce TLSv1.2_2021.',
      });
    this.appUrl = settings.domainName ? `https://${settings.domainName}` : `https://${this.distribution.distributionDomainName}`;

    // The page finishes the code flow at its root, where it recognises ?code=&state=
    // (redirectUri in web/src/auth.ts), and signs out to the root as well.
    const callbackUrls = [`${this.appUrl}/`];
    const logoutUrls = [`${this.appUrl}/`];
    this.webClient = this.userPool.addClient('WebClient', {
      generateSecret: false, // a browser app cannot keep a secret: code flow with PKCE
      // Tokens come only from the hosted sign-in (OAuth), never from SRP/password calls,
      // and without the aws.cognito.signin.user.admin scope: a signed-in user cannot
      // call UpdateUserAttributes on their own `custom:accountId`.
      authFlows: { userSrp: false },
      oAuth: {
        flows: { authorizationCodeGrant: true },
        scopes: [cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
        callbackUrls,
        logoutUrls,
      },
      supportedIdentityProviders: providers,
      readAttributes: new cognito.ClientAttributes().withStandardAttributes({ email: true, emailVerified: true }).withCustomAttributes('accountId'),
      // Federation writes mapped attributes through the client, so it needs write access
      // to them; the OAuth-only client above keeps users from using it themselves.
      writeAttributes: idp
        ? new cognito.ClientAttributes().withStandardAttributes({ email: true }).withCustomAttributes('accountId')
        : new cognito.ClientAttributes(),
      preventUserExistenceErrors: true,
      idTokenValidity: Duration.hours(1),
      accessTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.hours(12),
    });
    if (idp) this.webClient.node.addDependency(idp);

    // The ID token is the bearer: its audience is the web client, its issuer the pool.
    this.apiAuthorizer = new HttpUserPoolAuthorizer('CognitoAuthorizer', this.userPool, {
      userPoolClients: [this.webClient],
      identitySource: ['$request.header.Authorization'],
    });

    new CfnOutput(this, 'AppUrl', { value: this.appUrl, description: 'The web page' });
    new CfnOutput(this, 'UserPoolId', { value: this.userPool.userPoolId, description: 'Create the first super admin here (infra/create-super-admin.sh)' });
    new CfnOutput(this, 'DataTableName', { value: this.tables.DataTable.tableName, description: 'CRM data plane table (infra/seed-demo-data.ts)' });
    new CfnOutput(this, 'BackupBucketName', { value: this.backupBucket.bucketName, description: 'Backups (RETAIN: survives cdk destroy)' });
    new CfnOutput(this, 'BreakGlassRoleArn', { value: this.breakGlassRole.roleArn, description: 'Assume with MFA to read backups when the service cannot (docs/security.md)' });
    reviewWildcards(this);
  }

  private addSso(sso: NonNullable<DeploySettings['sso']>): cognito.IUserPoolIdentityProvider {
    const accountId = cognito.ProviderAttribute.other(sso.accountIdAttribute ?? 'accountId');
    if (sso.type === 'SAML')
      return new cognito.UserPoolIdentityProviderSaml(this, 'SsoProvider', {
        userPool: this.userPool,
        name: sso.name,
        metadata: cognito.UserPoolIdentityProviderSamlMetadata.url(sso.metadataUrl),
        attributeMapping: {
          email: cognito.ProviderAttribute.other('http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress'),
          custom: { 'custom:accountId': accountId },
        },
      });
    return new cognito.UserPoolIdentityProviderOidc(this, 'SsoProvider', {
      userPool: this.userPool,
      name: sso.name,
      issuerUrl: sso.issuerUrl,
      clientId: sso.clientId,
      // A CloudFormation dynamic reference: the secret never appears in the template.
      clientSecret: SecretValue.secretsManager(sso.clientSecretName).unsafeUnwrap(),
      scopes: ['openid', 'email', 'profile'],
      attributeMapping: { email: cognito.ProviderAttribute.other('email'), custom: { 'custom:accountId': accountId } },
    });
  }
}
