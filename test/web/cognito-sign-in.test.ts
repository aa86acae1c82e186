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
 * answers a code only for the challenge it saw, and a token only for the verifier
 * that hashes to it. The "user" signs in through SSO, as a federated user would.
 */
async function startFakeCognito(runtime: TestRuntime) {
  const codes = new Map<string, { challenge: string; redirectUri: string }>();
  const seen: { authorize?: URLSearchParams; token?: URLSearchParams; logout?: URLSearchParams } = {};
  const server: Server = createServer(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const cors = { 'access-control-allow-origin': runtime.url };
    if (url.pathname === '/oauth2/authorize') {
      seen.authorize = url.searchParams;
      const code = randomUUID();
      codes.set(code, { challenge: url.searchParams.get('code_challenge') ?? '', redirectUri: url.searchParams.get('redirect_uri') ?? '' });
      const back = new URL(url.searchParams.get('redirect_uri')!);
      back.search = new URLSearchParams({ code, state: url.searchParams.get('state') ?? '' }).toString();
      response.writeHead(302, { location: back.toString() }).end();
      return;
    }
    if (url.pathname === '/oauth2/token' && request.method === 'POST') {
      let body = '';
      for await (const chunk of request) body += chunk;
      const form = new URLSearchParams(body);
      seen.token = form;
      const issued = codes.get(form.get('code') ?? '');
      codes.delete(form.get('code') ?? '');
      const verifierHash = createHash('sha256').update(form.get('code_verifier') ?? '').digest('base64url');
      if (!issued || issued.challenge !== verifierHash || issued.redirectUri !== form.get('redirect_uri') || form.get('client_id') !== CLIENT_ID) {
        response.writeHead(400, { 'content-type': 'application/json', ...cors }).end(JSON.stringify({ error: 'invalid_grant' }));
        return;
      }
      const user = DEMO_USERS.find((candidate) => candidate.email === 'sso-admin@acme.example')!;
      const idToken = await runtime.issuer.signIn(user);
      response.writeHead(200, { 'content-type': 'application/json', ...cors }).end(JSON.stringify({ id_token: idToken, access_token: 'unused', token_type: 'Bearer', expires_in: 3600 }));
      return;
    }
    if (url.pathname === '/logout') {
      seen.logout = url.searchParams;
      response.writeHead(302, { location: url.searchParams.get('logout_uri') ?? '/' }).end();
      return;
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, stop: () => new Promise((resolve) => server.close(resolve)) };
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

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(cognito.seen.logout?.get('client_id')).toBe(CLIENT_ID);
    expect(cognito.seen.logout?.get('logout_uri')).toBe(`${suite.runtime.url}/`);
    await page.close();
  });

  it('refuses a callback whose state was not started in this tab', async () => {
    const page = await suite.browser.newPage();
    await page.goto(`${suite.runtime.url}/?code=stolen&state=forged`);
    await page.getByRole('heading', { name: 'Sign-in failed' }).waitFor();
    expect(await page.getByRole('alert').textContent()).toBe('This sign-in link is stale or was not started here; sign in again.');
    await page.close();
  });
});
