import { ErrorResponse, UserManager, type User } from 'oidc-client-ts';

/**
 * Who is signed in. Locally: pick a demo user (POST /local/sign-in). In AWS: the
 * Cognito hosted UI with the OAuth 2.0 authorization code flow and PKCE, through
 * oidc-client-ts (no client secret in the page). The ID token is the bearer token: it
 * carries `email`, `custom:accountId`, `cognito:groups` and, for SSO users,
 * `identities`, which is what the API and this page read. It lives an hour, so the
 * session is kept alive with Cognito's refresh token, renewed shortly before the ID
 * token expires; when that fails (the refresh token expired or was revoked), the
 * user is signed out and asked to sign in again.
 */

/**
 * `/config.json`: written by the CDK in AWS (mode "aws", with the Cognito hosted UI's
 * domain and the app client id), served by the local runtime locally (local/web-assets.ts).
 */
export interface WebConfig {
  /** Base URL of the HTTP API; "" means the page's own origin. */
  apiUrl: string;
  mode: 'aws' | 'local';
  /** Cognito hosted UI domain, e.g. `https://crm-backup-123.auth.eu-west-1.amazoncognito.com`. */
  cognitoDomain?: string;
  clientId?: string;
  region?: string;
}

export interface Session {
  token: string;
  email: string;
  /** Signed in through a federated identity provider: no TOTP needed for restores. */
  sso: boolean;
  superAdmin: boolean;
  expiresAt: number;
}

/** Signing in and out, and the current session with a usable token, in either mode. */
export interface Sessions {
  /** The signed-in user with an ID token that is not about to expire; undefined when signed out. */
  current(): Promise<Session | undefined>;
  /** True once, after a session ended by itself (expired, could not be renewed, or refused by the API). */
  takeEnded(): boolean;
  /** Drops the session here because the API refused its token. */
  end(): Promise<void>;
  /** Forgets the session here; answers where to send the browser to end it at the identity provider too. */
  signOut(): Promise<string | undefined>;
}

const RETURN_KEY = 'crm-backup.returnTo';
const STALE_SIGN_IN = 'This sign-in link is stale or was not started here; sign in again.';

export async function loadConfig(): Promise<WebConfig> {
  const response = await fetch('/config.json', { cache: 'no-store' });
  if (!response.ok) throw new Error('The page could not load its configuration (/config.json).');
  return (await response.json()) as WebConfig;
}

/** Reads the claims the page needs; the API verifies the signature, the page only displays. */
export function sessionFromToken(token: string): Session | undefined {
  try {
    const payload = JSON.parse(base64UrlDecode(token.split('.')[1] ?? '')) as Record<string, unknown>;
    const groups = payload['cognito:groups'];
    const groupList = Array.isArray(groups) ? groups.map(String) : typeof groups === 'string' ? groups.split(/[\s,[\]]+/) : [];
    return {
      token,
      email: typeof payload.email === 'string' ? payload.email : String(payload.sub ?? ''),
      sso: payload.identities !== undefined && payload.identities !== null && payload.identities !== '',
      superAdmin: groupList.includes('super-admins'),
      expiresAt: typeof payload.exp === 'number' ? payload.exp * 1000 : Date.now() + 3600_000,
    };
  } catch {
    return undefined;
  }
}

/**
 * How long before its expiry a token is renewed: a minute, or a quarter of its
 * lifetime for shorter-lived tokens, so a request never leaves with a token that
 * expires on the way.
 */
function renewBefore(token: string): number {
  const payload = JSON.parse(base64UrlDecode(token.split('.')[1] ?? '')) as { iat?: number; exp?: number };
  const lifetime = payload.exp !== undefined && payload.iat !== undefined ? (payload.exp - payload.iat) * 1000 : 3600_000;
  return Math.min(60_000, lifetime / 4);
}

/** Remembers where to go after signing in (the email link's `/backups/{id}`). */
export function rememberReturnTo(path: string): void {
  sessionStorage.setItem(RETURN_KEY, path);
}

export function takeReturnTo(): string {
  const path = sessionStorage.getItem(RETURN_KEY) ?? '/backups';
  sessionStorage.removeItem(RETURN_KEY);
  // Only same-site paths: a crafted value must not send the user elsewhere.
  return path.startsWith('/') && !path.startsWith('//') ? path : '/backups';
}

/** The local runtime: a demo user's token in sessionStorage; it cannot be renewed (it lasts 8 hours). */
export class LocalSessions implements Sessions {
  private static readonly KEY = 'crm-backup.token';
  private readonly apiUrl: string;
  private ended = false;

  constructor(apiUrl: string) {
    this.apiUrl = apiUrl;
  }

  async current(): Promise<Session | undefined> {
    const token = sessionStorage.getItem(LocalSessions.KEY);
    if (!token) return undefined;
    const session = sessionFromToken(token);
    if (session && session.expiresAt - Date.now() > renewBefore(token)) return session;
    sessionStorage.removeItem(LocalSessions.KEY);
    this.ended = true;
    return undefined;
  }

  takeEnded(): boolean {
    const ended = this.ended;
    this.ended = false;
    return ended;
  }

  async end(): Promise<void> {
    sessionStorage.removeItem(LocalSessions.KEY);
    this.ended = true;
  }

  async signIn(email: string): Promise<void> {
    const response = await fetch(`${this.apiUrl}/local/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email }) });
    const body = (await response.json().catch(() => ({}))) as { token?: string; error?: { message?: string } };
    if (!response.ok || !body.token) throw new Error(body.error?.message ?? `Sign-in failed (HTTP ${response.status}).`);
    sessionStorage.setItem(LocalSessions.KEY, body.token);
  }

  async signOut(): Promise<string | undefined> {
    sessionStorage.removeItem(LocalSessions.KEY);
    return undefined;
  }
}

/**
 * AWS: Cognito's hosted UI through oidc-client-ts. The user (tokens included) is kept
 * where the library keeps it by default, in this tab's sessionStorage; the sign-in's
 * state and PKCE verifier in localStorage until the callback uses them.
 */
export class CognitoSessions implements Sessions {
  private readonly manager: UserManager;
  private readonly config: WebConfig & { cognitoDomain: string; clientId: string };
  private renewing: Promise<User | undefined> | undefined;
  private ended = false;

  constructor(config: WebConfig) {
    if (!config.cognitoDomain || !config.clientId) throw new Error('Sign-in is not configured: /config.json has no cognitoDomain or clientId.');
    this.config = { ...config, cognitoDomain: config.cognitoDomain, clientId: config.clientId };
    const endpoint = (path: string) => new URL(path, config.cognitoDomain).toString();
    this.manager = new UserManager({
      authority: config.cognitoDomain,
      // Cognito's hosted UI publishes no discovery document; the endpoints are fixed paths.
      // The issuer is only a label here: API Gateway verifies the tokens, the page reads them.
      metadata: {
        issuer: config.cognitoDomain,
        authorization_endpoint: endpoint('/oauth2/authorize'),
        token_endpoint: endpoint('/oauth2/token'),
        revocation_endpoint: endpoint('/oauth2/revoke'),
      },
      client_id: config.clientId,
      redirect_uri: `${location.origin}/`,
      response_type: 'code',
      scope: 'openid email profile',
      // Renewed on demand against the ID token's own expiry (the bearer token), not the
      // access token's, which the library's timer would follow.
      automaticSilentRenew: false,
    });
  }

  /** Sends the browser to the hosted UI (code flow with a PKCE challenge). */
  async signIn(): Promise<void> {
    await this.manager.signinRedirect();
  }

  /** `/?code&state` → exchanges the code (with the PKCE verifier) for tokens. */
  async finishSignIn(): Promise<void> {
    try {
      await this.manager.signinRedirectCallback();
    } catch (error) {
      if (error instanceof ErrorResponse) throw new Error(error.error_description ?? `Sign-in failed: ${error.error}.`);
      throw new Error(STALE_SIGN_IN);
    }
  }

  async current(): Promise<Session | undefined> {
    const user = await this.manager.getUser();
    if (!user?.id_token) return undefined;
    const session = sessionFromToken(user.id_token);
    if (session && session.expiresAt - Date.now() > renewBefore(user.id_token)) return session;
    const renewed = await this.renew();
    return renewed?.id_token ? sessionFromToken(renewed.id_token) : undefined;
  }

  takeEnded(): boolean {
    const ended = this.ended;
    this.ended = false;
    return ended;
  }

  async end(): Promise<void> {
    await this.manager.removeUser();
    this.ended = true;
  }

  /** One refresh-token grant at a time, however many requests need a fresh token. */
  private renew(): Promise<User | undefined> {
    this.renewing ??= this.manager
      .signinSilent()
      .then((user) => user ?? undefined)
      .catch(async () => {
        // The refresh token expired or was revoked: the session is over.
        await this.end();
        return undefined;
      })
      .finally(() => (this.renewing = undefined));
    return this.renewing;
  }

  async signOut(): Promise<string | undefined> {
    // Revoking the refresh token ends the session for good, not just in this tab; if
    // Cognito cannot be reached, signing out here still goes on.
    await this.manager.revokeTokens(['refresh_token']).catch(() => undefined);
    await this.manager.removeUser();
    const url = new URL('/logout', this.config.cognitoDomain);
    url.search = new URLSearchParams({ client_id: this.config.clientId, logout_uri: `${location.origin}/` }).toString();
    return url.toString();
  }
}

/** Cognito came back to the page with a code (or an error) to finish the sign-in. */
export function isSignInCallback(query: URLSearchParams): boolean {
  return query.has('state') && (query.has('code') || query.has('error'));
}

function base64UrlDecode(text: string): string {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(text.length / 4) * 4, '=');
  const binary = atob(base64);
  return new TextDecoder().decode(Uint8Array.from(binary, (char) => char.charCodeAt(0)));
}
