import { describe, expect, it } from 'vitest';
import { screenshot, signIn, useBrowserSuite } from './browser.ts';

describe('the web page: signing in', () => {
  const suite = useBrowserSuite();

  it('serves the page at every app address and keeps the API apart', async () => {
    const page = await fetch(`${suite.runtime.url}/backups/bk_anything`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    const config = await (await fetch(`${suite.runtime.url}/config.json`)).json();
    expect(config).toEqual({ apiUrl: '', mode: 'local' });
    const api = await fetch(`${suite.runtime.url}/v1/nothing-here`);
    expect(api.status).toBe(404);
    expect((await api.json()).error.code).toBe('NOT_FOUND');
    expect((await fetch(`${suite.runtime.url}/missing.js`)).status).toBe(404);
  });

  it('offers the demo users, signs in and shows who is signed in', async () => {
    const page = await suite.browser.newPage();
    await page.goto(suite.runtime.url);
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Sign in');
    await screenshot(page, 'sign-in');
    await signIn(page, 'admin@acme.example');
    await page.getByText('Signed in as admin@acme.example').waitFor();
    expect(new URL(page.url()).pathname).toBe('/backups');
    await page.close();
  });
});
