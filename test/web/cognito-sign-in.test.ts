import { createHash, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_USERS } from '../../local/identity.ts';
import type { LocalRoute } from '../../local/http-server.ts';
import { webPageRoute } from '../../local/web-assets.ts';
import type { TestRuntime } from '../support/local-runtime.ts';
import { useBrowserSuite } from './browser.ts';

const CLIENT_ID = 'test-web-client';

/**
 * A stand-in for the Cognito hosted UI's OAuth endpoints, strict about PKCE: it
 * answers a code only for the challenge it saw, and tokens only for the verifier
 * that hashes to it. Like Cognito it answers a refresh token with the code, and new ID
 * and access tokens (but no new refresh token) for the refresh token. The "user" signs
 * in through SSO, as a federated user would. `idTokenLifetime` (a jose time span)
 * shortens the ID tokens; `refusing` makes it refuse refresh tokens, as Cognito does
 * once they expire or are revoked.
 */
async function startFakeCognito(runtime: TestRuntime) {
  const codes = new Map<string, { challenge: string; redirectUri: string }>();
  const refreshTokens = new Set<string>();
  const state = { idTokenLifetime: '1h', refusing: false };
  const seen: { authorize?: URLSearchParams; token?: URLSearchParams; refreshes: URLSearchParams[]; revoked: URLSearchParams[]; logout?: URLSearchParams } = { refreshes: [], revoked: [] };
  const user = DEMO_USERS.find((candidate) => candidate.email === 'sso-admin@acme.example')!;
  const tokens = async (refreshToken?: string) => ({
    id_token: await runtime.issuer.signIn(user, state.idTokenLifetime),
    access_token: randomUUID(),
    token_type: 'Bearer',
    expires_in: 3600,
    ...(refreshToken ? { refresh_token: refreshToken } : {}),
  });
  const server: Server = createServer(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const cors = { 'access-control-allow-origin': runtime.url };
    const json = (status: number, body: unknown) => response.writeHead(status, { 'content-type': 'application/json', ...cors }).end(JSON.stringify(body));
    if (request.method === 'OPTIONS') {
      response.writeHead(204, { ...cors, 'access-control-allow-methods': 'POST', 'access-control-allow-headers': request.headers['access-control-request-headers'] ?? '' }).end();
      return;
    }
    if (url.pathname === '/oauth2/authorize') {
      seen.authorize = url.searchParams;
      const code = randomUUID();
      codes.set(code, { challenge: url.searchParams.get('code_challenge') ?? '', redirectUri: url.searchParams.get('redirect_uri') ?? '' });
      const back = new URL(url.searchParams.get('redirect_uri')!);
      back.search = new URLSearchParams({ code, state: url.searchParams.get('state') ?? '' }).toString();
      response.writeHead(302, { location: back.toString() }).end();
      return;
    }
    let body = '';
    for await (const chunk of request) body += chunk;
    const form = new URLSearchParams(body);
    if (url.pathname === '/oauth2/token' && request.method === 'POST' && form.get('grant_type') === 'refresh_token') {
      seen.refreshes.push(form);
      if (state.refusing || !refreshTokens.has(form.get('refresh_token') ?? '') || form.get('client_id') !== CLIENT_ID) return json(400, { error: 'invalid_grant' });
      return json(200, await tokens());
    }
    if (url.pathname === '/oauth2/token' && request.method === 'POST') {
      seen.token = form;
      const issued = codes.get(form.get('code') ?? '');
      codes.delete(form.get('code') ?? '');
      const verifierHash = createHash('sha256').update(form.get('code_verifier') ?? '').digest('base64url');
      if (!issued || issued.challenge !== verifierHash || issued.redirectUri !== form.get('redirect_uri') || form.get('client_id') !== CLIENT_ID) return json(400, { error: 'invalid_grant' });
      const refreshToken = randomUUID();
      refreshTokens.add(refreshToken);
      return json(200, await tokens(refreshToken));
    }
    if (url.pathname === '/oauth2/revoke' && request.method === 'POST') {
      seen.revoked.push(form);
      refreshTokens.delete(form.get('token') ?? '');
      return json(200, {});
    }
    if (url.pathname === '/logout') {
      seen.logout = url.searchParams;
      response.writeHead(302, { location: url.searchParams.get('logout_uri') ?? '/' }).end();
      return;
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, state, stop: () => new Promise((resolve) => server.close(resolve)) };
}

describe('the web page: Cognito hosted sign-in (AWS mode)', () => {
  // The page is served with an AWS-mode config.json, ahead of the default local one,
  // once the fake hosted UI's address is known.
  let awsPage: LocalRoute = async () => false;
  const suite = useBrowserSuite({ extraRoutes: [(...args) => awsPage(...args)] });
  let cognito: Awaited<ReturnType<typeof startFakeCognito>>;

  beforeAll(async () => {
    cognito = await startFakeCognito(suite.runtime);
    awsPage = webPageRoute({ apiUrl: '', mode: 'aws', cognitoDomain: cognito.url, clientId: CLIENT_ID, region: 'eu-west-1' });
  });
  afterAll(async () => {
    await cognito?.stop();
  });

  it('signs in with the authorization code flow and PKCE, then returns to the address the user opened', async () => {
    const page = await suite.browser.newPage();
    await page.goto(`${suite.runtime.url}/audit-log`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();
    await page.getByText('Signed in as sso-admin@acme.example').waitFor();
    // The code and state are gone from the address bar once used.
    expect(new URL(page.url()).search).toBe('');
    const authorize = cognito.seen.authorize!;
    expect(authorize.get('response_type')).toBe('code');
    expect(authorize.get('client_id')).toBe(CLIENT_ID);
    expect(authorize.get('redirect_uri')).toBe(`${suite.runtime.url}/`);
    expect(authorize.get('code_challenge_method')).toBe('S256');
    expect(authorize.get('scope')).toBe('openid email profile');
    expect(cognito.seen.token!.get('code_verifier')!.length).toBeGreaterThanOrEqual(43);
    expect(cognito.seen.token!.get('grant_type')).toBe('authorization_code');

    // oidc-client-ts keeps the user, refresh token included, in this tab's sessionStorage.
    const stored = await page.evaluate(() => Object.entries(sessionStorage).find(([key]) => key.startsWith('oidc.user:'))?.[1]);
    const refreshToken = JSON.parse(stored ?? '{}').refresh_token as string;
    expect(refreshToken).toBeTruthy();

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(cognito.seen.logout?.get('client_id')).toBe(CLIENT_ID);
    expect(cognito.seen.logout?.get('logout_uri')).toBe(`${suite.runtime.url}/`);
    // Signing out revokes the refresh token and forgets the tokens in the tab.
    expect(cognito.seen.revoked.map((form) => form.get('token'))).toContain(refreshToken);
    expect(await page.evaluate(() => Object.keys(sessionStorage).filter((key) => key.startsWith('oidc.')))).toEqual([]);
    await page.close();
  });

  it('stays signed in past the ID token\'s lifetime by renewing it with the refresh token, then signs out cleanly once that is refused', async () => {
    const lifetimeSeconds = 4;
    cognito.state.idTokenLifetime = `${lifetimeSeconds}s`;
    const page = await suite.browser.newPage();
    try {
      await page.goto(`${suite.runtime.url}/imports`);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Imports' }).waitFor();
      const refreshesBefore = cognito.seen.refreshes.length;

      // Two lifetimes later, the first ID token has long expired (the local API refuses it):
      // the page still works, on renewed tokens.
      await page.waitForTimeout(2 * lifetimeSeconds * 1000);
      await page.getByRole('link', { name: 'Audit log' }).click();
      await page.getByRole('heading', { name: 'Audit log' }).waitFor();
      expect(await page.getByRole('alert').count()).toBe(0);
      await page.waitForTimeout(lifetimeSeconds * 1000);
      await page.reload();
      await page.getByRole('heading', { name: 'Audit log' }).waitFor();
      await page.getByText('Signed in as sso-admin@acme.example').waitFor();
      const refreshes = cognito.seen.refreshes.slice(refreshesBefore);
      expect(refreshes.length).toBeGreaterThanOrEqual(2);
      for (const form of refreshes) {
        expect(form.get('grant_type')).toBe('refresh_token');
        expect(form.get('client_id')).toBe(CLIENT_ID);
      }

      // The refresh token is refused now (expired, or revoked by an administrator).
      cognito.state.refusing = true;
      await page.waitForTimeout(lifetimeSeconds * 1000);
      await page.getByRole('link', { name: 'Imports' }).click();
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      expect(await page.getByRole('status').first().textContent()).toBe('Your session has ended. Sign in again to continue where you were.');
      expect(await page.getByText(/Signed in as/).count()).toBe(0);
      expect(await page.evaluate(() => Object.keys(sessionStorage).filter((key) => key.startsWith('oidc.user:')))).toEqual([]);

      // Signing in again lands where the user was going.
      cognito.state.refusing = false;
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Imports' }).waitFor();
    } finally {
      cognito.state.idTokenLifetime = '1h';
      await page.close();
    }
  });

  it('refuses a callback whose state was not started in this tab', async () => {
    const page = await suite.browser.newPage();
    await page.goto(`${suite.runtime.url}/?code=stolen&state=forged`);
    await page.getByRole('heading', { name: 'Sign-in failed' }).waitFor();
    expect(await page.getByRole('alert').textContent()).toBe('This sign-in link is stale or was not started here; sign in again.');
    await page.close();
  });
});
