import { generate } from 'otplib';
import decodeQR from 'qr/decode.js';
import type { Browser, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { screenshot, signIn, unlabelledControls, useBrowserSuite } from './browser.ts';

const NEW_ADMIN = { email: 'new-admin@acme.example', sub: 'user-acme-new-admin' };

/**
 * What a phone's camera would read off the screen: the QR code's pixels (an element
 * screenshot, painted on a canvas in a blank page, where no CSP applies) decoded.
 */
async function scanQrCode(browser: Browser, page: Page): Promise<string> {
  const png = await page.locator('svg.qr').screenshot();
  const blank = await browser.newPage();
  try {
    const image = await blank.evaluate(async (base64) => {
      const picture = new Image();
      picture.src = `data:image/png;base64,${base64}`;
      await picture.decode();
      const canvas = document.createElement('canvas');
      canvas.width = picture.width;
      canvas.height = picture.height;
      const context = canvas.getContext('2d')!;
      context.drawImage(picture, 0, 0);
      return { width: canvas.width, height: canvas.height, data: Array.from(context.getImageData(0, 0, canvas.width, canvas.height).data) };
    }, png.toString('base64'));
    return decodeQR({ width: image.width, height: image.height, data: Uint8Array.from(image.data) });
  } finally {
    await blank.close();
  }
}

/** Content-Security-Policy refusals the page reported (recorded from the first script on). */
const violations = (page: Page) => page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations);

/**
 * The Authenticator screen (`/authenticator`): whether the signed-in admin has a
 * confirmed authenticator app, enrolling one (a QR code and the key as text, confirmed
 * from the emailed link), resetting one; and the links to it from a download that
 * needs a code the admin cannot give.
 */
describe('the web page: the Authenticator screen', () => {
  const suite = useBrowserSuite({ reauthenticateDownloads: true });
  let backupId: string;

  beforeAll(async () => {
    backupId = (await suite.runtime.api('POST', '/v1/backups')).body.id;
    await suite.runtime.idle();
  });

  /** A page signed in as `token`'s user (one the demo sign-in does not list), recording CSP refusals. */
  const pageSignedInWith = async (token?: string) => {
    const page = await suite.browser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.addInitScript((bearer) => {
      const seen: string[] = [];
      (window as unknown as { cspViolations: string[] }).cspViolations = seen;
      document.addEventListener('securitypolicyviolation', (event) => seen.push(`${event.violatedDirective} ${event.blockedURI}`));
      if (bearer && !sessionStorage.getItem('crm-backup.token')) sessionStorage.setItem('crm-backup.token', bearer);
    }, token);
    return page;
  };

  it('takes a password admin without an app from a refused download to enrolment: a QR code that scans to the key shown, confirmed by the emailed link', async () => {
    const token = await suite.runtime.issuer.sign({ email: NEW_ADMIN.email, 'custom:accountId': 'acme', 'cognito:groups': ['super-admins'] }, NEW_ADMIN.sub);
    const page = await pageSignedInWith(token);
    await page.goto(`${suite.runtime.url}/backups/${encodeURIComponent(backupId)}`);
    await page.getByRole('button', { name: 'Download' }).click();
    // No code to ask for: the page says why and where to get an app.
    await page.getByRole('alert').filter({ hasText: 'you have none enrolled' }).waitFor();
    expect(await page.locator('#download-totp').count()).toBe(0);
    await page.getByRole('link', { name: 'Set up your authenticator app' }).click();

    await page.getByRole('heading', { name: 'Authenticator app', level: 1 }).waitFor();
    expect(await page.locator('#authenticator-status').textContent()).toBe('You have no authenticator app yet.');
    expect(await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Authenticator' }).getAttribute('aria-current')).toBe('page');
    await page.getByRole('button', { name: 'Enrol an authenticator app' }).click();

    await page.getByRole('heading', { name: 'Scan with your authenticator app' }).waitFor();
    const secret = (await page.locator('#authenticator-secret').textContent())!.replace(/\s/g, '');
    expect(secret).toMatch(/^[A-Z2-7]{16,}$/);
    const scanned = new URL(await scanQrCode(suite.browser, page));
    expect(scanned.protocol).toBe('otpauth:');
    expect(scanned.searchParams.get('secret')).toBe(secret);
    expect(scanned.searchParams.get('issuer')).toBe('crm-backup');
    expect(decodeURIComponent(scanned.pathname)).toContain(NEW_ADMIN.email);
    expect(await page.locator('#authenticator-next').textContent()).toContain(`we emailed a link to ${NEW_ADMIN.email}`);
    expect(await page.getByText('Until you confirm, restores do not accept codes from this app.').count()).toBe(1);
    expect(await unlabelledControls(page)).toEqual([]);
    await screenshot(page, 'authenticator-enrol');

    // The emailed link confirms it, with a code computed from what the QR code holds.
    const email = (await suite.runtime.outbox()).find((candidate) => candidate.to.includes(NEW_ADMIN.email) && /authenticator/i.test(candidate.subject))!;
    await page.goto(/(http\S+\/totp-confirmation#token=[\w-]+)/.exec(email.text)![1]!);
    await page.getByLabel('Code from your authenticator app').fill(await generate({ secret }));
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.getByRole('heading', { name: 'Authenticator app confirmed' }).waitFor();
    await page.getByRole('link', { name: 'Your authenticator app' }).click();
    await expect.poll(() => page.locator('#authenticator-status').textContent()).toMatch(/^Your authenticator app is confirmed \(since .+\)\. Restores accept its codes\.$/);
    expect(await violations(page)).toEqual([]);
    await page.close();
  });

  it('shows a confirmed app and resets it: a new QR code, the current app working until the emailed link confirms the new one', async () => {
    const page = await pageSignedInWith();
    await page.goto(`${suite.runtime.url}/authenticator`);
    await signIn(page, 'admin@acme.example');
    await expect.poll(() => page.locator('#authenticator-status').textContent()).toMatch(/^Your authenticator app is confirmed/);
    await screenshot(page, 'authenticator-status');
    await page.getByRole('button', { name: 'Reset the authenticator app' }).click();

    await page.getByRole('heading', { name: 'Scan your new authenticator app' }).waitFor();
    const secret = (await page.locator('#authenticator-secret').textContent())!.replace(/\s/g, '');
    expect(new URL(await scanQrCode(suite.browser, page)).searchParams.get('secret')).toBe(secret);
    expect(await page.getByText('Until you confirm, nothing changes: restores keep accepting codes from your current app.', { exact: false }).count()).toBe(1);
    const email = (await suite.runtime.outbox()).find((candidate) => candidate.to.includes('admin@acme.example') && /new authenticator/i.test(candidate.subject));
    expect(email?.text).toContain('your current app keeps working');

    await page.getByRole('link', { name: 'Back to the authenticator status' }).click();
    await expect.poll(() => page.locator('#authenticator-reset-pending').textContent()).toMatch(/^A reset waits for confirmation: open the link we emailed to admin@acme\.example/);
    expect(await violations(page)).toEqual([]);
    await page.close();
  });

  it('tells an SSO sign-in that it needs no code', async () => {
    const page = await pageSignedInWith();
    await page.goto(`${suite.runtime.url}/authenticator`);
    await signIn(page, 'sso-admin@acme.example');
    await expect.poll(() => page.locator('#authenticator-status').textContent()).toMatch(/^You signed in through single sign-on: restores and downloads ask you for no code/);
    expect(await page.getByRole('button').filter({ hasText: /Enrol|Reset/ }).count()).toBe(0);
    await page.close();
  });
});
