import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyBackupZip } from '../../cli/verify-zip.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';
import { movableClock, nextTotpCode } from '../support/movable-clock.ts';
import { CLI, runCli } from './support.ts';

/**
 * `crm-backup backup download` where downloads re-authenticate (`-c mfa=optional`;
 * locally REAUTHENTICATE_DOWNLOADS): the code comes from --totp, or the CLI asks for it
 * on a terminal, like `restore apply`.
 */
describe('crm-backup backup download, when downloads ask for a code', () => {
  const clock = movableClock();
  let runtime: TestRuntime;
  let env: Record<string, string>;
  let backupId: string;
  let secret: string;
  let folder: string;
  const freshCode = () => nextTotpCode(clock, secret);

  beforeAll(async () => {
    runtime = await startTestRuntime({ clock, reauthenticateDownloads: true });
    env = { CRM_BACKUP_URL: runtime.url, CRM_BACKUP_TOKEN: await runtime.tokenFor('admin@acme.example') };
    secret = /admin@acme\.example\s+secret (\S+)/.exec(await runtime.banner())![1]!;
    backupId = (await runtime.api('POST', '/v1/backups')).body.id;
    await runtime.idle();
    folder = await mkdtemp(join(tmpdir(), 'crm-backup-cli-reauth-'));
  });
  afterAll(async () => {
    await runtime?.destroy();
    if (folder) await rm(folder, { recursive: true, force: true });
  });

  it('says to pass --totp when there is no terminal to ask on, and downloads nothing', async () => {
    const file = join(folder, 'none.zip');
    const result = await runCli(['backup', 'download', backupId, '-o', file], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('crm-backup: Downloading a backup needs a code from your authenticator app: send it as "totp". (pass --totp <code>)\n');
    await expect(verifyBackupZip(file)).rejects.toThrow();
  });

  it('refuses a code that is not six digits before calling the API (usage error)', async () => {
    expect((await runCli(['backup', 'download', backupId, '--totp', 'abc'], env)).code).toBe(2);
  });

  it('downloads and verifies the zip with --totp', async () => {
    const file = join(folder, 'flag.zip');
    const result = await runCli(['backup', 'download', backupId, '-o', file, '--totp', await freshCode()], env);
    expect(result.stderr.replace(/\r?[^\n]*\r/g, '')).not.toMatch(/crm-backup: /);
    expect(result.code).toBe(0);
    expect((await verifyBackupZip(file)).manifest?.backupId).toBe(backupId);
  });

  it('asks for the code on a terminal, then downloads', async () => {
    const file = join(folder, 'asked.zip');
    const code = await freshCode();
    // `script` gives the CLI a pseudo-terminal, as a person running it would have.
    const command = [process.execPath, CLI, 'backup', 'download', backupId, '-o', file].map((part) => `'${part}'`).join(' ');
    const child = spawn('script', ['-qec', command, '/dev/null'], { env: { PATH: process.env.PATH ?? '', CRM_BACKUP_POLL_MS: '200', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    const asked = new Promise<void>((resolve) =>
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Code from your authenticator app: ')) resolve();
      }),
    );
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    await asked;
    child.stdin.write(`${code}\n`);
    const status = await exited;
    expect(status, output).toBe(0);
    expect((await verifyBackupZip(file)).manifest?.backupId).toBe(backupId);
  });
});
