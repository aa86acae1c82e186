import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRuntime, type ApiResponse, type TestRuntime } from '../support/local-runtime.ts';
import { movableClock, nextTotpCode } from '../support/movable-clock.ts';

const ADMIN = { email: 'admin@acme.example', sub: 'user-acme-admin' };
const NEW_ADMIN = { email: 'fresh-admin@acme.example', sub: 'user-acme-fresh-admin' };
const acknowledge = { changesData: true, cannotBeUndone: true };

/**
 * The enrolment's life as the Authenticator screen and `crm-backup totp` see it:
 * `GET /v1/me/totp-enrolment` for the status, `POST` to enrol or (with `replace`) to
 * reset, and the emailed link to confirm either. A reset changes nothing until its
 * link is confirmed: a stolen session cannot swap in its own app, nor lock the admin out.
 */
describe('TOTP enrolment: status and reset', () => {
  const clock = movableClock();
  let runtime: TestRuntime;
  let adminSecret: string;
  let planId: string;
  /** The admin's app after the reset test confirmed a new one. */
  let confirmedSecret: string;

  const as = async (user: { email: string; sub: string }, method: string, path: string, body?: unknown): Promise<ApiResponse> =>
    runtime.api(method, path, {
      as: null,
      body,
      headers: { authorization: `Bearer ${await runtime.issuer.sign({ email: user.email, 'custom:accountId': 'acme', 'cognito:groups': ['super-admins'] }, user.sub)}` },
    });
  const newestLink = async (email: string) => {
    const message = (await runtime.outbox()).find((candidate) => candidate.to.includes(email) && /authenticator/i.test(candidate.subject))!;
    return { token: /#token=([\w-]+)/.exec(message.text)![1]!, message };
  };
  const restoreWith = async (totp: string) => as(ADMIN, 'POST', '/v1/restores', { planId, acknowledge, totp });
  let backupId: string;
  const newPlan = async () => {
    planId = (await runtime.api('POST', `/v1/backups/${backupId}/restore-plans`, { body: { objectType: 'deals', properties: ['dealname'] } })).body.id;
  };

  beforeAll(async () => {
    runtime = await startTestRuntime({ clock });
    adminSecret = /admin@acme\.example\s+secret (\w+)/.exec(await runtime.banner())![1]!;
    backupId = (await runtime.api('POST', '/v1/backups')).body.id;
    await runtime.idle();
    await newPlan();
  });
  afterAll(async () => {
    await runtime?.destroy();
  });

  it('answers the status: none, pending its link, confirmed; never the secret', async () => {
    expect((await as(NEW_ADMIN, 'GET', '/v1/me/totp-enrolment')).body).toEqual({ required: true, status: 'NONE' });

    const enrolled = await as(NEW_ADMIN, 'POST', '/v1/me/totp-enrolment');
    expect(enrolled.status, JSON.stringify(enrolled.body)).toBe(201);
    expect(enrolled.body.replacesConfirmed).toBe(false);
    const pending = await as(NEW_ADMIN, 'GET', '/v1/me/totp-enrolment');
    expect(pending.body).toEqual({
      required: true,
      status: 'PENDING_CONFIRMATION',
      enrolledAt: expect.any(String),
      pendingConfirmation: { sentTo: NEW_ADMIN.email, expiresAt: enrolled.body.confirmationExpiresAt, expired: false, replacesConfirmed: false },
    });
    expect(JSON.stringify(pending.body)).not.toContain(enrolled.body.secret);
    // A restore says what is missing, in a field the page and the CLI act on.
    const refused = await as(NEW_ADMIN, 'POST', '/v1/restores', { planId, acknowledge, totp: '123456' });
    expect(refused.body.error).toMatchObject({ code: 'REAUTH_REQUIRED', authenticator: 'PENDING_CONFIRMATION' });

    const { token } = await newestLink(NEW_ADMIN.email);
    const confirmed = await as(NEW_ADMIN, 'POST', '/v1/me/totp-enrolment/confirmation', { token, totp: await nextTotpCode(clock, enrolled.body.secret) });
    expect(confirmed.body).toEqual({ status: 'CONFIRMED', confirmedAt: expect.any(String), replacedEarlier: false });
    expect((await as(NEW_ADMIN, 'GET', '/v1/me/totp-enrolment')).body).toEqual({
      required: true,
      status: 'CONFIRMED',
      enrolledAt: expect.any(String),
      confirmedAt: confirmed.body.confirmedAt,
    });
  });

  it('says an SSO sign-in needs no code, and refuses users who are not super admins', async () => {
    expect((await runtime.api('GET', '/v1/me/totp-enrolment', { as: 'sso-admin@acme.example' })).body).toMatchObject({ required: false });
    expect((await runtime.api('GET', '/v1/me/totp-enrolment', { as: 'user@acme.example' })).status).toBe(403);
  });

  it('resets a confirmed authenticator only when asked, keeps the old one working until the emailed link confirms the new one, then only the new one', async () => {
    const plain = await as(ADMIN, 'POST', '/v1/me/totp-enrolment');
    expect(plain.status).toBe(409);
    expect(plain.body.error.code).toBe('TOTP_ALREADY_ENROLLED');
    expect(plain.body.error.message).toMatch(/reset it on the Authenticator screen/);

    const reset = await as(ADMIN, 'POST', '/v1/me/totp-enrolment', { replace: true });
    expect(reset.status, JSON.stringify(reset.body)).toBe(201);
    expect(reset.body).toMatchObject({ status: 'PENDING_CONFIRMATION', confirmationSentTo: ADMIN.email, replacesConfirmed: true });
    const newSecret: string = reset.body.secret;
    expect(newSecret).not.toBe(adminSecret);
    const { token, message } = await newestLink(ADMIN.email);
    expect(message.subject).toBe('Confirm your new authenticator app for CRM restores');
    expect(message.text).toContain('your current app keeps working');
    expect(message.text).not.toContain(newSecret);
    expect((await as(ADMIN, 'GET', '/v1/me/totp-enrolment')).body).toMatchObject({
      status: 'CONFIRMED',
      pendingConfirmation: { sentTo: ADMIN.email, expired: false, replacesConfirmed: true },
    });

    // Until the link is confirmed: the new app's codes are refused, the old app's accepted.
    const newCode = await nextTotpCode(clock, newSecret);
    expect((await restoreWith(newCode)).body.error.code).toBe('REAUTH_FAILED');
    const meanwhile = await restoreWith(await nextTotpCode(clock, adminSecret));
    expect(meanwhile.status, JSON.stringify(meanwhile.body)).toBe(202);
    await runtime.idle();
    await newPlan();
    // Another admin cannot use the link, nor can a wrong code or the old app's code confirm it.
    expect((await as(NEW_ADMIN, 'POST', '/v1/me/totp-enrolment/confirmation', { token, totp: await nextTotpCode(clock, newSecret) })).body.error.code).toBe('INVALID_CONFIRMATION');
    expect((await as(ADMIN, 'POST', '/v1/me/totp-enrolment/confirmation', { token, totp: await nextTotpCode(clock, adminSecret) })).body.error.code).toBe('REAUTH_FAILED');

    const confirmed = await as(ADMIN, 'POST', '/v1/me/totp-enrolment/confirmation', { token, totp: await nextTotpCode(clock, newSecret) });
    expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200);
    expect(confirmed.body.replacedEarlier).toBe(true);
    const status = (await as(ADMIN, 'GET', '/v1/me/totp-enrolment')).body;
    expect(status).toEqual({ required: true, status: 'CONFIRMED', enrolledAt: expect.any(String), confirmedAt: confirmed.body.confirmedAt });

    expect((await restoreWith(await nextTotpCode(clock, adminSecret))).body.error.code).toBe('REAUTH_FAILED');
    // The link worked once.
    expect((await as(ADMIN, 'POST', '/v1/me/totp-enrolment/confirmation', { token, totp: await nextTotpCode(clock, newSecret) })).body.error.code).toBe('INVALID_CONFIRMATION');
    confirmedSecret = newSecret;
    const restored = await restoreWith(await nextTotpCode(clock, newSecret));
    expect(restored.status, JSON.stringify(restored.body)).toBe(202);
    await runtime.idle();

    const audit = (await runtime.api('GET', '/v1/audit-log?limit=100')).body.items.filter((entry: { actor: string }) => entry.actor === ADMIN.email);
    expect(audit.find((entry: { action: string }) => entry.action === 'TOTP_ENROLMENT_REQUESTED').summary).toMatch(/replace their confirmed authenticator app/);
    expect(audit.find((entry: { action: string }) => entry.action === 'TOTP_ENROLMENT_CONFIRMED').summary).toMatch(/replaced the earlier one/);
  });

  it('lets a reset nobody confirms lapse: the old app still works after the link expired, and the link answers 410', async () => {
    const reset = await as(ADMIN, 'POST', '/v1/me/totp-enrolment', { replace: true });
    expect(reset.status).toBe(201);
    const { token } = await newestLink(ADMIN.email);
    clock.advance(61 * 60_000);
    expect((await as(ADMIN, 'GET', '/v1/me/totp-enrolment')).body.pendingConfirmation).toMatchObject({ expired: true, replacesConfirmed: true });
    const late = await as(ADMIN, 'POST', '/v1/me/totp-enrolment/confirmation', { token, totp: await nextTotpCode(clock, reset.body.secret) });
    expect(late.status).toBe(410);
    expect(late.body.error.code).toBe('CONFIRMATION_EXPIRED');
    await newPlan();
    const restored = await restoreWith(await nextTotpCode(clock, confirmedSecret));
    expect(restored.status, JSON.stringify(restored.body)).toBe(202);
    await runtime.idle();
  });
});
