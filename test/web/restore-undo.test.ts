import { beforeAll, describe, expect, it } from 'vitest';
import { screenshot, signIn, useBrowserSuite } from './browser.ts';

const SSO_ADMIN = 'sso-admin@acme.example';

describe('the web page: undo a restore', () => {
  const suite = useBrowserSuite();
  let restoreId: string;
  const renamed: Array<{ id: string; dealname: string }> = [];

  beforeAll(async () => {
    const { runtime } = suite;
    const backup = await runtime.api('POST', '/v1/backups', { as: SSO_ADMIN, body: {} });
    await runtime.idle();
    const deals = (await runtime.api('GET', '/v1/objects/deals/records?limit=3')).body.items as Array<{ id: string; properties: Record<string, string> }>;
    for (const deal of deals) {
      renamed.push({ id: deal.id, dealname: deal.properties.dealname! });
      expect((await runtime.api('PATCH', `/v1/objects/deals/records/${deal.id}`, { body: { properties: { dealname: `Renamed ${deal.id}` } } })).status).toBe(200);
    }
    const plan = await runtime.api('POST', `/v1/backups/${backup.body.id}/restore-plans`, { as: SSO_ADMIN, body: { objectType: 'deals', properties: ['dealname'] } });
    const started = await runtime.api('POST', '/v1/restores', { as: SSO_ADMIN, body: { planId: plan.body.id, acknowledge: { changesData: true, cannotBeUndone: true } } });
    restoreId = started.body.id;
    await runtime.idle();
    // After the restore, someone renames the first deal again: the undo must keep that.
    expect((await runtime.api('PATCH', `/v1/objects/deals/records/${renamed[0]!.id}`, { body: { properties: { dealname: 'Edited after the restore' } } })).status).toBe(200);
  });

  it('plans the undo from the restore\'s page, shows the records edited since, and runs it', async () => {
    const page = await suite.browser.newPage({ viewport: { width: 1100, height: 1100 } });
    await page.goto(`${suite.runtime.url}/restores/${restoreId}`);
    await signIn(page, SSO_ADMIN);
    await page.getByRole('heading', { name: 'Undo this restore' }).waitFor();
    await page.getByRole('button', { name: 'Undo this restore' }).click();
    await page.locator('#undo-to-change').waitFor();
    expect(await page.locator('#undo-to-change').textContent()).toBe('2');
    expect(await page.locator('#undo-conflicting').textContent()).toBe('1');
    const conflicts = await page.getByRole('table', { name: 'Records edited since, kept as they are' }).locator('tbody tr').allInnerTexts();
    expect(conflicts).toEqual([`${renamed[0]!.id}\tdealname\t${renamed[0]!.dealname}\tEdited after the restore`]);
    await screenshot(page, 'restore-undo-plan');
    await page.getByRole('checkbox', { name: /this undo changes CRM data/ }).check();
    await page.getByRole('checkbox', { name: /undone only for as long as the backup is kept/ }).check();
    await page.getByRole('button', { name: 'Undo on 2 records' }).click();

    await page.waitForURL((url) => url.pathname.startsWith('/restores/') && !url.pathname.endsWith(restoreId));
    await page.getByRole('heading', { name: 'Restore undo', level: 1 }).waitFor();
    await expect.poll(() => page.locator('#restore-status').textContent(), { timeout: 60_000 }).toBe('Finished');
    expect(await page.locator('#restore-updated').textContent()).toBe('2');
    expect(await page.locator('#restore-conflicting').textContent()).toBe('1');
    await screenshot(page, 'restore-undo-result');
    const today = async (id: string) => (await suite.runtime.api('GET', `/v1/objects/deals/records/${id}`)).body.properties.dealname;
    expect(await today(renamed[0]!.id)).toBe('Edited after the restore');
    for (const deal of renamed.slice(1)) expect(await today(deal.id)).toBe(`Renamed ${deal.id}`);
    await page.close();
  });
});
