import { generate } from 'otplib';
import { describe, expect, it } from 'vitest';
import { signIn, useBrowserSuite } from './browser.ts';

const ADMIN = 'sso-admin@acme.example';

describe('the web page: confirming a TOTP enrolment from its emailed link', () => {
  const suite = useBrowserSuite();

  it('opens the link, signs in first if needed, takes a code from the app, and confirms once', async () => {
    const enrolled = await suite.runtime.api('POST', '/v1/me/totp-enrolment', { as: ADMIN });
    expect(enrolled.status, JSON.stringify(enrolled.body)).toBe(201);
    const email = (await suite.runtime.outbox()).find((candidate) => candidate.to.includes(ADMIN) && /authenticator/i.test(candidate.subject))!;
    const link = /(http\S+\/totp-confirmation#token=[\w-]+)/.exec(email.text)![1]!;

    const page = await suite.browser.newPage();
    await page.goto(link);
    // Not signed in yet: the sign-in comes first, then the link's page, token and all.
    await signIn(page, ADMIN);
    await page.getByRole('heading', { name: 'Confirm your authenticator app' }).waitFor();
    const code = await generate({ secret: enrolled.body.secret, epoch: Math.floor(Date.now() / 1000) });

    await page.getByLabel('Code from your authenticator app').fill(code === '000000' ? '111111' : '000000');
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.getByRole('alert').filter({ hasText: /wrong/i }).waitFor();

    await page.getByLabel('Code from your authenticator app').fill(code);
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.getByRole('heading', { name: 'Authenticator app confirmed' }).waitFor();
    expect(new URL(page.url()).hash).toBe('');

    // The same link again: used up, said in a sentence, no form to retry.
    await page.goto(link);
    await page.getByLabel('Code from your authenticator app').fill(code);
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.getByRole('alert').filter({ hasText: /not valid for you/ }).waitFor();
    expect(await page.getByRole('button', { name: 'Confirm' }).isVisible()).toBe(false);
    const audit = (await suite.runtime.api('GET', '/v1/audit-log?limit=50', { as: ADMIN })).body.items.map((entry: { action: string }) => entry.action);
    expect(audit).toEqual(expect.arrayContaining(['TOTP_ENROLMENT_REQUESTED', 'TOTP_ENROLMENT_CONFIRMED']));
    await page.close();
  });
});
