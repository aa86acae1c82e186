import { describe, expect, it } from 'vitest';
import { screenshot, signIn, unlabelledControls, useBrowserSuite } from './browser.ts';

describe('the web page: who may do what', () => {
  const suite = useBrowserSuite();

  it('shows a non-admin the "only super admins" page, not a broken screen, on every backup and restore screen', async () => {
    const page = await suite.browser.newPage();
    await page.goto(`${suite.runtime.url}/backups`);
    await signIn(page, 'user@acme.example');
    const heading = page.getByRole('heading', { level: 1 });
    await expect.poll(() => heading.textContent()).toBe('Only super admins can back up or restore');
    // The API's own sentence is shown as it is.
    const api = await suite.runtime.api('GET', '/v1/backups', { as: 'user@acme.example' });
    expect(api.status).toBe(403);
    expect(await page.getByRole('alert').textContent()).toBe(api.body.error.message);
    await screenshot(page, 'not-a-super-admin');
    for (const path of ['/restore', '/backups/bk_anything']) {
      await page.goto(`${suite.runtime.url}${path}`);
      await expect.poll(() => heading.textContent()).toBe('Only super admins can back up or restore');
    }
    await page.close();
  });

  it('shows every API error as its sentence: an unknown backup', async () => {
    const page = await suite.browser.newPage();
    await page.goto(`${suite.runtime.url}/backups/bk_nope`);
    await signIn(page, 'admin@acme.example');
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('Backup "bk_nope" was not found.');
    await page.close();
  });

  it('keeps other accounts apart: globex sees none of acme\'s backups', async () => {
    const started = await suite.runtime.api('POST', '/v1/backups', { body: {} });
    expect(started.status).toBe(202);
    const page = await suite.browser.newPage();
    await page.goto(`${suite.runtime.url}/backups/${started.body.id}`);
    await signIn(page, 'admin@globex.example');
    await expect.poll(() => page.getByRole('alert').textContent()).toBe(`Backup "${started.body.id}" was not found.`);
    await page.goto(`${suite.runtime.url}/backups`);
    await page.getByText('No backups yet.').waitFor();
    await suite.runtime.idle();
    await page.close();
  });

  it('is usable with the keyboard alone: skip link, then Tab to "Back up now" and Enter', async () => {
    const page = await suite.browser.newPage();
    await page.goto(`${suite.runtime.url}/sign-in`);
    // The page renders after its config arrives; tabbing before then races the re-render.
    await page.getByRole('button', { name: /admin@globex\.example/ }).waitFor();
    // Tab from the top: the skip link first, then the page; Enter picks the focused demo user.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    let focused = '';
    for (let i = 0; i < 10 && !focused.startsWith('admin@globex.example'); i++) {
      await page.keyboard.press('Tab');
      focused = (await page.evaluate(() => document.activeElement?.textContent)) ?? '';
    }
    expect(focused).toMatch(/^admin@globex\.example/);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Backups', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Back up now' }).focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/backups\/[^/]+$/);
    await suite.runtime.idle();
    await page.close();
  });

  it('signs out, and asks to sign in again when the token is no longer accepted', async () => {
    const page = await suite.browser.newPage();
    await page.goto(`${suite.runtime.url}/audit-log`);
    await signIn(page, 'admin@acme.example');
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    // A token the API refuses (here: signed by another key) sends the user back to sign-in.
    await page.evaluate(() => sessionStorage.setItem('crm-backup.token', `${btoa('{}')}.${btoa(JSON.stringify({ email: 'x@y', exp: 4e9 }))}.sig`));
    await page.goto(`${suite.runtime.url}/imports`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.close();
  });

  it('labels every control for screen readers on every screen', async () => {
    const page = await suite.browser.newPage();
    await page.goto(`${suite.runtime.url}/sign-in`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(await unlabelledControls(page)).toEqual([]);
    await signIn(page, 'admin@acme.example');
    for (const [path, heading] of [['/backups', 'Backups'], ['/restore', 'Restore CRM data'], ['/imports', 'Imports'], ['/audit-log', 'Audit log']] as const) {
      await page.goto(`${suite.runtime.url}${path}`);
      await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
      expect(await unlabelledControls(page), path).toEqual([]);
      // One main landmark, one h1: a screen reader can find its way.
      expect(await page.getByRole('main').count()).toBe(1);
      expect(await page.locator('h1').count()).toBe(1);
    }
    await page.close();
  });
});
