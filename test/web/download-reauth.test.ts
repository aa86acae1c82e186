import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyBackupZip } from '../../cli/verify-zip.ts';
import { signIn, unlabelledControls, useBrowserSuite } from './browser.ts';

/**
 * Issue 13, finding 13, on the page: where the deployment lets a password alone sign
 * in (`-c mfa=optional`; locally REAUTHENTICATE_DOWNLOADS), the API answers a download
 * with 401 REAUTH_REQUIRED and the page asks for the authenticator code, then downloads.
 */
describe('the web page: downloads that ask for a code', () => {
  const suite = useBrowserSuite({ reauthenticateDownloads: true });
  let downloads: string;
  let backupId: string;

  beforeAll(async () => {
    downloads = await mkdtemp(join(tmpdir(), 'crm-backup-downloads-'));
    backupId = (await suite.runtime.api('POST', '/v1/backups')).body.id;
    await suite.runtime.idle();
  });
  afterAll(async () => {
    if (downloads) await rm(downloads, { recursive: true, force: true });
  });

  /** Opens the backup's page as the email links to it: once signed in, the download starts by itself. */
  const openFromEmailLink = async () => {
    const context = await suite.browser.newContext({ acceptDownloads: true, viewport: { width: 1100, height: 800 } });
    const page = await context.newPage();
    await page.goto(`${suite.runtime.url}/backups/${encodeURIComponent(backupId)}`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    return page;
  };

  it('asks for the code, shows the API’s sentence for a wrong one, and downloads a zip that verifies with the right one', async () => {
    const page = await openFromEmailLink();
    await signIn(page, 'admin@acme.example');
    const code = page.getByRole('textbox', { name: 'Code from your authenticator app' });
    await code.waitFor();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('download-totp');
    expect(await page.getByRole('alert').count()).toBe(0);
    expect(await unlabelledControls(page)).toEqual([]);

    await code.fill('000000');
    await page.locator('#download-with-code').click();
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('The authenticator code is wrong or was already used.');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('download-totp');

    const secret = /admin@acme\.example\s+secret (\S+)/.exec(await suite.runtime.banner())![1]!;
    await page.getByRole('textbox', { name: 'Code from your authenticator app' }).fill(await generate({ secret }));
    const started = page.waitForEvent('download', { timeout: 30_000 });
    await page.locator('#download-with-code').click();
    const download = await started;
    const file = join(downloads, download.suggestedFilename());
    await download.saveAs(file);
    const report = await verifyBackupZip(file);
    expect(report.problems).toEqual([]);
    expect(report.manifest?.backupId).toBe(backupId);
    await page.getByText('Your download has started.').waitFor();
    await page.context().close();
  });

  it('downloads at once for an SSO sign-in, without asking', async () => {
    const page = await openFromEmailLink();
    const started = page.waitForEvent('download', { timeout: 30_000 });
    await signIn(page, 'sso-admin@acme.example');
    const download = await started;
    expect(download.suggestedFilename()).toMatch(/^crm-backup-acme-.*\.zip$/);
    expect(await page.locator('#download-totp').count()).toBe(0);
    await page.context().close();
  });
});
