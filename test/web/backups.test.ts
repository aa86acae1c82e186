import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { verifyBackupZip } from '../../cli/verify-zip.ts';
import { screenshot, signIn, useBrowserSuite, withLatency } from './browser.ts';

describe('the web page: backups', () => {
  // Each export page takes 800 ms more, so the running state can be watched.
  const suite = useBrowserSuite({ wrapDeps: (deps) => ({ ...deps, records: withLatency(deps.records, 'readSegmentPage', 800) }) });
  let page: Page;
  let downloads: string;
  let backupId: string;

  beforeAll(async () => {
    downloads = await mkdtemp(join(tmpdir(), 'crm-backup-downloads-'));
    page = await suite.browser.newPage({ viewport: { width: 1100, height: 800 } });
  });
  afterAll(async () => {
    if (downloads) await rm(downloads, { recursive: true, force: true });
  });

  it('backs up now and shows live progress per object type until the backup is ready', async () => {
    await page.goto(`${suite.runtime.url}/backups`);
    await signIn(page, 'admin@acme.example');
    await page.getByRole('heading', { name: 'Backups', level: 1 }).waitFor();
    await page.getByText('No backups yet.').waitFor();
    const sent = page.waitForRequest((request) => request.method() === 'POST' && request.url().endsWith('/v1/backups'));
    await page.getByRole('button', { name: 'Back up now' }).click();
    // One key per click: a retry of this click could never start a second backup.
    expect((await sent).headers()['idempotency-key']).toMatch(/^[0-9a-f-]{36}$/);
    await page.waitForURL(/\/backups\/[^/]+$/);
    backupId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
    await expect.poll(() => page.locator('#backup-status').textContent()).toMatch(/^(Queued|Running)$/);
    await page.getByRole('progressbar', { name: 'Object types exported' }).waitFor();
    // Per object type: some exporting or exported while the backup as a whole still runs.
    const progressText = () => page.getByRole('table', { name: 'Object types in this backup' }).innerText();
    await expect.poll(progressText, { timeout: 30_000 }).toMatch(/Exporting|Exported/);
    expect(await page.locator('#backup-status').textContent()).toBe('Running');
    await screenshot(page, 'backup-running');
    // The page polls GET /v1/backups/{id} while it runs, then says it is ready.
    await expect.poll(() => page.locator('#backup-status').textContent(), { timeout: 60_000 }).toBe('Ready');
    const api = (await suite.runtime.api('GET', `/v1/backups/${backupId}`)).body;
    expect(api.status).toBe('SUCCEEDED');
    const rows = await page.getByRole('table', { name: 'Object types in this backup' }).locator('tbody tr').allInnerTexts();
    expect(rows).toHaveLength(api.objects.length);
    for (const object of api.objects) expect(rows.some((row) => row.startsWith(object.objectType) && row.includes(String(object.records)))).toBe(true);
    await expect.poll(() => page.getByRole('button', { name: 'Download' }).isVisible()).toBe(true);
    await screenshot(page, 'backup-ready');
  });

  it('lists the backup in the history with its size, record count and expiry countdown', async () => {
    await page.getByRole('link', { name: '← All backups' }).click();
    const table = page.getByRole('table', { name: 'Backup history, newest first' });
    await table.waitFor();
    const api = (await suite.runtime.api('GET', `/v1/backups/${backupId}`)).body;
    const total = api.objects.reduce((sum: number, object: { records: number }) => sum + object.records, 0);
    const row = await table.locator('tbody tr').first().innerText();
    expect(row).toContain('Ready');
    expect(row).toContain('admin@acme.example');
    expect(row).toContain(`${total.toLocaleString('en')} in ${api.objects.filter((o: { records: number }) => o.records > 0).length} types`);
    expect(row).toMatch(/1[34] days \d+ h left/);
  });

  it('disables "Back up now" with the reason and the next allowed time once the quota is spent, on a fresh page load', async () => {
    // The history page opened after the backup already knows: the quota is read on load.
    await expect.poll(() => page.getByRole('button', { name: 'Back up now' }).isDisabled()).toBe(true);
    const quota = (await suite.runtime.api('GET', '/v1/backup-quota')).body;
    expect(quota.allowed).toBe(false);
    // A new browser context: nothing remembered from a refusal, no 429 seen yet; a reader in Berlin.
    const context = await suite.browser.newContext({ viewport: { width: 1100, height: 800 }, locale: 'de-DE', timezoneId: 'Europe/Berlin' });
    const fresh = await context.newPage();
    await fresh.goto(`${suite.runtime.url}/backups`);
    await signIn(fresh, 'admin@acme.example');
    await fresh.getByRole('heading', { name: 'Backups', level: 1 }).waitFor();
    const reason = fresh.locator('#quota-reason');
    await expect.poll(() => reason.textContent()).toMatch(/Enterprise accounts can create one backup every 24 hours\..*Next backup allowed: /);
    expect(await fresh.getByRole('button', { name: 'Back up now' }).isDisabled()).toBe(true);
    // The same refusal the API gives: the time shown is the API's nextAllowedAt, localized.
    const refusal = await suite.runtime.api('POST', '/v1/backups', { body: {} });
    expect(refusal.status).toBe(429);
    expect(refusal.body.error.nextAllowedAt).toBe(quota.nextAllowedAt);
    // The time appears once, in the reader's locale and time zone, never as the API's ISO timestamp.
    const shown = await fresh.evaluate((iso) => new Date(iso).toLocaleString('de-DE', { timeZone: 'Europe/Berlin', dateStyle: 'medium', timeStyle: 'short' }), quota.nextAllowedAt as string);
    const text = (await reason.textContent())!;
    expect(text).toBe(`Enterprise accounts can create one backup every 24 hours. Next backup allowed: ${shown}.`);
    expect(text).not.toContain(quota.nextAllowedAt);
    await context.close();
    // The documentation's picture, in the browser's default (English) locale.
    await page.reload();
    await expect.poll(() => page.locator('#quota-reason').textContent()).toMatch(/Next backup allowed: /);
    await screenshot(page, 'backups');
  });

  it('still answers a 429 on click: the quota was spent after the page loaded', async () => {
    const context = await suite.browser.newContext({ viewport: { width: 1100, height: 800 } });
    const globex = await context.newPage();
    await globex.goto(`${suite.runtime.url}/backups`);
    await signIn(globex, 'admin@globex.example');
    await globex.getByRole('heading', { name: 'Backups', level: 1 }).waitFor();
    const button = globex.getByRole('button', { name: 'Back up now' });
    expect(await button.isDisabled()).toBe(false);
    // Another admin (here: the API) spends the quota meanwhile.
    expect((await suite.runtime.api('POST', '/v1/backups', { as: 'admin@globex.example', body: {} })).status).toBe(202);
    await button.click();
    await expect.poll(() => globex.locator('#quota-reason').textContent()).toMatch(/Professional accounts can create one backup every 7 days\..*Next backup allowed: /);
    expect(await button.isDisabled()).toBe(true);
    expect(new URL(globex.url()).pathname).toBe('/backups');
    await context.close();
    await suite.runtime.idle();
  });

  it('turns scheduled backups on and off', async () => {
    const toggle = page.getByRole('switch', { name: /Back up automatically/ });
    expect(await toggle.isChecked()).toBe(false);
    await toggle.check();
    await page.getByText('On: backups are taken as often as your plan allows.').waitFor();
    expect((await suite.runtime.api('GET', '/v1/backup-schedule')).body.enabled).toBe(true);
    await toggle.uncheck();
    await page.getByText('Off.').waitFor();
    expect((await suite.runtime.api('GET', '/v1/backup-schedule')).body.enabled).toBe(false);
  });

  it('downloads through the email link: sign in first, then the download starts by itself', async () => {
    const email = (await suite.runtime.outbox()).find((candidate) => candidate.text.includes(`/backups/${backupId}`));
    expect(email, 'the backup-ready email').toBeDefined();
    const link = /(https?:\/\/\S+\/backups\/[^\s"<]+)/.exec(email!.text)![1]!;
    const context = await suite.browser.newContext({ acceptDownloads: true });
    const fresh = await context.newPage();
    await fresh.goto(link);
    await fresh.getByRole('heading', { name: 'Sign in' }).waitFor();
    const downloadStarted = fresh.waitForEvent('download', { timeout: 30_000 });
    await signIn(fresh, 'admin@acme.example');
    const download = await downloadStarted;
    expect(new URL(fresh.url()).pathname).toBe(`/backups/${encodeURIComponent(backupId)}`);
    expect(download.suggestedFilename()).toMatch(/^crm-backup-acme-.*\.zip$/);
    const file = join(downloads, download.suggestedFilename());
    await download.saveAs(file);
    const report = await verifyBackupZip(file);
    expect(report.problems).toEqual([]);
    expect(report.manifest?.backupId).toBe(backupId);
    await fresh.getByText('Your download has started.').waitFor();
    const audit = (await suite.runtime.api('GET', '/v1/audit-log')).body;
    expect(audit.items.some((entry: { action: string; resourceId?: string }) => entry.action === 'BACKUP_DOWNLOADED' && entry.resourceId === backupId)).toBe(true);
    await context.close();
  });

  it('fits a phone-width screen: the history becomes cards, nothing scrolls sideways', async () => {
    const phone = await suite.browser.newPage({ viewport: { width: 375, height: 740 } });
    await phone.goto(`${suite.runtime.url}/backups`);
    await signIn(phone, 'admin@acme.example');
    await phone.getByRole('table', { name: 'Backup history, newest first' }).waitFor();
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot(phone, 'backups-phone');
    await phone.close();
  });
});
