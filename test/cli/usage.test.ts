import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runCli } from './support.ts';

const VERSION = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version as string;

const COMMANDS = [
  'backup create', 'backup list', 'backup show', 'backup download', 'backup quota',
  'verify',
  'restore plan', 'restore plan-show', 'restore apply', 'restore list', 'restore show',
  'totp status', 'totp enrol', 'totp reset',
  'sign-in',
];

/** An address where nothing listens: a port the OS handed out, then closed. */
async function closedUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

describe('crm-backup usage (no service needed)', () => {
  it('prints its version', async () => {
    const result = await runCli(['--version']);
    expect(result).toMatchObject({ code: 0, stdout: `${VERSION}\n` });
  });

  it('lists the commands, with examples, exit codes and the environment', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: crm-backup \[options\] \[command\]/);
    for (const group of ['backup create | list | show | download | quota', 'restore plan | plan-show | apply | list | show', 'totp status | enrol | reset', 'verify [options] <file>', 'sign-in [options] <email>'])
      expect(result.stdout).toContain(group);
    expect(result.stdout).toContain('Exit codes: 0 success, 1 failure');
    expect(result.stdout).toContain('CRM_BACKUP_TOKEN');
  });

  it.each(COMMANDS)('%s --help shows its options and an example', async (command) => {
    const result = await runCli([...command.split(' '), '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Usage: crm-backup ${command}`);
    expect(result.stdout).toMatch(new RegExp(`\\nExample:\\n  \\$ (export CRM_BACKUP_TOKEN=\\$\\()?crm-backup ${command}[ \\n]`));
    expect(result.stdout).toContain('--json');
  });

  it('waits by default in every long command, and each offers --no-wait', async () => {
    for (const command of ['backup create', 'restore plan', 'restore apply']) {
      const help = (await runCli([...command.split(' '), '--help'])).stdout;
      expect(help, command).toContain('--no-wait');
      expect(help, command).not.toMatch(/\s--wait\b/);
    }
  });

  it('answers a bare command group with its help on stderr and exit code 2', async () => {
    const bare = await runCli([]);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('Usage: crm-backup');
    const group = await runCli(['restore']);
    expect(group.code).toBe(2);
    expect(group.stderr).toContain('Usage: crm-backup restore');
  });

  it.each([
    [['backup', 'list', '--yes'], "unknown option '--yes' (see crm-backup backup list --help)"],
    [['verify', 'backup.zip', '--url', 'http://localhost:3000'], "unknown option '--url' (see crm-backup verify --help)"],
    [['backup', 'create', '--object', 'deals'], "unknown option '--object' (see crm-backup backup create --help)"],
    [['--json', 'backup', 'list'], "unknown option '--json' (see crm-backup --help)"],
    [['backup', 'show'], "missing required argument 'backupId' (see crm-backup backup show --help)"],
    [['backup', 'show', 'bk_1', 'bk_2'], "too many arguments for 'show'. Expected 1 argument but got 2: bk_1, bk_2. (see crm-backup backup show --help)"],
    [['backup', 'list', '--limit', '0'], "option '--limit <n>' argument '0' is invalid. Give a whole number above 0. (see crm-backup backup list --help)"],
    [['backup', 'list', '--url', 'localhost'], "option '--url <url>' argument 'localhost' is invalid. Give a URL, such as http://localhost:3000. (see crm-backup backup list --help)"],
    [['restore', 'plan', 'bk_1', '--object', 'deals', '--properties', ' , '], "option '--properties <names>' argument ' , ' is invalid. Name at least one property. (see crm-backup restore plan --help)"],
    [['restore', 'apply', 'rp_1', '--yes', '--totp', '12345'], "option '--totp <code>' argument '12345' is invalid. The code from your authenticator app has 6 digits. (see crm-backup restore apply --help)"],
    [['restore', 'lst'], "unknown command 'lst' (Did you mean list?) (see crm-backup restore --help)"],
  ])('refuses %j with exit code 2: %s', async (args, message) => {
    const result = await runCli(args);
    expect(result).toMatchObject({ code: 2, stderr: `crm-backup: ${message}\n` });
    if (!args.includes('--json')) expect(result.stdout).toBe('');
  });

  it('with --json, a usage error is an error object on stdout too', async () => {
    const result = await runCli(['backup', 'list', '--limit', 'many', '--json']);
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout)).toEqual({ error: { code: 'USAGE_ERROR', message: expect.stringContaining("argument 'many' is invalid") } });
  });

  it('says when the service cannot be reached, as a sentence and, with --json, as an error object (exit 1)', async () => {
    const url = await closedUrl();
    const env = { CRM_BACKUP_URL: url, CRM_BACKUP_TOKEN: 'a.b.c' };
    const text = await runCli(['backup', 'list'], env);
    expect(text.code).toBe(1);
    expect(text.stdout).toBe('');
    expect(text.stderr).toMatch(new RegExp(`^crm-backup: cannot reach ${url} \\(.+\\)\\. Is the service running\\? Set CRM_BACKUP_URL or --url to its address\\.\\n$`));
    for (const args of [['backup', 'list', '--json'], ['backup', 'create', '--json'], ['restore', 'show', 'rs_1', '--json'], ['sign-in', 'admin@acme.example', '--json']]) {
      const result = await runCli(args, env);
      expect(result.code, args.join(' ')).toBe(1);
      expect(JSON.parse(result.stdout), args.join(' ')).toEqual({ error: { code: 'SERVICE_UNREACHABLE', message: expect.stringContaining(`cannot reach ${url}`) } });
    }
  });

  it('takes the address from --url over CRM_BACKUP_URL', async () => {
    const url = await closedUrl();
    const result = await runCli(['backup', 'quota', '--url', `${url}/`, '--json'], { CRM_BACKUP_URL: 'http://127.0.0.1:1', CRM_BACKUP_TOKEN: 'a.b.c' });
    expect(JSON.parse(result.stdout).error.message).toContain(`cannot reach ${url} (`);
  });
});
