import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idempotencyRecords, startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';
import { runCli } from './support.ts';

describe('crm-backup against the local runtime', () => {
  let runtime: TestRuntime;
  let dir: string;
  let env: Record<string, string>;
  let backupId: string;

  beforeAll(async () => {
    runtime = await startTestRuntime();
    dir = await mkdtemp(join(tmpdir(), 'crm-backup-cli-'));
    env = { CRM_BACKUP_URL: runtime.url };
  });
  afterAll(async () => {
    await runtime?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('signs in locally and reads the token from a file', async () => {
    const signIn = await runCli(['sign-in', 'admin@acme.example'], env);
    expect(signIn.code).toBe(0);
    const token = signIn.stdout.trim();
    expect(token.split('.')).toHaveLength(3);
    await writeFile(join(dir, 'token'), `${token}\n`);
    env.CRM_BACKUP_TOKEN = token;
    const list = await runCli(['backup', 'list', '--token-file', join(dir, 'token')], { CRM_BACKUP_URL: runtime.url });
    expect(list.code).toBe(0);
    expect(list.stdout).toContain('No backups yet.');
  });

  it('creates a backup and, by default, waits for it with a progress bar on stderr', async () => {
    const result = await runCli(['backup', 'create', '--json'], env);
    expect(result.code).toBe(0);
    const backup = JSON.parse(result.stdout);
    expect(backup.status).toBe('SUCCEEDED');
    // The command is one action: its POST carried an Idempotency-Key, kept with the answer.
    const records = await idempotencyRecords(runtime, 'acme');
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ status: 'COMPLETED' });
    backupId = backup.id;
    expect(result.stderr).toMatch(/Backing up \[[#.]{30}\] \d+\/\d+ object types/);
    expect(result.stderr).toMatch(/Backing up \[#{30}\] 10\/10 object types, 400 records/);
    expect((await runtime.api('GET', `/v1/backups/${backupId}`)).body.status).toBe('SUCCEEDED');
  });

  it('lists and shows backups as tables, and as JSON for scripts', async () => {
    const list = await runCli(['backup', 'list'], env);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`^ID\\s+STATUS\\s+CREATED\\s+BY\\s+SIZE\\s+RECORDS\\s+EXPIRES\\n-+`));
    expect(list.stdout).toMatch(new RegExp(`${backupId}\\s+SUCCEEDED\\s+\\S+\\s+admin@acme.example\\s+[\\d.]+ KB\\s+400\\s`));
    const paged = await runCli(['backup', 'list', '--limit', '1', '--cursor', 'not-a-cursor'], env);
    expect(paged.code).toBe(1);
    expect(paged.stderr).toMatch(/^crm-backup: .*cursor/);
    const json = JSON.parse((await runCli(['backup', 'list', '--json'], env)).stdout);
    expect(json.items.map((item: { id: string }) => item.id)).toEqual([backupId]);
    const show = await runCli(['backup', 'show', backupId], env);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/contacts\s+40\s+contacts\.csv\s+[0-9a-f]{64}/);
  });

  it('downloads the zip and verifies it against its manifest', async () => {
    const file = join(dir, 'backup.zip');
    const result = await runCli(['backup', 'download', backupId, '-o', file], env);
    expect(result.stderr).not.toContain('crm-backup:');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Saved .*backup\.zip \([\d.]+ KB\)\. Verified: 10 files, 400 records, every count and SHA-256 matches the manifest\./);
    expect((await runCli(['verify', file], env)).code).toBe(0);
  });

  it('catches a corrupted download: one byte flipped with XOR 0xff in the middle of the zip', async () => {
    const bytes = await readFile(join(dir, 'backup.zip'));
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    const damaged = join(dir, 'damaged.zip');
    await writeFile(damaged, bytes);
    const result = await runCli(['verify', damaged], {});
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('FAILED verification');
    expect(result.stderr).toContain(`crm-backup: ${damaged} does not match its manifest`);
    const json = JSON.parse((await runCli(['verify', damaged, '--json'], {})).stdout);
    expect(json.ok).toBe(false);
    expect(json.problems.length).toBeGreaterThan(0);
  });

  it('reads the quota in advance: allowed before any backup, spent after one, as text and JSON', async () => {
    const globex = { ...env, CRM_BACKUP_TOKEN: (await runCli(['sign-in', 'admin@globex.example'], env)).stdout.trim() };
    const other = await runCli(['backup', 'quota', '--json'], globex);
    expect(other.code).toBe(0);
    expect(JSON.parse(other.stdout)).toEqual({ tier: 'professional', period: '7 days', allowed: true });
    const allowed = await runCli(['backup', 'quota'], globex);
    expect(allowed.stdout).toBe('A backup is allowed now (professional accounts: one backup every 7 days). Start one with: crm-backup backup create\n');
    const spent = await runCli(['backup', 'quota'], env);
    expect(spent.code).toBe(0);
    expect(spent.stdout).toMatch(/^Not allowed now\. Enterprise accounts can create one backup every 24 hours\. The next backup is allowed at \d{4}-\d\d-\d\dT[\d:.]+Z\.\n$/);
    const json = JSON.parse((await runCli(['backup', 'quota', '--json'], env)).stdout);
    expect(json).toMatchObject({ tier: 'enterprise', period: '24 hours', allowed: false });
    expect(json.nextAllowedAt).toBe((await runtime.api('GET', '/v1/backup-quota')).body.nextAllowedAt);
    expect((await runCli(['backup', 'quota', 'extra'], env)).code).toBe(2);
  });

  it('with --no-wait answers as soon as the backup is queued', async () => {
    const globex = { ...env, CRM_BACKUP_TOKEN: (await runCli(['sign-in', 'admin@globex.example'], env)).stdout.trim() };
    const result = await runCli(['backup', 'create', '--no-wait', '--json'], globex);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout).status).toBe('QUEUED');
    await runtime.idle();
  });

  it('says when the quota is spent, with the next allowed time, and exits 1', async () => {
    const result = await runCli(['backup', 'create'], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^crm-backup: Enterprise accounts can create one backup every 24 hours\. .*\(try again after \d{4}-\d\d-\d\dT/);
    const json = await runCli(['backup', 'create', '--json'], env);
    expect(JSON.parse(json.stdout).error.code).toBe('QUOTA_EXCEEDED');
  });

  it('shows the API sentence for refusals: a non-admin, an unknown id, no token', async () => {
    const userToken = (await runCli(['sign-in', 'user@acme.example'], env)).stdout.trim();
    const forbidden = await runCli(['backup', 'list'], { ...env, CRM_BACKUP_TOKEN: userToken });
    expect(forbidden.code).toBe(1);
    expect(forbidden.stderr).toBe('crm-backup: Only super admins can back up or restore CRM data.\n');
    const unknown = await runCli(['backup', 'show', 'bk_nope'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^crm-backup: Backup "bk_nope" was not found\.\n$/);
    const noToken = await runCli(['backup', 'list'], { CRM_BACKUP_URL: runtime.url });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain('no token: set CRM_BACKUP_TOKEN or pass --token-file FILE');
    const badToken = await runCli(['backup', 'list'], { ...env, CRM_BACKUP_TOKEN: 'not-a-token' });
    expect(badToken.code).toBe(1);
    expect(badToken.stderr).toContain('Sign in first');
  });

  it('answers usage mistakes with exit code 2, naming the help to read', async () => {
    const unknown = await runCli(['backup', 'explode'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe("crm-backup: unknown command 'explode' (see crm-backup backup --help)\n");
    const noYes = await runCli(['restore', 'apply', 'rp_x'], env);
    expect(noYes.code).toBe(2);
    expect(noYes.stderr).toContain('pass --yes to confirm');
    const noObject = await runCli(['restore', 'plan', backupId], env);
    expect(noObject.code).toBe(2);
    expect(noObject.stderr).toBe("crm-backup: required option '--object <type>' not specified (see crm-backup restore plan --help)\n");
  });
});
