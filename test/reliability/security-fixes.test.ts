import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppDeps } from '#runtime/deps.ts';
import { startTestRuntime, type ApiResponse, type TestRuntime } from '../support/local-runtime.ts';
import { ACKNOWLEDGE, ACME_ADMIN, ACME_SSO_ADMIN, ACME_USER, GLOBEX_ADMIN, dataPlaneHash, expectRefusal, movableClock, totpCode, totpSecretOf } from './support.ts';

/**
 * Regression tests for the application-level findings of the adversarial review
 * (issue 13, findings 1-4 and 7-9): each failed on the code the review ran against.
 * The figures they print are the "after" column of docs/security.md.
 */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const clock = movableClock();
const figures: Record<string, unknown> = {};

/** Server time of API invocations (the Lambda's own duration), by "METHOD /path". */
const serverMs = new Map<string, number>();
/** While set, every workflow start waits this long first: a backup claim stays "starting" for a while. */
const slowStart = { ms: 0 };

describe('security review fixes (issue 13)', () => {
  let runtime: TestRuntime;

  beforeAll(async () => {
    runtime = await startTestRuntime({
      clock,
      onInvoke: (_name, payload, startedAt, endedAt) => {
        const event = payload as { rawPath?: string; requestContext?: { http?: { method?: string } } };
        if (event.rawPath) serverMs.set(`${event.requestContext?.http?.method} ${event.rawPath}`, endedAt - startedAt);
      },
      wrapDeps: (deps: AppDeps) => ({
        ...deps,
        workflows: {
          ...deps.workflows,
          start: async (...args: Parameters<AppDeps['workflows']['start']>) => {
            if (slowStart.ms) await new Promise((resolve) => setTimeout(resolve, slowStart.ms));
            return deps.workflows.start(...args);
          },
          describe: (...args: Parameters<AppDeps['workflows']['describe']>) => deps.workflows.describe(...args),
        },
      }),
    });
  });

  afterAll(async () => {
    console.log(JSON.stringify({ suite: 'security fixes', figures }));
    await runtime?.destroy();
  });

  /** A request and the server time its Lambda took. */
  async function timed(method: string, path: string, options: Parameters<TestRuntime['api']>[2] = {}): Promise<ApiResponse & { ms: number }> {
    const key = `${method} ${new URL(path, 'http://x').pathname}`;
    serverMs.delete(key);
    const response = await runtime.api(method, path, options);
    return { ...response, ms: serverMs.get(key) ?? 0 };
  }

  describe('finding 1: the TOTP lockout holds under concurrent requests', () => {
    it('checks at most 5 of 30 wrong codes sent at once, and refuses the right code sent right after', async () => {
      const secret = await totpSecretOf(runtime, GLOBEX_ADMIN);
      const backup = await runtime.api('POST', '/v1/backups', { as: GLOBEX_ADMIN });
      await runtime.idle();
      const plan = await runtime.api('POST', `/v1/backups/${backup.body.id}/restore-plans`, { as: GLOBEX_ADMIN, body: { objectType: 'deals', properties: ['dealname'] } });
      expect(plan.status, JSON.stringify(plan.body)).toBe(201);
      const restoreWith = (totp: string) => runtime.api('POST', '/v1/restores', { as: GLOBEX_ADMIN, body: { planId: plan.body.id, acknowledge: ACKNOWLEDGE, totp } });
      const checked = async () =>
        (await runtime.api('GET', '/v1/audit-log?limit=500', { as: GLOBEX_ADMIN })).body.items.filter((entry: { action: string }) => entry.action === 'REAUTH_FAILED').length;

      const valid = new Set(await Promise.all([-30, 0, 30].map((offset) => generate({ secret, epoch: Math.floor(clock.now().getTime() / 1000) + offset }))));
      const wrong = Array.from({ length: 40 }, (_, index) => String(100_000 + index * 7919)).filter((code) => !valid.has(code)).slice(0, 30);
      const before = await checked();
      const burst = await Promise.all(wrong.map((code) => restoreWith(code)));
      for (const answer of burst) expectRefusal(answer, 401, 'REAUTH_FAILED', 'a wrong code in the burst');
      const codesChecked = (await checked()) - before;

      const right = await restoreWith(await totpCode(secret, clock.now()));
      figures.totpBurst = { sent: wrong.length, codesChecked, rightCodeAfterwards: right.status };
      expect(codesChecked).toBeLessThanOrEqual(5);
      expectRefusal(right, 401, 'REAUTH_FAILED', 'the right code while locked out');
      expect(right.body.error.message).toMatch(/Too many/);
      expect((await runtime.api('GET', '/v1/restores', { as: GLOBEX_ADMIN })).body.items).toEqual([]);

      // The lock ends with its window; no failure in between cleared it early.
      clock.advance(16 * 60_000);
      const accepted = await restoreWith(await totpCode(secret, clock.now()));
      expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
      await runtime.idle();
    });
  });

  describe('finding 2: deeply nested JSON is refused in linear time', () => {
    it('refuses a body nested 32,000 levels deep in milliseconds, before the admin check, on every route that reads a body', async () => {
      const deep = `${'['.repeat(32_000)}${']'.repeat(32_000)}`;
      const deal = (await runtime.api('GET', '/v1/objects/deals/records?limit=1', { as: ACME_USER })).body.items[0].id;
      const answers: Array<[string, ApiResponse & { ms: number }]> = [];
      for (const [method, path] of [
        ['PUT', '/v1/backup-schedule'],
        ['PATCH', `/v1/objects/deals/records/${deal}`],
        ['POST', '/v1/restores'],
        ['POST', '/v1/backups/bk_x/restore-plans'],
      ] as const) {
        answers.push([`${method} ${path.replace(deal, '{id}')}`, await timed(method, path, { as: ACME_USER, body: deep })]);
      }
      figures.nested32000 = Object.fromEntries(answers.map(([route, answer]) => [route, { status: answer.status, ms: answer.ms }]));
      for (const [route, answer] of answers) {
        expectRefusal(answer, 400, 'VALIDATION_ERROR', route);
        expect(answer.body.error.message, route).toMatch(/more than 32 levels/);
        expect(answer.ms, route).toBeLessThan(100);
      }
    });

    it("keeps wide bodies cheap too: 4,000 keys, or 6,000 array items, each refused within the fuzzer's 250 ms", async () => {
      const deal = (await runtime.api('GET', '/v1/objects/deals/records?limit=1', { as: ACME_USER })).body.items[0].id;
      const wideObject = JSON.stringify({ properties: Object.fromEntries(Array.from({ length: 4000 }, (_, index) => [`p${index}`, 'x'])) });
      const wideArray = JSON.stringify({ objectType: 'deals', properties: Array.from({ length: 6000 }, (_, index) => `p${index}`) });
      const object = await timed('PATCH', `/v1/objects/deals/records/${deal}`, { as: ACME_USER, body: wideObject });
      const array = await timed('POST', '/v1/backups/bk_x/restore-plans', { as: ACME_USER, body: wideArray });
      figures.wideBodies = { object4000Keys: { status: object.status, ms: object.ms }, array6000Items: { status: array.status, ms: array.ms } };
      expectRefusal(object, 400, 'VALIDATION_ERROR');
      expect([400, 403]).toContain(array.status);
      expect(object.ms).toBeLessThan(250);
      expect(array.ms).toBeLessThan(250);
    });
  });

  /** A cursor the API handed out, decoded, changed, and encoded again. */
  const edit = (cursor: string, change: (fields: Record<string, unknown>) => void) => {
    const fields = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    change(fields);
    return Buffer.from(JSON.stringify(fields)).toString('base64url');
  };

  describe('finding 3: every field of a cursor is checked', () => {
    it('answers 400 INVALID_CURSOR at once to a records cursor with its segment out of range or of the wrong type', async () => {
      const first = await runtime.api('GET', '/v1/objects/deals/records?limit=1', { as: ACME_USER });
      const cursor: string = first.body.nextCursor;
      expect(cursor).toBeDefined();
      const cases: Array<[string, (fields: Record<string, unknown>) => void]> = [
        ['s: -3000', (fields) => (fields.s = -3000)],
        ['s: 16', (fields) => (fields.s = 16)],
        ['s: 1e9', (fields) => (fields.s = 1e9)],
        ['s: 1.5', (fields) => (fields.s = 1.5)],
        ['s: "3"', (fields) => (fields.s = '3')],
        ['k: 5', (fields) => (fields.k = 5)],
        ['no k', (fields) => delete fields.k],
        ['an extra field', (fields) => (fields.pk = 'R#globex#deals#00')],
      ];
      const answers: Array<[string, ApiResponse & { ms: number }]> = [];
      for (const [label, change] of cases) answers.push([label, await timed('GET', `/v1/objects/deals/records?limit=5&cursor=${edit(cursor, change)}`, { as: ACME_USER })]);
      figures.segmentCursor = Object.fromEntries(answers.map(([label, answer]) => [label, { status: answer.status, ms: answer.ms }]));
      for (const [label, answer] of answers) {
        expectRefusal(answer, 400, 'INVALID_CURSOR', label);
        expect(answer.ms, label).toBeLessThan(250);
      }
    });
  });

  describe('finding 4: cursors are bound to their list and never reach DynamoDB too long', () => {
    it('answers 400 INVALID_CURSOR, never 500, to a cursor whose key is over 1,024 bytes, on every list', async () => {
      // Two of each kind of item, so that every list hands out a cursor.
      for (let round = 0; round < 2; round += 1) {
        const backup = await runtime.api('POST', '/v1/backups', { as: ACME_ADMIN });
        expect(backup.status, JSON.stringify(backup.body)).toBe(202);
        await runtime.idle();
        const plan = await runtime.api('POST', `/v1/backups/${backup.body.id}/restore-plans`, { as: ACME_SSO_ADMIN, body: { objectType: 'deals', properties: ['dealname'] } });
        expect((await runtime.api('POST', '/v1/restores', { as: ACME_SSO_ADMIN, body: { planId: plan.body.id, acknowledge: ACKNOWLEDGE } })).status).toBe(202);
        await runtime.idle();
        clock.advance(DAY + HOUR);
      }
      const deal = (await runtime.api('GET', '/v1/objects/deals/records?limit=1', { as: ACME_USER })).body.items[0].id;
      for (const name of ['first', 'second']) {
        await runtime.api('PATCH', `/v1/objects/deals/records/${deal}`, { as: ACME_USER, body: { properties: { dealname: `${name} edit` } } });
      }
      const answers: Array<[string, ApiResponse]> = [];
      for (const list of ['/v1/objects/deals/records', '/v1/backups', '/v1/restores', '/v1/imports', '/v1/audit-log', '/v1/change-events', `/v1/change-events?recordId=${deal}&`]) {
        const separator = list.endsWith('&') ? '' : '?';
        const first = await runtime.api('GET', `${list}${separator}limit=1`, { as: ACME_ADMIN });
        expect(first.body.nextCursor, list).toBeDefined();
        const long = edit(first.body.nextCursor, (fields) => {
          const key = String(fields.k);
          fields.k = `${key.replace(/#.*$/, '#')}${'x'.repeat(1100)}`;
        });
        answers.push([list, await runtime.api('GET', `${list}${separator}limit=1&cursor=${long}`, { as: ACME_ADMIN })]);
      }
      figures.longKeyCursor = Object.fromEntries(answers.map(([list, answer]) => [list, answer.status]));
      for (const [list, answer] of answers) expectRefusal(answer, 400, 'INVALID_CURSOR', `${list} with a 1,100-byte key`);
    });

    it('refuses a cursor replayed on another list, another object type, another record or by another account', async () => {
      const deal = (await runtime.api('GET', '/v1/objects/deals/records?limit=1', { as: ACME_USER })).body.items[0].id;
      const cursorOf = async (path: string, as = ACME_ADMIN) => {
        const page = await runtime.api('GET', path, { as });
        expect(page.body.nextCursor, path).toBeDefined();
        return page.body.nextCursor as string;
      };
      const replays: Array<[string, string, string, string]> = [
        ['deals → contacts', await cursorOf('/v1/objects/deals/records?limit=1'), '/v1/objects/contacts/records?limit=1&cursor=', ACME_ADMIN],
        ["acme's deals → globex's deals", await cursorOf('/v1/objects/deals/records?limit=1'), '/v1/objects/deals/records?limit=1&cursor=', GLOBEX_ADMIN],
        ['audit log → change events', await cursorOf('/v1/audit-log?limit=1'), '/v1/change-events?limit=1&cursor=', ACME_ADMIN],
        ["acme's audit log → globex's", await cursorOf('/v1/audit-log?limit=1'), '/v1/audit-log?limit=1&cursor=', GLOBEX_ADMIN],
        ['one record\'s events → the feed', await cursorOf(`/v1/change-events?recordId=${deal}&limit=1`), '/v1/change-events?limit=1&cursor=', ACME_ADMIN],
        ['backups → restores', await cursorOf('/v1/backups?limit=1'), '/v1/restores?limit=1&cursor=', ACME_ADMIN],
      ];
      const answers: Array<[string, ApiResponse]> = [];
      for (const [label, cursor, path, as] of replays) answers.push([label, await runtime.api('GET', `${path}${cursor}`, { as })]);
      figures.replayedCursor = Object.fromEntries(answers.map(([label, answer]) => [label, answer.status]));
      for (const [label, answer] of answers) expectRefusal(answer, 400, 'INVALID_CURSOR', label);
    });
  });

  describe('finding 7: a refused backup tells the real next allowed time', () => {
    it('gives every one of 30 concurrent refusals the Retry-After of the next slot, and names the claim still starting', async () => {
      clock.advance(8 * DAY);
      slowStart.ms = 400;
      let answers: ApiResponse[];
      try {
        answers = await Promise.all(Array.from({ length: 30 }, () => runtime.api('POST', '/v1/backups', { as: GLOBEX_ADMIN })));
      } finally {
        slowStart.ms = 0;
      }
      await runtime.idle();
      const winners = answers.filter((answer) => answer.status === 202);
      expect(winners).toHaveLength(1);
      const next = new Date(Date.parse(winners[0]!.body.createdAt) + 7 * DAY).toISOString();
      const expectedSeconds = (Date.parse(next) - clock.now().getTime()) / 1000;
      const refusals = answers.filter((candidate) => candidate.status !== 202);
      figures.concurrentQuotaRefusals = {
        refusals: refusals.length,
        expectedRetryAfter: Math.round(expectedSeconds),
        retryAfterValues: [...new Set(refusals.map((answer) => answer.headers.get('retry-after')))],
        claimInProgress: refusals.filter((answer) => answer.body?.error?.claimInProgress).length,
      };
      let inProgress = 0;
      for (const answer of answers.filter((candidate) => candidate.status !== 202)) {
        expectRefusal(answer, 429, 'QUOTA_EXCEEDED');
        expect(answer.body.error.nextAllowedAt).toBe(next);
        expect(Math.abs(Number(answer.headers.get('retry-after')) - expectedSeconds)).toBeLessThan(60);
        if (answer.body.error.claimInProgress) {
          inProgress += 1;
          expect(answer.body.error.claimInProgress.backupId).toBe(winners[0]!.body.id);
          expect(Date.parse(answer.body.error.claimInProgress.expiresAt)).toBeGreaterThan(clock.now().getTime());
          expect(answer.body.error.message).toMatch(/being started|is starting/);
        }
      }
      expect(inProgress).toBeGreaterThan(0);
    });
  });

  describe('finding 8: TOTP enrolment is confirmed out of band', () => {
    const NEW_ADMIN = { email: 'new-admin@acme.example', sub: 'user-acme-new-admin' };
    const asNewAdmin = async () => runtime.issuer.sign({ email: NEW_ADMIN.email, 'custom:accountId': 'acme', 'cognito:groups': ['super-admins'] }, NEW_ADMIN.sub);
    const call = async (method: string, path: string, body?: unknown) =>
      runtime.api(method, path, { as: null, body, headers: { authorization: `Bearer ${await asNewAdmin()}` } });

    it('refuses restores with a sentence until the emailed link is opened, then accepts codes, auditing both steps', async () => {
      const backup = (await runtime.api('GET', '/v1/backups?limit=1', { as: ACME_ADMIN })).body.items[0];
      const plan = await runtime.api('POST', `/v1/backups/${backup.id}/restore-plans`, { as: ACME_SSO_ADMIN, body: { objectType: 'deals', properties: ['dealname'] } });
      expect(plan.status, JSON.stringify(plan.body)).toBe(201);

      const enrolled = await call('POST', '/v1/me/totp-enrolment');
      expect(enrolled.status, JSON.stringify(enrolled.body)).toBe(201);
      const secret: string = enrolled.body.secret;
      const restore = async () => call('POST', '/v1/restores', { planId: plan.body.id, acknowledge: ACKNOWLEDGE, totp: await totpCode(secret, clock.now()) });

      const hash = await dataPlaneHash(runtime);
      const unconfirmed = await restore();
      expectRefusal(unconfirmed, 401, 'REAUTH_REQUIRED', 'a restore before the enrolment is confirmed');
      expect(unconfirmed.body.error.message).toMatch(/confirm/i);
      expect(unconfirmed.body.error.message).toContain(NEW_ADMIN.email);
      expect(await dataPlaneHash(runtime)).toBe(hash);

      const email = (await runtime.outbox()).find((candidate) => candidate.to.includes(NEW_ADMIN.email) && /authenticator/i.test(candidate.subject));
      expect(email, 'the confirmation email').toBeDefined();
      const link = /https?:\/\/\S+\/totp-confirmation#token=([\w-]+)/.exec(email!.text);
      expect(link, email!.text).not.toBeNull();
      const token = link![1]!;
      expect(email!.text).not.toContain(secret);

      // Nobody else can use the link, a made-up token confirms nothing, and a wrong code does not use the link up.
      const code = () => totpCode(secret, clock.now());
      expectRefusal(await runtime.api('POST', '/v1/me/totp-enrolment/confirmation', { as: ACME_ADMIN, body: { token, totp: await code() } }), 400, 'INVALID_CONFIRMATION');
      expectRefusal(await call('POST', '/v1/me/totp-enrolment/confirmation', { token: `${token.slice(0, -2)}xx`, totp: await code() }), 400, 'INVALID_CONFIRMATION');
      expectRefusal(await call('POST', '/v1/me/totp-enrolment/confirmation', { token, totp: (await code()) === '000000' ? '111111' : '000000' }), 401, 'REAUTH_FAILED');
      expectRefusal(await restore(), 401, 'REAUTH_REQUIRED');

      const confirmed = await call('POST', '/v1/me/totp-enrolment/confirmation', { token, totp: await code() });
      expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200);
      clock.advance(30_000);
      expectRefusal(await call('POST', '/v1/me/totp-enrolment/confirmation', { token, totp: await code() }), 400, 'INVALID_CONFIRMATION');
      expectRefusal(await call('POST', '/v1/me/totp-enrolment'), 409, 'TOTP_ALREADY_ENROLLED');

      clock.advance(30_000);
      const accepted = await restore();
      expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
      await runtime.idle();
      const actions = (await runtime.api('GET', '/v1/audit-log?limit=500', { as: ACME_ADMIN })).body.items
        .filter((entry: { actor: string }) => entry.actor === NEW_ADMIN.email)
        .map((entry: { action: string }) => entry.action);
      expect(actions).toEqual(expect.arrayContaining(['TOTP_ENROLMENT_REQUESTED', 'TOTP_ENROLMENT_CONFIRMED', 'RESTORE_STARTED']));
    });
  });

  describe('finding 9: cognito:groups is a list', () => {
    it('does not count a group named "staff,super-admins" as super-admins', async () => {
      const tokenWith = (groups: string[]) => runtime.issuer.sign({ email: 'staff@acme.example', 'custom:accountId': 'acme', 'cognito:groups': groups }, 'user-acme-staff');
      const as = async (groups: string[], method: string, path: string) =>
        runtime.api(method, path, { as: null, headers: { authorization: `Bearer ${await tokenWith(groups)}` } });
      const comma = await as(['staff,super-admins'], 'GET', '/v1/backups');
      figures.commaGroup = comma.status;
      expectRefusal(comma, 403, 'FORBIDDEN', 'a group named "staff,super-admins"');
      expectRefusal(await as(['staff,super-admins'], 'POST', '/v1/backups'), 403, 'FORBIDDEN');
      expectRefusal(await as(['super-admins,staff'], 'GET', '/v1/audit-log'), 403, 'FORBIDDEN');
      expect((await as(['staff', 'super-admins'], 'GET', '/v1/backups')).status).toBe(200);
    });
  });
});
