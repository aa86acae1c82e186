import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type JWK, type JWTPayload } from 'jose';

/** A user of the local runtime's demo accounts (API.md, "Only in the local runtime"). */
export interface DemoUser {
  email: string;
  sub: string;
  accountId: string;
  superAdmin: boolean;
  /** Signed in through a federated identity provider, as Cognito marks it. */
  sso: boolean;
}

export const DEMO_USERS: DemoUser[] = [
  { email: 'admin@acme.example', sub: 'user-acme-admin', accountId: 'acme', superAdmin: true, sso: false },
  { email: 'sso-admin@acme.example', sub: 'user-acme-sso-admin', accountId: 'acme', superAdmin: true, sso: true },
  { email: 'user@acme.example', sub: 'user-acme-user', accountId: 'acme', superAdmin: false, sso: false },
  { email: 'admin@globex.example', sub: 'user-globex-admin', accountId: 'globex', superAdmin: true, sso: false },
  // initech's data source is the demo HubSpot portal (local/demo-source.ts).
  { email: 'admin@initech.example', sub: 'user-initech-admin', accountId: 'initech', superAdmin: true, sso: false },
  { email: 'sso-admin@initech.example', sub: 'user-initech-sso-admin', accountId: 'initech', superAdmin: true, sso: true },
];

const ISSUER = 'crm-backup-local';
const AUDIENCE = 'crm-backup';
const ALGORITHM = 'ES256';
const TOKEN_LIFETIME = '8h';

/**
 * The local stand-in for Cognito: issues tokens with the claims a Cognito user pool
 * puts in its ID tokens, and verifies them the way API Gateway's JWT authorizer does
 * (signature, issuer, audience, expiry; only ES256, so `alg: none` is refused).
 * The key pair is kept in DATA_DIR so that tokens survive a restart.
 */
export class LocalIssuer {
  private readonly privateKey: CryptoKey;
  private readonly publicKey: CryptoKey;

  private constructor(privateKey: CryptoKey, publicKey: CryptoKey) {
    this.privateKey = privateKey;
    this.publicKey = publicKey;
  }

  static async open(keyFile: string): Promise<LocalIssuer> {
    const stored = await readFile(keyFile, 'utf8').then((text) => JSON.parse(text) as { privateJwk: JWK; publicJwk: JWK }).catch(() => undefined);
    if (stored) {
      return new LocalIssuer(
        (await importJWK(stored.privateJwk, ALGORITHM)) as CryptoKey,
        (await importJWK(stored.publicJwk, ALGORITHM)) as CryptoKey,
      );
    }
    const { privateKey, publicKey } = await generateKeyPair(ALGORITHM, { extractable: true });
    await mkdir(dirname(keyFile), { recursive: true });
    await writeFile(keyFile, JSON.stringify({ privateJwk: await exportJWK(privateKey), publicJwk: await exportJWK(publicKey) }), { mode: 0o600 });
    return new LocalIssuer(privateKey, publicKey);
  }

  /** Signs an ID token for a demo user, with Cognito's claim names (tests shorten its `lifetime`, a jose time span). */
  async signIn(user: DemoUser, lifetime: string = TOKEN_LIFETIME): Promise<string> {
    return this.sign({
      email: user.email,
      'custom:accountId': user.accountId,
      'cognito:groups': user.superAdmin ? ['super-admins'] : [],
      ...(user.sso ? { identities: JSON.stringify([{ providerName: 'AcmeSSO', providerType: 'SAML' }]) } : {}),
    }, user.sub, lifetime);
  }

  /** Signs arbitrary claims (tests use it for tokens with missing or odd claims). */
  async sign(claims: JWTPayload, subject: string, lifetime: string | number = TOKEN_LIFETIME): Promise<string> {
    return new SignJWT(claims)
      .setProtectedHeader({ alg: ALGORITHM })
      .setSubject(subject)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(lifetime)
      .sign(this.privateKey);
  }

  /**
   * Verifies a bearer token and answers its claims as API Gateway hands them to a
   * Lambda: arrays flattened to `"[a b]"` strings. Throws on any invalid token.
   */
  async verify(token: string): Promise<Record<string, string>> {
    const { payload } = await jwtVerify(token, this.publicKey, { issuer: ISSUER, audience: AUDIENCE, algorithms: [ALGORITHM] });
    const claims: Record<string, string> = {};
    for (const [name, value] of Object.entries(payload)) {
      claims[name] = Array.isArray(value) ? `[${value.join(' ')}]` : typeof value === 'string' ? value : JSON.stringify(value);
    }
    return claims;
  }
}
