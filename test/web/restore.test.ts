import { generate } from 'otplib';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { TestRuntime } from '../support/local-runtime.ts';
import { screenshot, signIn, useBrowserSuite, withLatency } from './browser.ts';

interface Deal {
  id: string;
  properties: Record<string, string>;
}

async function allDeals(runtime: TestRuntime): Promise<Deal[]> {
  const response = await runtime.api('GET', '/v1/objects/deals/records?limit=500');
  expect(response.status).toBe(200);
  return response.body.items;
}

/** Walks the wizard up to the plan: backup → deals → the given properties → review. */
async function planInWizard(page: Page, runtime: TestRuntime, properties: RegExp[]): Promise<void> {
  await page.getByRole('link', { name: 'Restore' }).click();
  await page.getByText('Step 1 of 5: which backup?').waitFor();
  await page.getByRole('radio').first().check();
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByText('Step 2 of 5: which object type?').waitFor();
  await page.getByRole('radio', { name: /^Deals/ }).check();
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByText('Step 3 of 5: which properties of deals?').waitFor();
  for (const name of properties) await page.getByRole('checkbox', { name }).check();
  await page.getByRole('button', { name: 'Review the plan' }).click();
  await page.getByRole('heading', { name: 'Step 4 of 5: what this restore will change' }).waitFor();
}

const stat = (page: Page, id: string) => page.locator(`#${id}`).textContent();

describe('the web page: the restore wizard', () => {
  // The restore's batch reads take 1.5 s more, so the running state can be watched.
  const suite = useBrowserSuite({ wrapDeps: (deps) => ({ ...deps, records: withLatency(deps.records, 'getStampedRecords', 1500) }) });
  let backedUp: Map<string, Deal>;

  beforeAll(async () => {
    backedUp = new Map((await allDeals(suite.runtime)).map((deal) => [deal.id, deal]));
    const started = await suite.runtime.api('POST', '/v1/backups', { body: {} });
    expect(started.status).toBe(202);
    await suite.runtime.idle();
    expect((await suite.runtime.api('GET', `/v1/backups/${started.body.id}`)).body.status).toBe('SUCCEEDED');
  });

  it('walks backup → object type → properties → plan → acknowledgements and TOTP → progress → result, with the plan\'s numbers matching the data', async () => {
    // After the backup: rename 3 deals, give a value to an amount that was blank, delete 2 deals.
    const deals = [...backedUp.values()];
    const renamed = deals.slice(0, 3);
    const blankAmount = deals.find((deal, index) => index >= 3 && deal.properties.amount === '');
    expect(blankAmount, 'demo data has a deal with a blank amount').toBeDefined();
    const deleted = deals.filter((deal) => deal !== blankAmount).slice(3, 5);
    for (const deal of renamed) {
      expect((await suite.runtime.api('PATCH', `/v1/objects/deals/records/${deal.id}`, { body: { properties: { dealname: `Renamed ${deal.id}` } } })).status).toBe(200);
    }
    expect((await suite.runtime.api('PATCH', `/v1/objects/deals/records/${blankAmount!.id}`, { body: { properties: { amount: '999' } } })).status).toBe(200);
    for (const deal of deleted) expect((await suite.runtime.api('DELETE', `/v1/objects/deals/records/${deal.id}`)).status).toBeLessThan(300);

    const page = await suite.browser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.goto(`${suite.runtime.url}/restore`);
    await signIn(page, 'admin@acme.example');
    await page.getByText('Step 1 of 5: which backup?').waitFor();
    await page.getByRole('radio').first().check();
    await page.getByRole('button', { name: 'Next' }).click();
    // Conversations cannot be restored: not offered.
    await page.getByText('Step 2 of 5: which object type?').waitFor();
    expect(await page.getByRole('radio', { name: /^Conversations/ }).count()).toBe(0);
    expect(await page.getByRole('radio', { name: /^Contacts/ }).count()).toBe(1);
    // Arrow keys move through the choices (the screen is not redrawn under the keyboard).
    expect(await page.getByRole('button', { name: 'Next' }).isDisabled()).toBe(true);
    await page.getByRole('radio').first().focus();
    await page.keyboard.press('ArrowDown');
    expect(await page.evaluate(() => (document.activeElement as HTMLInputElement).type + (document.activeElement as HTMLInputElement).checked)).toBe('radiotrue');
    expect(await page.getByRole('button', { name: 'Next' }).isDisabled()).toBe(false);
    await page.getByRole('radio', { name: /^Deals/ }).check();
    await page.getByRole('button', { name: 'Next' }).click();
    // Read-only and calculated properties are shown, and cannot be picked.
    await page.getByText('Step 3 of 5: which properties of deals?').waitFor();
    expect(await page.getByRole('checkbox', { name: /^Create date/ }).isDisabled()).toBe(true);
    expect(await page.getByRole('checkbox', { name: /^Days to close/ }).isDisabled()).toBe(true);
    expect(await page.getByText('(calculated: cannot be restored)').count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Review the plan' }).isDisabled()).toBe(true);
    await page.getByRole('checkbox', { name: /^Deal name/ }).check();
    await page.getByRole('checkbox', { name: /^Amount/ }).check();
    await screenshot(page, 'restore-properties');
    await page.getByRole('button', { name: 'Review the plan' }).click();

    // The plan, checked against what was changed since the backup.
    await page.getByRole('heading', { name: 'Step 4 of 5: what this restore will change' }).waitFor();
    expect(await stat(page, 'plan-in-backup')).toBe(String(backedUp.size));
    expect(await stat(page, 'plan-to-change')).toBe('4');
    expect(await stat(page, 'plan-missing')).toBe('2');
    expect(await stat(page, 'plan-unchanged')).toBe(String(backedUp.size - 4 - 2));
    const perProperty = await page.getByRole('table', { name: 'Changes per property' }).locator('tbody tr').allInnerTexts();
    expect(perProperty.map((row) => row.split('\t').map((cell) => cell.trim()))).toEqual([
      ['Deal name', '3', '0'],
      ['Amount', '0', '1'],
    ]);
    const sample = await page.getByRole('table', { name: 'Sample of the changes, before and after' }).locator('tbody tr').allInnerTexts();
    const firstRenamed = renamed[0]!;
    expect(sample).toContainEqual(`${firstRenamed.id}\tDeal name\tRenamed ${firstRenamed.id}\t${firstRenamed.properties.dealname}`);
    expect(sample).toContainEqual(`${blankAmount!.id}\tAmount\t999\t(cleared)`);
    await page.getByText('2 records in the backup no longer exist. A restore does not re-create them').waitFor();
    await screenshot(page, 'restore-plan');
    await page.getByRole('button', { name: 'Continue' }).click();

    // Both acknowledgements and a TOTP code; the API's sentences are shown when one is missing or wrong.
    await page.getByText('Step 5 of 5: confirm').waitFor();
    const totp = page.getByRole('textbox', { name: 'Code from your authenticator app' });
    await totp.fill('000000');
    const refusal = async () => {
      const answered = page.waitForResponse((response) => new URL(response.url()).pathname === '/v1/restores');
      await page.getByRole('button', { name: 'Restore 4 records' }).click();
      const response = await answered;
      const { error } = await response.json();
      await expect.poll(() => page.getByRole('alert').textContent()).toBe(error.message);
      return { status: response.status(), code: error.code as string };
    };
    expect(await refusal()).toEqual({ status: 400, code: 'VALIDATION_ERROR' });
    await page.getByRole('checkbox', { name: /changes CRM data/ }).check();
    await page.getByRole('checkbox', { name: /undone only for as long as its backup is kept/ }).check();
    expect(await refusal()).toEqual({ status: 401, code: 'REAUTH_FAILED' });
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('totp');
    await screenshot(page, 'restore-confirm');
    const secret = /admin@acme\.example\s+secret (\S+)/.exec(await suite.runtime.banner())?.[1];
    expect(secret, 'the demo TOTP secret in the banner').toBeDefined();
    await totp.fill(await generate({ secret: secret! }));
    await page.getByRole('button', { name: 'Restore 4 records' }).click();

    // Live progress, then the result with links to the import entry and the audit log.
    await page.waitForURL(/\/restores\/[^/]+$/);
    const restoreId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
    await expect.poll(() => page.locator('#restore-status').textContent()).toBe('Running');
    await page.getByRole('progressbar', { name: 'Records processed' }).waitFor();
    await screenshot(page, 'restore-running');
    await expect.poll(() => page.locator('#restore-status').textContent(), { timeout: 60_000 }).toBe('Finished');
    expect(await stat(page, 'restore-updated')).toBe('4');
    expect(await stat(page, 'restore-unchanged')).toBe(String(backedUp.size - 6));
    expect(await stat(page, 'restore-missing')).toBe('2');
    expect(await stat(page, 'restore-failed')).toBe('0');
    await screenshot(page, 'restore-result');
    const after = new Map((await allDeals(suite.runtime)).map((deal) => [deal.id, deal]));
    for (const deal of renamed) expect(after.get(deal.id)!.properties.dealname).toBe(deal.properties.dealname);
    expect(after.get(blankAmount!.id)!.properties.amount).toBe('');
    for (const deal of deleted) expect(after.has(deal.id)).toBe(false);

    await page.getByRole('link', { name: 'See it in the imports' }).click();
    const imports = page.getByRole('table', { name: 'Completed imports' });
    await imports.waitFor();
    const row = await imports.locator('tbody tr').first().innerText();
    expect(row).toContain('Data restore - Deal');
    expect(row).toContain('4 updated');
    await screenshot(page, 'imports');
    await page.getByRole('link', { name: 'Details' }).first().click();
    await page.waitForURL(`**/restores/${encodeURIComponent(restoreId)}`);
    await page.getByRole('link', { name: 'Open the audit log' }).click();
    const audit = page.getByRole('table', { name: 'Audit log, newest first' });
    await audit.waitFor();
    const entries = await audit.locator('tbody tr').allInnerTexts();
    expect(entries.some((entry) => /restore completed/.test(entry))).toBe(true);
    expect(entries.some((entry) => /restore started/.test(entry))).toBe(true);
    await screenshot(page, 'audit-log');
    await page.close();
  });

  it('does not ask an SSO sign-in for a TOTP code', async () => {
    const deal = [...backedUp.values()].find((candidate) => candidate.properties.dealname !== '')!;
    expect((await suite.runtime.api('PATCH', `/v1/objects/deals/records/${deal.id}`, { body: { properties: { dealname: 'Changed again' } } })).status).toBe(200);
    // At phone width, to check the wizard fits too.
    const page = await suite.browser.newPage({ viewport: { width: 375, height: 800 } });
    await page.goto(`${suite.runtime.url}/backups`);
    await signIn(page, 'sso-admin@acme.example');
    await page.getByRole('heading', { name: 'Backups', level: 1 }).waitFor();
    await planInWizard(page, suite.runtime, [/^Deal name/]);
    expect(await stat(page, 'plan-to-change')).toBe('1');
    expect(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBeLessThanOrEqual(0);
    await screenshot(page, 'restore-plan-phone');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByText('You signed in through single sign-on: no code is needed.').waitFor();
    expect(await page.getByRole('textbox', { name: 'Code from your authenticator app' }).count()).toBe(0);
    await page.getByRole('checkbox', { name: /changes CRM data/ }).check();
    await page.getByRole('checkbox', { name: /undone only for as long as its backup is kept/ }).check();
    await page.getByRole('button', { name: 'Restore 1 record' }).click();
    await expect.poll(() => page.locator('#restore-status').textContent(), { timeout: 60_000 }).toBe('Finished');
    expect(await stat(page, 'restore-updated')).toBe('1');
    const restored = await suite.runtime.api('GET', `/v1/objects/deals/records/${deal.id}`);
    expect(restored.body.properties.dealname).toBe(deal.properties.dealname);
    await page.close();
  });
});
