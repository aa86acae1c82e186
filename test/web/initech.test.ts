import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyBackupZip } from '../../cli/verify-zip.ts';
import { screenshot, signIn, useBrowserSuite } from './browser.ts';

/**
 * initech, whose data source is the demo HubSpot portal, on the web page: back up the
 * portal, download the zip, edit a contact through the portal's own API, plan and run
 * a restore of that property, and see the portal serve the backed-up value again.
 */
describe('the web page: initech backs up and restores its HubSpot portal', () => {
  const suite = useBrowserSuite({ recordsPerType: 10 });
  let portal: { baseUrl: string; accessToken: string };
  let downloads: string;

  const contact = async (id: string) => {
    const response = await fetch(`${portal.baseUrl}/crm/v3/objects/contacts/${id}?properties=jobtitle`, { headers: { authorization: `Bearer ${portal.accessToken}` } });
    expect(response.status).toBe(200);
    return ((await response.json()) as { properties: Record<string, string | null> }).properties;
  };

  beforeAll(async () => {
    portal = (await suite.runtime.api('GET', '/local/hubspot', { as: null })).body;
    downloads = await mkdtemp(join(tmpdir(), 'crm-backup-initech-'));
  });
  afterAll(async () => {
    if (downloads) await rm(downloads, { recursive: true, force: true });
  });

  it('backs up the portal, downloads it, and restores a contact edited in HubSpot', async () => {
    const context = await suite.browser.newContext({ acceptDownloads: true, viewport: { width: 1100, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${suite.runtime.url}/backups`);
    await signIn(page, 'sso-admin@initech.example');
    await page.getByRole('heading', { name: 'Backups', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Back up now' }).click();
    await page.waitForURL(/\/backups\/[^/]+$/);
    const backupId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
    await expect.poll(() => page.locator('#backup-status').textContent(), { timeout: 60_000 }).toBe('Ready');
    const rows = await page.getByRole('table', { name: 'Object types in this backup' }).locator('tbody tr').allInnerTexts();
    for (const type of ['contacts', 'companies', 'conversations', 'p_vehicles']) expect(rows.some((row) => row.startsWith(type)), type).toBe(true);

    const downloaded = page.waitForEvent('download', { timeout: 30_000 });
    await page.getByRole('button', { name: 'Download' }).click();
    const download = await downloaded;
    expect(download.suggestedFilename()).toMatch(/^crm-backup-initech-.*\.zip$/);
    const file = join(downloads, download.suggestedFilename());
    await download.saveAs(file);
    const report = await verifyBackupZip(file);
    expect(report.problems).toEqual([]);
    expect(report.manifest?.backupId).toBe(backupId);

    // A contact whose job title is edited in HubSpot after the backup.
    const page1 = await fetch(`${portal.baseUrl}/crm/v3/objects/contacts?limit=100&properties=jobtitle`, { headers: { authorization: `Bearer ${portal.accessToken}` } });
    const listed = ((await page1.json()) as { results: Array<{ id: string; properties: Record<string, string | null> }> }).results;
    const edited = listed.find((record) => record.properties.jobtitle)!;
    expect(edited, 'a demo contact with a job title').toBeDefined();
    const original = edited.properties.jobtitle!;
    const patched = await fetch(`${portal.baseUrl}/crm/v3/objects/contacts/${edited.id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${portal.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ properties: { jobtitle: 'Edited in HubSpot' } }),
    });
    expect(patched.status).toBe(200);

    await page.getByRole('link', { name: 'Restore', exact: true }).click();
    await page.getByText('Step 1 of 5: which backup?').waitFor();
    await page.getByRole('radio').first().check();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByText('Step 2 of 5: which object type?').waitFor();
    // Conversation threads are backed up, never restored: not offered.
    expect(await page.getByRole('radio', { name: /^Conversations/ }).count()).toBe(0);
    await page.getByRole('radio', { name: /^Contacts/ }).check();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByText('Step 3 of 5: which properties of contacts?').waitFor();
    await page.getByRole('checkbox', { name: /^Job title/ }).check();
    await page.getByRole('button', { name: 'Review the plan' }).click();
    await page.getByRole('heading', { name: 'Step 4 of 5: what this restore will change' }).waitFor();
    expect(await page.locator('#plan-to-change').textContent()).toBe('1');
    const sample = await page.getByRole('table', { name: 'Sample of the changes, before and after' }).locator('tbody tr').allInnerTexts();
    expect(sample).toContainEqual(`${edited.id}\tJob title\tEdited in HubSpot\t${original}`);
    await screenshot(page, 'initech-restore-plan');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByText('You signed in through single sign-on: no code is needed.').waitFor();
    await page.getByRole('checkbox', { name: /changes CRM data/ }).check();
    await page.getByRole('checkbox', { name: /can be undone only for as long as its backup is kept/ }).check();
    await page.getByRole('button', { name: 'Restore 1 record' }).click();
    await expect.poll(() => page.locator('#restore-status').textContent(), { timeout: 60_000 }).toBe('Finished');
    expect(await page.locator('#restore-updated').textContent()).toBe('1');
    expect(await page.locator('#restore-failed').textContent()).toBe('0');

    // HubSpot serves the backed-up value again.
    expect((await contact(edited.id)).jobtitle).toBe(original);
    await context.close();
  });
});
