import { beforeAll, describe, expect, it } from 'vitest';
import { movableClock } from '../support/movable-clock.ts';
import { screenshot, signIn, unlabelledControls, useBrowserSuite } from './browser.ts';

const ADMIN = 'admin@acme.example';

describe('the web page: compare a backup, and the anomaly badge', () => {
  const clock = movableClock();
  const suite = useBrowserSuite({ clock });
  const backups: string[] = [];
  const removed: string[] = [];

  const backup = async () => {
    const started = await suite.runtime.api('POST', '/v1/backups', { as: ADMIN, body: {} });
    expect(started.status).toBe(202);
    await suite.runtime.idle();
    backups.push(started.body.id);
  };

  beforeAll(async () => {
    await backup();
    // Alert on removals of 10% and at least 5 records (the demo types hold 40).
    const settings = { enabled: true, removedRecords: { percent: 10, atLeast: 5 }, changedProperty: { percent: 20, atLeast: 500 }, emptiedType: true };
    expect((await suite.runtime.api('PUT', '/v1/alert-settings', { as: ADMIN, body: settings })).status).toBe(200);
    const deals = (await suite.runtime.api('GET', '/v1/objects/deals/records?limit=40', { as: ADMIN })).body.items as Array<{ id: string }>;
    for (const deal of deals.slice(0, 6)) {
      expect((await suite.runtime.api('DELETE', `/v1/objects/deals/records/${deal.id}`, { as: ADMIN })).status).toBe(204);
      removed.push(deal.id);
    }
    expect((await suite.runtime.api('PATCH', `/v1/objects/deals/records/${deals[7]!.id}`, { as: ADMIN, body: { properties: { dealname: 'Changed <b>after</b>' } } })).status).toBe(200);
    clock.advance(8 * 24 * 3_600_000);
    await backup();
  }, 180_000);

  it('compares a backup with today\'s data for one type: counts, properties that changed, a sample, and the CSV', async () => {
    const page = await suite.browser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.goto(`${suite.runtime.url}/backups/${backups[0]}`);
    await signIn(page, ADMIN);
    await page.locator('#compare').click();
    await page.getByRole('heading', { name: /^Compare the backup of/ }).waitFor();
    await page.getByLabel('With').selectOption('live');
    await page.getByLabel('Object type').selectOption('deals');
    await page.getByRole('button', { name: 'Compare' }).click();
    await page.locator('#compare-removed').waitFor();
    expect(await page.locator('#compare-added').textContent()).toBe('0');
    expect(await page.locator('#compare-removed').textContent()).toBe('6');
    expect(await page.locator('#compare-changed').textContent()).toBe('1');
    expect(await page.locator('#compare-unchanged').textContent()).toBe('33');
    expect(await page.getByRole('table', { name: 'Records changed per property' }).textContent()).toContain('dealname');
    // CRM values are shown as text, never as markup.
    await page.getByRole('cell', { name: 'Changed <b>after</b>' }).waitFor();
    for (const id of removed) await page.getByRole('cell', { name: id, exact: true }).waitFor();
    expect(page.url()).toContain(`/backups/${backups[0]}/compare?with=live&objectType=deals`);
    expect(await unlabelledControls(page)).toEqual([]);
    await screenshot(page, 'compare-one-type');

    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download every difference (CSV)' }).click();
    expect((await download).suggestedFilename()).toMatch(/^crm-backup-differences-acme-deals-.*\.csv$/);
    expect(await page.locator('#compare-export-ready').textContent()).toMatch(/^\d+ rows\./);
    await page.close();
  });

  it('compares two backups for every type at once, each row opening its type', async () => {
    const page = await suite.browser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.goto(`${suite.runtime.url}/backups/${backups[0]}/compare?with=${backups[1]}`);
    await signIn(page, ADMIN);
    const summary = page.getByRole('table', { name: 'Differences per object type' });
    await expect.poll(async () => summary.textContent(), { timeout: 30_000 }).not.toContain('Comparing');
    const deals = summary.getByRole('row').filter({ hasText: /^deals/ });
    expect((await deals.getByRole('cell').allTextContents()).slice(0, 5)).toEqual(['deals', '0', '6', '1', '33']);
    const contacts = summary.getByRole('row').filter({ hasText: /^contacts/ });
    expect((await contacts.getByRole('cell').allTextContents()).slice(0, 5)).toEqual(['contacts', '0', '0', '0', '40']);
    await screenshot(page, 'compare-every-type');
    await page.getByRole('button', { name: 'Details of deals' }).click();
    await page.locator('#compare-removed').waitFor();
    expect(await page.locator('#compare-removed').textContent()).toBe('6');
    await page.close();
  });

  it('badges the backup that raised an alert in the history, and its badge opens the comparison', async () => {
    const page = await suite.browser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.goto(`${suite.runtime.url}/backups`);
    await signIn(page, ADMIN);
    const badge = page.getByRole('link', { name: 'Unusual changes' });
    await badge.waitFor();
    expect(await badge.count()).toBe(1);
    await screenshot(page, 'anomaly-badge');
    await badge.click();
    await page.locator('#compare-removed').waitFor();
    expect(await page.locator('#compare-removed').textContent()).toBe('6');
    expect(page.url()).toContain(`/backups/${backups[0]}/compare?with=${backups[1]}&objectType=deals`);

    await page.goto(`${suite.runtime.url}/backups/${backups[1]}`);
    await page.locator('#anomaly-note').waitFor();
    expect(await page.locator('#anomaly-note').textContent()).toContain('6 of 40 deals records are gone since the previous backup.');
    await page.close();
  });

  it('sets the alert thresholds on the Alerts page', async () => {
    const page = await suite.browser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.goto(`${suite.runtime.url}/backups`);
    await signIn(page, ADMIN);
    await page.getByRole('link', { name: 'Alerts' }).click();
    await page.getByRole('heading', { name: 'Alerts' }).waitFor();
    expect(await page.locator('#removed-percent').inputValue()).toBe('10');
    await page.locator('#removed-at-least').fill('250');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('#alerts-saved').waitFor();
    expect(await unlabelledControls(page)).toEqual([]);
    await screenshot(page, 'alert-settings');
    expect((await suite.runtime.api('GET', '/v1/alert-settings', { as: ADMIN })).body.removedRecords).toEqual({ percent: 10, atLeast: 250 });
    await page.close();
  });
});
