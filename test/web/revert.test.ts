import { generate } from 'otplib';
import { beforeAll, describe, expect, it } from 'vitest';
import { screenshot, signIn, unlabelledControls, useBrowserSuite } from './browser.ts';

const ADMIN = 'admin@acme.example';
const CULPRIT = 'user@acme.example';

describe('the web page: revert changes', () => {
  const suite = useBrowserSuite();
  let deals: Array<{ id: string; properties: Record<string, string> }>;

  beforeAll(async () => {
    deals = (await suite.runtime.api('GET', '/v1/objects/deals/records?limit=3', { as: ADMIN })).body.items;
    const edit = async (as: string, id: string, properties: Record<string, string>) =>
      expect((await suite.runtime.api('PATCH', `/v1/objects/deals/records/${id}`, { as, body: { properties } })).status).toBe(200);
    await edit(CULPRIT, deals[0]!.id, { dealname: 'Overwritten by an import', amount: '1' });
    await edit(CULPRIT, deals[1]!.id, { dealname: 'Also overwritten' });
    await edit(ADMIN, deals[1]!.id, { dealname: 'Fixed by hand since' });
  }, 120_000);

  it('plans a revert of one person’s changes, shows what is left alone, and runs it', async () => {
    const page = await suite.browser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.goto(`${suite.runtime.url}/revert`);
    await signIn(page, ADMIN);
    await page.getByRole('heading', { name: 'Revert changes' }).waitFor();
    await page.getByLabel('Object type').selectOption('deals');
    await page.getByLabel('Changed by').fill(CULPRIT);
    expect(await unlabelledControls(page)).toEqual([]);
    await page.getByRole('button', { name: 'Review the plan' }).click();

    await page.getByRole('heading', { name: 'What this revert will change' }).waitFor();
    expect(await page.locator('#plan-changed').textContent()).toBe('2');
    expect(await page.locator('#plan-to-change').textContent()).toBe('1');
    expect(await page.locator('#plan-conflicting').textContent()).toBe('1');
    const conflicts = page.getByRole('table', { name: /changed again since/ });
    await expect.poll(() => conflicts.textContent()).toContain('Fixed by hand since');
    expect(await conflicts.textContent()).toContain('Also overwritten');
    expect(await page.getByRole('table', { name: /Sample of the changes/ }).textContent()).toContain(deals[0]!.properties.dealname);
    await screenshot(page, 'revert-plan');

    await page.getByLabel(/changes CRM data/).check();
    await page.getByLabel(/another revert/).check();
    const secret = /admin@acme\.example\s+secret (\S+)/.exec(await suite.runtime.banner())![1]!;
    await page.getByRole('textbox', { name: 'Code from your authenticator app' }).fill(await generate({ secret }));
    await page.getByRole('button', { name: 'Revert 1 record' }).click();
    await page.getByText(/^Reverting deals: changes by user@acme\.example/).waitFor();
    await suite.runtime.idle();
    await page.getByText('Finished').waitFor();
    await screenshot(page, 'revert-result');

    const now = async (index: number) => (await suite.runtime.api('GET', `/v1/objects/deals/records/${deals[index]!.id}`, { as: ADMIN })).body.properties;
    expect(await now(0)).toMatchObject({ dealname: deals[0]!.properties.dealname, amount: deals[0]!.properties.amount ?? '' });
    expect((await now(1)).dealname).toBe('Fixed by hand since');
  });

  it('says in a sentence why an account whose CRM keeps no change history cannot revert', async () => {
    const page = await suite.browser.newPage();
    await page.goto(`${suite.runtime.url}/revert`);
    await signIn(page, 'admin@initech.example');
    await page.getByRole('heading', { name: 'Revert changes' }).waitFor();
    await page.getByLabel('Through').selectOption('INTEGRATION');
    await page.getByRole('button', { name: 'Review the plan' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/cannot be reverted/);
  });
});
