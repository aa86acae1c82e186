import { describe, expect, it } from 'vitest';
import { screenshot, signIn, unlabelledControls, useBrowserSuite } from './browser.ts';

/**
 * The Data source screen (`/data-source`): initech's HubSpot portal shown and tested,
 * reconnected with a new token (never shown again), disconnected; and acme's built-in CRM.
 */
describe('the web page: the Data source screen', () => {
  const suite = useBrowserSuite({ recordsPerType: 10 });

  it('shows and tests the connected portal, reconnects it with a new token, and disconnects it', async () => {
    const page = await suite.browser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.goto(suite.runtime.url);
    await signIn(page, 'sso-admin@initech.example');
    await page.getByRole('link', { name: 'Data source' }).click();
    await page.getByText('HubSpot portal 7301234').waitFor();
    await page.getByRole('button', { name: 'Test the connection' }).click();
    await page.getByText('It answered: 9 object types').waitFor();
    expect(await unlabelledControls(page)).toEqual([]);
    await screenshot(page, 'data-source');

    const token = suite.runtime.hubspot.issueToken(7301234);
    await page.getByLabel("Your private app's access token").fill(token);
    await page.getByRole('button', { name: 'Reconnect with this token' }).click();
    await page.getByText('connected by sso-admin@initech.example').waitFor();
    expect(await page.content()).not.toContain(token);

    await page.getByRole('button', { name: 'Disconnect HubSpot' }).click();
    await page.getByText('Backups read, and restores write, the built-in CRM.').waitFor();
    expect((await suite.runtime.api('GET', '/v1/audit-log', { as: 'sso-admin@initech.example' })).body.items.map((entry: { action: string }) => entry.action).slice(0, 2)).toEqual([
      'SOURCE_DISCONNECTED',
      'SOURCE_CONNECTED',
    ]);
  });

  it('asks a password sign-in for a code to connect, and refuses a wrong one before HubSpot is asked', async () => {
    const page = await suite.browser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.goto(`${suite.runtime.url}/data-source`);
    await signIn(page, 'admin@acme.example');
    await page.goto(`${suite.runtime.url}/data-source`);
    await page.getByText('Backups read, and restores write, the built-in CRM.').waitFor();
    await expect(page.getByLabel('Code from your authenticator app').count()).resolves.toBe(1);
    const revoked = suite.runtime.hubspot.issueToken(7301234);
    suite.runtime.hubspot.revokeToken(revoked);
    await page.getByLabel("Your private app's access token").fill(revoked);
    await page.getByLabel('Code from your authenticator app').fill('000000');
    await page.getByRole('button', { name: 'Connect HubSpot' }).click();
    // A wrong code is refused before HubSpot is asked.
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toMatch(/code/i);
  });
});
