import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';
import { CLI, runCli } from './support.ts';

const NEW_ADMIN = { email: 'cli-admin@acme.example', sub: 'user-acme-cli-admin' };

/** `crm-backup totp status | enrol | reset`: the Authenticator screen's counterpart. */
describe('crm-backup totp', () => {
  let runtime: TestRuntime;
  let admin: Record<string, string>;
  let newAdmin: Record<string, string>;
  let planId: string;

  beforeAll(async () => {
    runtime = await startTestRuntime();
    admin = { CRM_BACKUP_URL: runtime.url, CRM_BACKUP_TOKEN: await runtime.tokenFor('admin@acme.example') };
    newAdmin = {
      CRM_BACKUP_URL: runtime.url,
      CRM_BACKUP_TOKEN: await runtime.issuer.sign({ email: NEW_ADMIN.email, 'custom:accountId': 'acme', 'cognito:groups': ['super-admins'] }, NEW_ADMIN.sub),
    };
    const backupId = (await runtime.api('POST', '/v1/backups')).body.id;
    await runtime.idle();
    planId = (await runtime.api('POST', `/v1/backups/${backupId}/restore-plans`, { body: { objectType: 'deals', properties: ['dealname'] } })).body.id;
  });
  afterAll(async () => {
    await runtime?.destroy();
  });

  it('enrols an admin without an app: the key and URI once, where the link went; status then says it waits for that link', async () => {
    expect((await runCli(['totp', 'status'], newAdmin)).stdout).toBe('No authenticator app enrolled. Enrol one with: crm-backup totp enrol\n');
    // A restore cannot ask for a code this admin does not have: it says how to enrol instead, without prompting.
    const restore = await runCli(['restore', 'apply', planId, '--yes'], newAdmin);
    expect(restore.code).toBe(1);
    expect(restore.stderr).toMatch(/^crm-backup: Restoring data needs a code from an authenticator app, and you have none enrolled: .*crm-backup totp enrol.*\n$/);
    expect(restore.stderr).not.toContain('pass --totp');

    const enrolled = await runCli(['totp', 'enrol'], newAdmin);
    expect(enrolled.code, enrolled.stderr).toBe(0);
    const key = /^Add this key to your authenticator app: ([A-Z2-7 ]+)\n/.exec(enrolled.stdout)![1]!.replace(/ /g, '');
    expect(enrolled.stdout).toContain(`(otpauth://totp/crm-backup:${encodeURIComponent(NEW_ADMIN.email)}?secret=${key}`);
    expect(enrolled.stdout).toContain(`Then confirm it: we emailed a link to ${NEW_ADMIN.email}, valid until `);
    expect(enrolled.stdout).toContain('Until then, restores do not accept codes from this app.');
    // Not a terminal: no QR code in the output.
    expect(enrolled.stdout).not.toContain('█');

    const status = await runCli(['totp', 'status', '--json'], newAdmin);
    expect(JSON.parse(status.stdout)).toMatchObject({ required: true, status: 'PENDING_CONFIRMATION', pendingConfirmation: { sentTo: NEW_ADMIN.email, expired: false } });
    expect(status.stdout).not.toContain(key);
  });

  it('shows a confirmed app, and resets it leaving the current one working until the new one is confirmed', async () => {
    expect((await runCli(['totp', 'status'], admin)).stdout).toMatch(/^Your authenticator app is confirmed \(since .+\); restores accept its codes\.\nLost or replaced your phone\? Reset it with: crm-backup totp reset\n$/);
    const plain = await runCli(['totp', 'enrol'], admin);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain('crm-backup totp reset');

    const reset = await runCli(['totp', 'reset', '--json'], admin);
    expect(reset.code, reset.stderr).toBe(0);
    expect(JSON.parse(reset.stdout)).toMatchObject({ status: 'PENDING_CONFIRMATION', replacesConfirmed: true, confirmationSentTo: 'admin@acme.example' });
    expect((await runCli(['totp', 'status'], admin)).stdout).toMatch(/A reset was asked for\. Waiting for confirmation: open the link we emailed to admin@acme\.example .*Until then your current app keeps working\.\n$/);
  });

  it('tells an SSO sign-in it needs no code', async () => {
    const sso = { CRM_BACKUP_URL: runtime.url, CRM_BACKUP_TOKEN: await runtime.tokenFor('sso-admin@acme.example') };
    expect((await runCli(['totp', 'status'], sso)).stdout).toBe('You signed in through single sign-on: restores and downloads ask you for no code.\n');
  });

  it('prints the QR code on a terminal', async () => {
    const command = [process.execPath, CLI, 'totp', 'enrol'].map((part) => `'${part}'`).join(' ');
    // `script` gives the CLI a pseudo-terminal, as a person running it would have.
    const child = spawn('script', ['-qec', command, '/dev/null'], { env: { PATH: process.env.PATH ?? '', ...newAdmin }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(status, output).toBe(0);
    // Rows of block characters, as wide as the symbol: a scannable code, then the key.
    expect(output).toMatch(/(█[█▀▄ ]{20,}\r?\n){10,}/);
    expect(output).toContain('or type this key: ');
  });
});
