import { beforeAll, describe, expect, it } from 'vitest';
import type { AppDeps } from '#runtime/deps.ts';
import { signIn, useBrowserSuite, withLatency } from './browser.ts';

/**
 * No planning budget in the API (every plan answers 202 PLANNING and goes on in the
 * restore-plan state machine, one 15-record segment per invocation), and slow lookups
 * of today's records so the wizard's progress message can be seen.
 */
function planInBackground(deps: AppDeps): AppDeps {
  return { ...deps, records: withLatency(deps.records, 'getRecords', 700), config: { ...deps.config, restoreTuning: { segmentRecords: 15, planBudgetMs: 0, planSegmentsPerInvocation: 1 } } };
}

describe('the web page: a restore plan computed in the background', () => {
  const suite = useBrowserSuite({ wrapDeps: planInBackground });

  beforeAll(async () => {
    const started = await suite.runtime.api('POST', '/v1/backups', { body: {} });
    expect(started.status).toBe(202);
    await suite.runtime.idle();
  });

  it('shows how many records are compared while the plan is made, then the plan', async () => {
    const page = await suite.browser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.goto(suite.runtime.url);
    await signIn(page, 'admin@acme.example');
    await page.getByRole('link', { name: 'Restore' }).click();
    await page.getByRole('radio').first().check();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('radio', { name: /^Deals/ }).check();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('checkbox', { name: /^Deal name/ }).check();
    await page.getByRole('button', { name: 'Review the plan' }).click();
    await expect.poll(() => page.locator('#plan-progress').textContent()).toMatch(/^Comparing the backup with the current data: \d+ of 40 records so far/);
    await page.getByRole('heading', { name: 'Step 4 of 5: what this restore will change' }).waitFor({ timeout: 30_000 });
    expect(await page.locator('#plan-in-backup').textContent()).toBe('40');
    expect(await page.locator('#plan-unchanged').textContent()).toBe('40');
  });
});
