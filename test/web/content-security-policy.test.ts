import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { contentSecurityPolicy } from '../../web/content-security-policy.ts';
import { signIn, useBrowserSuite } from './browser.ts';

/**
 * Issue 13, finding 12: the page works under the Content-Security-Policy CloudFront
 * sends (the local runtime sends the same one, from web/content-security-policy.ts):
 * no inline script or style it relies on, no call to anywhere but its API. Chromium
 * reports every refusal as a `securitypolicyviolation` event, which is recorded here.
 */
describe('the web page under its Content-Security-Policy', () => {
  const suite = useBrowserSuite();
  let page: Page;
  const violations = () => page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations);

  beforeAll(async () => {
    page = await suite.browser.newPage({ viewport: { width: 1100, height: 800 } });
    await page.addInitScript(() => {
      const seen: string[] = [];
      (window as unknown as { cspViolations: string[] }).cspViolations = seen;
      document.addEventListener('securitypolicyviolation', (event) => seen.push(`${event.violatedDirective} ${event.blockedURI}`));
    });
  });

  it('serves the page, its files and /config.json with the policy CloudFront sends', async () => {
    const expected = contentSecurityPolicy([]);
    for (const path of ['/', '/backups/bk_someid', '/app.js', '/styles.css', '/config.json']) {
      const response = await fetch(`${suite.runtime.url}${path}`);
      expect(response.headers.get('content-security-policy'), path).toBe(expected);
    }
    expect(expected).toContain("frame-ancestors 'none'");
    expect(expected).toContain("object-src 'none'");
  });

  it('signs in and shows every screen without a single violation', async () => {
    await page.goto(`${suite.runtime.url}/`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await signIn(page, 'admin@acme.example');
    await page.getByRole('heading', { name: 'Backups', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Back up now' }).click();
    await page.waitForURL(/\/backups\/[^/]+$/);
    await expect.poll(() => page.locator('#backup-status').textContent(), { timeout: 60_000 }).toBe('Ready');
    await page.getByRole('link', { name: 'Compare' }).click();
    await page.getByLabel('Object type').selectOption('deals');
    await page.getByRole('button', { name: 'Compare' }).click();
    await page.locator('#compare-unchanged').waitFor();
    for (const [link, heading] of [
      ['Restore', /Restore/],
      ['Revert changes', /Revert changes/],
      ['Imports', /Imports/],
      ['Audit log', /Audit log/],
      ['Authenticator', /Authenticator app/],
      ['Alerts', /Alerts/],
      ['Backups', /Backups/],
    ] as const) {
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: link }).click();
      await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
    }
    expect(await violations()).toEqual([]);
  });

  it('is enforced: an inline script injected into the page does not run and is reported', async () => {
    await page.evaluate(() => {
      const script = document.createElement('script');
      script.textContent = 'window.injected = true';
      document.body.appendChild(script);
    });
    await expect.poll(violations).toEqual([expect.stringMatching(/^script-src-elem inline$/)]);
    expect(await page.evaluate(() => (window as unknown as { injected?: boolean }).injected)).toBeUndefined();
  });
});
