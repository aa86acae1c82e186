/**
 * Who is signed in. Locally: pick a demo user (POST /local/sign-in). In AWS: the
 * Cognito hosted UI with the OAuth 2.0 authorization code flow and PKCE (no client
 * secret in the page; the verifier never leaves this tab). The ID token is the
 * bearer token: it carries `email`, `custom:accountId`, `cognito:groups` and, for
 * SSO users, `identities`, which is what the API and this page read.
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

const TOKEN_KEY = 'crm-backup.token';
const RETURN_KEY = 'crm-backup.returnTo';
const PKCE_KEY = 'crm-backup.pkce';

export async function loadConfig(): Promise<WebConfig> {
  const response = await fetch('/config.json', { cache: 'no-store' });
  if (!response.ok) throw new Error('The page could not load its configuration (/config.json).');
  return (await response.json()) as WebConfig;
}

/** The current session, or undefined when signed out or the token has expired. */
export function currentSession(): Session | undefined {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) return undefined;
  const session = sessionFromToken(token);
  if (!session || session.expiresAt <= Date.now()) {
    sessionStorage.removeItem(TOKEN_KEY);
    return undefined;
  }
  return session;
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

export function storeToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function signOutLocally(): void {
  sessionStorage.removeItem(TOKEN_KEY);
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

/** Local runtime: a token for a demo user. */
export async function signInLocally(apiUrl: string, email: string): Promise<void> {
  const response = await fetch(`${apiUrl}/local/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email }) });
  const body = (await response.json().catch(() => ({}))) as { token?: string; error?: { message?: string } };
  if (!response.ok || !body.token) throw new Error(body.error?.message ?? `Sign-in failed (HTTP ${response.status}).`);
  storeToken(body.token);
}

/** AWS: sends the browser to the Cognito hosted UI with a PKCE challenge. */
export async function startCognitoSignIn(config: WebConfig): Promise<void> {
  if (!config.cognitoDomain || !config.clientId) throw new Error('Sign-in is not configured: /config.json has no cognitoDomain or clientId.');
  const verifier = base64UrlEncode(crypto.getRandomValues(new Uint8Array(32)));
  const state = base64UrlEncode(crypto.getRandomValues(new Uint8Array(16)));
  const challenge = base64UrlEncode(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state }));
  const url = new URL('/oauth2/authorize', config.cognitoDomain);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: config.clientId,
    redirect_uri: redirectUri(),
    scope: 'openid email profile',
    code_challenge_method: 'S256',
    code_challenge: challenge,
    state,
  }).toString();
  location.assign(url.toString());
}

/** AWS: `/?code&state` → exchanges the code (with the PKCE verifier) for tokens. */
export async function finishCognitoSignIn(config: WebConfig, query: URLSearchParams): Promise<void> {
  const stored = JSON.parse(sessionStorage.getItem(PKCE_KEY) ?? 'null') as { verifier: string; state: string } | null;
  sessionStorage.removeItem(PKCE_KEY);
  if (query.get('error')) throw new Error(query.get('error_description') ?? `Sign-in failed: ${query.get('error')}.`);
  const code = query.get('code');
  if (!stored || !code || query.get('state') !== stored.state) throw new Error('This sign-in link is stale or was not started here; sign in again.');
  const response = await fetch(new URL('/oauth2/token', config.cognitoDomain).toString(), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', client_id: config.clientId ?? '', code, redirect_uri: redirectUri(), code_verifier: stored.verifier }),
  });
  const body = (await response.json().catch(() => ({}))) as { id_token?: string; error?: string };
  if (!response.ok || !body.id_token) throw new Error(`Sign-in failed: ${body.error ?? `HTTP ${response.status}`}.`);
  storeToken(body.id_token);
}

/** AWS: ends the hosted UI session too, then comes back to the page. */
export function cognitoSignOutUrl(config: WebConfig): string | undefined {
  if (config.mode !== 'aws' || !config.cognitoDomain || !config.clientId) return undefined;
  const url = new URL('/logout', config.cognitoDomain);
  url.search = new URLSearchParams({ client_id: config.clientId, logout_uri: `${location.origin}/` }).toString();
  return url.toString();
}

/** The app client's callback URL, as the CDK registers it: the page's root. */
function redirectUri(): string {
  return `${location.origin}/`;
}

/** Cognito came back to the page with a code (or an error) to finish the sign-in. */
export function isSignInCallback(query: URLSearchParams): boolean {
  return query.has('state') && (query.has('code') || query.has('error'));
}

function base64UrlEncode(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function base64UrlDecode(text: string): string {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(text.length / 4) * 4, '=');
  const binary = atob(base64);
  return new TextDecoder().decode(Uint8Array.from(binary, (char) => char.charCodeAt(0)));
}
