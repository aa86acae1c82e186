import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';
import { movableClock, nextTotpCode } from '../support/movable-clock.ts';

const ADMIN = 'admin@acme.example';
const SSO_ADMIN = 'sso-admin@acme.example';

/**
 * Issue 13, finding 13: with Cognito MFA optional (`-c mfa=optional`, locally
 * `REAUTHENTICATE_DOWNLOADS=true`) a phished password alone must not export a whole
 * tenant: a download asks for the same re-authentication as a restore.
 */
describe('downloads that re-authenticate (Cognito MFA optional)', () => {
  const clock = movableClock();
  let runtime: TestRuntime;
  let secret: string;
  let backupId: string;
  const freshCode = () => nextTotpCode(clock, secret);
  const download = (query: string, as = ADMIN) => runtime.api('GET', `/v1/backups/${backupId}/download?redirect=false${query}`, { as });
  const downloadsAudited = async () =>
    ((await runtime.api('GET', '/v1/audit-log?limit=100')).body.items as Array<{ action: string }>).filter((entry) => entry.action === 'BACKUP_DOWNLOADED').length;

  beforeAll(async () => {
    runtime = await startTestRuntime({ clock, reauthenticateDownloads: true });
    secret = /admin@acme\.example\s+secret (\w+)/.exec(await runtime.banner())![1]!;
    backupId = (await runtime.api('POST', '/v1/backups')).body.id;
    await runtime.idle();
  });
  afterAll(async () => {
    await runtime?.destroy();
  });

  it('refuses a download without a code with 401 REAUTH_REQUIRED and a sentence saying what to send, and hands out no link', async () => {
    const refused = await download('');
    expect(refused.status).toBe(401);
    expect(refused.body.error).toEqual({ code: 'REAUTH_REQUIRED', message: 'Downloading a backup needs a code from your authenticator app: send it as "totp".' });
    // The redirecting form refuses the same way instead of answering a 302.
    const redirecting = await runtime.api('GET', `/v1/backups/${backupId}/download`);
    expect(redirecting.status).toBe(401);
    expect(redirecting.headers.get('location')).toBeNull();
    expect(await downloadsAudited()).toBe(0);
  });

  it('refuses a wrong code with 401 REAUTH_FAILED and audits the failure like a restore does', async () => {
    const refused = await download('&totp=000000');
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('REAUTH_FAILED');
    const audit = (await runtime.api('GET', '/v1/audit-log?limit=100')).body.items as Array<{ action: string }>;
    expect(audit.some((entry) => entry.action === 'REAUTH_FAILED')).toBe(true);
    expect(await downloadsAudited()).toBe(0);
  });

  it('hands out a working link for the right code, once: the same code again is refused', async () => {
    const code = await freshCode();
    const allowed = await download(`&totp=${code}`);
    expect(allowed.status, JSON.stringify(allowed.body)).toBe(200);
    const zip = await fetch(allowed.body.url);
    expect(zip.status).toBe(200);
    expect((await zip.arrayBuffer()).byteLength).toBeGreaterThan(0);
    expect(await downloadsAudited()).toBe(1);
    const replayed = await download(`&totp=${code}`);
    expect(replayed.status).toBe(401);
    expect(replayed.body.error.code).toBe('REAUTH_FAILED');
  });

  it('redirects to the file when the code is right and ?redirect is left out', async () => {
    const response = await runtime.api('GET', `/v1/backups/${backupId}/download?totp=${await freshCode()}`);
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toMatch(/^http/);
  });

  it('does not ask an SSO sign-in, whose identity provider re-authenticates', async () => {
    const response = await download('', SSO_ADMIN);
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expect(response.body.url).toMatch(/^http/);
  });

  it('tells a password admin without an authenticator, in words about downloading, to enrol one, code or not', async () => {
    const token = await runtime.issuer.sign({ email: 'new-admin@acme.example', 'custom:accountId': 'acme', 'cognito:groups': ['super-admins'] }, 'user-acme-new-admin');
    const downloadsBefore = await downloadsAudited();
    for (const query of ['', '&totp=123456']) {
      const refused = await runtime.api('GET', `/v1/backups/${backupId}/download?redirect=false${query}`, { as: null, headers: { authorization: `Bearer ${token}` } });
      expect(refused.status).toBe(401);
      expect(refused.body.error).toEqual({
        code: 'REAUTH_REQUIRED',
        authenticator: 'NONE',
        message:
          'Downloading a backup needs a code from an authenticator app, and you have none enrolled: enrol one on the Authenticator screen of the web page (CLI: crm-backup totp enrol; API: POST /v1/me/totp-enrolment) and confirm it from the link we email you.',
      });
    }
    expect(await downloadsAudited()).toBe(downloadsBefore);
  });

  it('answers 404 for an unknown backup before asking for a code, so no code is spent on a download that cannot happen', async () => {
    expect((await runtime.api('GET', '/v1/backups/bk_doesnotexist/download?redirect=false')).status).toBe(404);
  });
});

describe('downloads when Cognito MFA is required (the default)', () => {
  let runtime: TestRuntime;
  beforeAll(async () => {
    runtime = await startTestRuntime();
  });
  afterAll(async () => {
    await runtime?.destroy();
  });

  it('hands out the link without a code: the sign-in itself had a second factor', async () => {
    const backupId = (await runtime.api('POST', '/v1/backups')).body.id;
    await runtime.idle();
    const response = await runtime.api('GET', `/v1/backups/${backupId}/download?redirect=false`);
    expect(response.status, JSON.stringify(response.body)).toBe(200);
  });
});
