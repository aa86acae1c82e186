#!/usr/bin/env node
/**
 * crm-backup: the command-line tool for super admins and scripts. It uses only the
 * public HTTP API (docs/API.md) and, for `sign-in`, the local runtime's helper.
 * Exit codes: 0 done, 1 failed (the API refused, a backup failed, a zip does not
 * verify), 2 usage error.
 */
import { createWriteStream } from 'node:fs';
import { readFile, rename, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { createInterface } from 'node:readline/promises';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { ApiError, readJsonBody } from '../web/src/api-error.ts';
import type { Backup, BackupQuota, Page, Restore, RestorePlan } from '../web/src/types.ts';
import { CorruptZipError, verifyBackupZip, type VerifyReport } from './verify-zip.ts';

const HELP = `crm-backup: back up and restore CRM data from the command line

Usage: crm-backup <command> [options]

Commands:
  backup create [--wait]                 start a backup of your account; --wait shows progress until it ends
  backup list [--limit N] [--cursor C]   the backup history, newest first
  backup show <id>                       one backup, with its object types
  backup download <id> [-o FILE] [--totp CODE]
                                         download the zip, then verify it against its manifest
                                         (--totp: where downloads ask for a code, see below)
  backup quota                           whether a backup is allowed now, else when the next one is
  verify <file.zip>                      check a downloaded zip offline (counts, SHA-256, damage)
  restore plan <backupId> --object TYPE --properties a,b [--no-wait]
                                         compute what a restore would change (changes nothing);
                                         big object types take a while: progress is shown unless --no-wait
  restore plan-show <planId>             a plan, or how far its computation is
  restore apply <planId> --yes [--totp CODE] [--no-wait]
                                         run a plan: it changes data and cannot be undone
  restore list [--limit N] [--cursor C]  the restore history, newest first
  restore show <restoreId>               a restore's progress and counts
  sign-in <email>                        local runtime only: print a token for a demo user

Restores, and downloads where the service lets a password alone sign in, ask for a
code from your authenticator app: pass --totp CODE, or type it when asked (on a
terminal). Single sign-on users are not asked.

Options:
  --json               machine-readable output on stdout
  --token-file FILE    read the bearer token from FILE (else CRM_BACKUP_TOKEN)
  --url URL            the service address (else CRM_BACKUP_URL, default http://localhost:3000)
  -h, --help           this help

Environment: CRM_BACKUP_URL, CRM_BACKUP_TOKEN.
Exit codes: 0 success, 1 failure, 2 usage error.`;

/** A mistake in how the command was typed: exit code 2. */
class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A refusal or failure worth a clear sentence: exit code 1 (like an ApiError, the API's own refusal). */
class CommandFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandFailedError';
  }
}

interface Options {
  json: boolean;
  wait: boolean;
  yes: boolean;
  noWait: boolean;
  output?: string;
  tokenFile?: string;
  url: string;
  limit?: string;
  cursor?: string;
  object?: string;
  properties?: string;
  totp?: string;
  maxEntryBytes?: string;
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        json: { type: 'boolean', default: false },
        wait: { type: 'boolean', default: false },
        yes: { type: 'boolean', default: false },
        'no-wait': { type: 'boolean', default: false },
        output: { type: 'string', short: 'o' },
        'token-file': { type: 'string' },
        url: { type: 'string' },
        limit: { type: 'string' },
        cursor: { type: 'string' },
        object: { type: 'string' },
        properties: { type: 'string' },
        totp: { type: 'string' },
        'max-entry-bytes': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help || positionals.length === 0) {
    process.stdout.write(`${HELP}\n`);
    return positionals.length === 0 && !values.help ? 2 : 0;
  }
  const options: Options = {
    json: values.json,
    wait: values.wait,
    yes: values.yes,
    noWait: values['no-wait'],
    output: values.output,
    tokenFile: values['token-file'],
    url: (values.url ?? process.env.CRM_BACKUP_URL ?? 'http://localhost:3000').replace(/\/+$/, ''),
    limit: values.limit,
    cursor: values.cursor,
    object: values.object,
    properties: values.properties,
    totp: values.totp,
    maxEntryBytes: values['max-entry-bytes'],
  };
  const [command, sub, ...rest] = positionals;
  const key = command === 'backup' || command === 'restore' ? `${command} ${sub ?? ''}`.trim() : command!;
  const args = command === 'backup' || command === 'restore' ? rest : [sub, ...rest].filter((value): value is string => value !== undefined);
  switch (key) {
    case 'sign-in': return signIn(options, one(args, 'sign-in <email>'));
    case 'verify': return verify(options, one(args, 'verify <file.zip>'));
    case 'backup create': return none(args, 'backup create'), backupCreate(options);
    case 'backup list': return none(args, 'backup list'), backupList(options);
    case 'backup show': return backupShow(options, one(args, 'backup show <id>'));
    case 'backup quota': return none(args, 'backup quota'), backupQuota(options);
    case 'backup download': return backupDownload(options, one(args, 'backup download <id>'));
    case 'restore plan': return restorePlan(options, one(args, 'restore plan <backupId>'));
    case 'restore plan-show': return restorePlanShow(options, one(args, 'restore plan-show <planId>'));
    case 'restore apply': return restoreApply(options, one(args, 'restore apply <planId>'));
    case 'restore show': return restoreShow(options, one(args, 'restore show <restoreId>'));
    case 'restore list': return none(args, 'restore list'), restoreList(options);
    default:
      throw new UsageError(`unknown command "${positionals.join(' ')}". Run crm-backup --help for the commands.`);
  }
}

function one(args: string[], usage: string): string {
  if (args.length !== 1) throw new UsageError(`expected exactly one argument: crm-backup ${usage}`);
  return args[0]!;
}

function none(args: string[], usage: string): void {
  if (args.length) throw new UsageError(`unexpected argument "${args[0]}": crm-backup ${usage} takes none`);
}

// ---------------------------------------------------------------- the API

async function token(options: Options): Promise<string> {
  if (options.tokenFile) {
    const text = await readFile(options.tokenFile, 'utf8').catch((error: NodeJS.ErrnoException) => {
      throw new UsageError(`cannot read the token file ${options.tokenFile}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`);
    });
    const value = text.trim();
    if (!value) throw new UsageError(`the token file ${options.tokenFile} is empty`);
    return value;
  }
  const value = process.env.CRM_BACKUP_TOKEN?.trim();
  if (!value) throw new UsageError('no token: set CRM_BACKUP_TOKEN or pass --token-file FILE (locally, `crm-backup sign-in admin@acme.example` prints one)');
  return value;
}

async function call<T>(options: Options, method: string, path: string, body?: unknown, auth = true): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (auth) headers.authorization = `Bearer ${await token(options)}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(`${options.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), redirect: 'manual' });
  } catch (error) {
    throw new CommandFailedError(`cannot reach ${options.url} (${(error as Error & { cause?: Error }).cause?.message ?? (error as Error).message}). Is the service running? Set CRM_BACKUP_URL to its address.`);
  }
  const answer = await readJsonBody(response);
  if (response.ok) return answer as T;
  throw ApiError.fromAnswer(response.status, answer, { code: `HTTP_${response.status}`, message: `the service answered HTTP ${response.status}` });
}

/**
 * Runs `attempt` with the --totp code. When the API answers that re-authentication is
 * required (401 REAUTH_REQUIRED) and no code was given, asks for one on the terminal
 * and tries again; without a terminal, says to pass --totp.
 */
async function withTotp<T>(options: Options, attempt: (totp: string | undefined) => Promise<T>): Promise<T> {
  const checked = (code: string, source: string) => {
    if (!/^\d{6}$/.test(code)) throw new UsageError(`${source} must be the 6-digit code from your authenticator app`);
    return code;
  };
  const given = options.totp === undefined ? undefined : checked(options.totp, '--totp');
  try {
    return await attempt(given);
  } catch (error) {
    if (!(error instanceof ApiError) || error.code !== 'REAUTH_REQUIRED' || given !== undefined) throw error;
    if (!process.stdin.isTTY) throw new ApiError(error.status, error.code, `${error.message} (pass --totp <code>)`, error.details);
    const terminal = createInterface({ input: process.stdin, output: process.stderr });
    try {
      return await attempt(checked((await terminal.question('Code from your authenticator app: ')).trim(), 'the code'));
    } finally {
      terminal.close();
    }
  }
}

// ---------------------------------------------------------------- output

function print(options: Options, json: unknown, human: () => string): void {
  process.stdout.write(options.json ? `${JSON.stringify(json, null, 2)}\n` : `${human()}\n`);
}

/** A plain-text table, right-aligning numbers. */
function textTable(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = rows.map((row) => row.map((cell) => (typeof cell === 'number' ? cell.toLocaleString('en') : cell)));
  const numeric = headers.map((_, index) => rows.length > 0 && rows.every((row) => typeof row[index] === 'number'));
  const widths = headers.map((header, index) => Math.max(header.length, ...cells.map((row) => row[index]!.length)));
  const line = (row: string[]) => row.map((cell, index) => (numeric[index] ? cell.padStart(widths[index]!) : cell.padEnd(widths[index]!))).join('  ').trimEnd();
  return [line(headers), line(widths.map((width) => '-'.repeat(width))), ...cells.map(line)].join('\n');
}

function bytes(value: number | undefined): string {
  if (value === undefined) return '-';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let size = value;
  let unit = 0;
  while (size >= 1024 && unit < units.length - 1) {
    size /= 1024;
    unit++;
  }
  return `${unit === 0 ? size : size.toFixed(1)} ${units[unit]}`;
}

/**
 * Progress on stderr: a redrawn bar on a terminal; on a pipe or a log, one line each
 * time the numbers change (no carriage-return noise in CI logs).
 */
class Progress {
  private last = '';
  private readonly tty = process.stderr.isTTY === true;

  update(label: string, done: number, total: number, suffix = ''): void {
    const width = 30;
    const ratio = total > 0 ? Math.min(1, done / total) : 0;
    const bar = `[${'#'.repeat(Math.round(ratio * width)).padEnd(width, '.')}]`;
    const text = `${label} ${bar} ${done}/${total}${suffix ? ` ${suffix}` : ''}`;
    if (text === this.last) return;
    this.last = text;
    if (this.tty) process.stderr.write(`\r${text}\x1b[K`);
    else process.stderr.write(`${text}\n`);
  }

  end(): void {
    if (this.tty && this.last) process.stderr.write('\n');
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const POLL_MS = Number(process.env.CRM_BACKUP_POLL_MS ?? 1000);

// ---------------------------------------------------------------- commands

const totalRecords = (backup: Backup) => backup.objects?.reduce((sum, object) => sum + object.records, 0);

async function signIn(options: Options, email: string): Promise<number> {
  const answer = await call<{ token: string }>(options, 'POST', '/local/sign-in', { email }, false).catch((error: unknown) => {
    if (error instanceof ApiError && error.status === 404) throw new CommandFailedError(`${options.url} has no /local/sign-in: sign-in is a local-runtime helper; in AWS, sign in on the web page and use its token.`);
    throw error;
  });
  print(options, { token: answer.token }, () => answer.token);
  return 0;
}

async function backupCreate(options: Options): Promise<number> {
  let backup = await call<Backup>(options, 'POST', '/v1/backups', {}).catch((error: unknown) => {
    if (error instanceof ApiError && error.status === 429 && error.details.nextAllowedAt) {
      throw new ApiError(error.status, error.code, `${error.message} (try again after ${error.details.nextAllowedAt})`, error.details);
    }
    throw error;
  });
  if (!options.wait) {
    print(options, backup, () => `Backup ${backup.id} started (${backup.status}). Follow it with: crm-backup backup show ${backup.id}`);
    return 0;
  }
  const progress = new Progress();
  while (backup.status === 'QUEUED' || backup.status === 'RUNNING') {
    const objects = backup.objects ?? [];
    progress.update('Backing up', objects.filter((object) => object.status === 'EXPORTED').length, objects.length, `object types, ${totalRecords(backup) ?? 0} records`);
    await sleep(POLL_MS);
    backup = await call<Backup>(options, 'GET', `/v1/backups/${encodeURIComponent(backup.id)}`);
  }
  if (backup.status === 'SUCCEEDED') progress.update('Backing up', backup.objects?.length ?? 0, backup.objects?.length ?? 0, `object types, ${totalRecords(backup) ?? 0} records`);
  progress.end();
  if (backup.status !== 'SUCCEEDED') {
    if (options.json) print(options, backup, () => '');
    throw new CommandFailedError(`backup ${backup.id} ${backup.status.toLowerCase()}: ${backup.error ?? 'no reason given'}`);
  }
  print(options, backup, () => `Backup ${backup.id} is ready: ${totalRecords(backup)} records in ${backup.objects?.length ?? 0} object types, ${bytes(backup.sizeBytes)}. Download it with: crm-backup backup download ${backup.id}`);
  return 0;
}

/** `?limit=&cursor=` from the options, checked. */
function pageQuery(options: Options): string {
  const limit = options.limit ?? '50';
  if (!/^\d+$/.test(limit)) throw new UsageError('--limit must be a whole number');
  return `limit=${limit}${options.cursor ? `&cursor=${encodeURIComponent(options.cursor)}` : ''}`;
}

async function backupList(options: Options): Promise<number> {
  const page = await call<Page<Backup>>(options, 'GET', `/v1/backups?${pageQuery(options)}`);
  print(options, page, () =>
    page.items.length
      ? textTable(
          ['ID', 'STATUS', 'CREATED', 'BY', 'SIZE', 'RECORDS', 'EXPIRES'],
          page.items.map((backup) => [backup.id, backup.status, backup.createdAt, backup.trigger === 'schedule' ? 'schedule' : backup.requestedBy, bytes(backup.sizeBytes), totalRecords(backup) ?? '-', backup.expiresAt ?? '-']),
        ) + (page.nextCursor ? `\nMore: crm-backup backup list --cursor ${page.nextCursor}` : '')
      : 'No backups yet. Start one with: crm-backup backup create --wait',
  );
  return 0;
}

/** `backup quota`: reads GET /v1/backup-quota; a spent quota is an answer, not a failure (exit 0). */
async function backupQuota(options: Options): Promise<number> {
  const quota = await call<BackupQuota>(options, 'GET', '/v1/backup-quota');
  print(options, quota, () =>
    quota.allowed
      ? `A backup is allowed now (${quota.tier} accounts: one backup every ${quota.period}). Start one with: crm-backup backup create --wait`
      : `Not allowed now. ${quota.message ?? `The next backup is allowed at ${quota.nextAllowedAt}.`}`,
  );
  return 0;
}

async function backupShow(options: Options, id: string): Promise<number> {
  const backup = await call<Backup>(options, 'GET', `/v1/backups/${encodeURIComponent(id)}`);
  print(options, backup, () =>
    [
      `Backup ${backup.id}: ${backup.status}${backup.error ? ` (${backup.error})` : ''}`,
      `  requested by ${backup.requestedBy} (${backup.trigger}) at ${backup.createdAt}`,
      backup.completedAt ? `  completed at ${backup.completedAt}; downloadable until ${backup.expiresAt ?? '-'}` : undefined,
      backup.sizeBytes !== undefined ? `  size ${bytes(backup.sizeBytes)}, ${totalRecords(backup)} records` : undefined,
      '',
      textTable(['OBJECT TYPE', 'RECORDS', 'FILE', 'SHA-256'], (backup.objects ?? []).map((object) => [object.objectType, object.records, object.file ?? '-', object.sha256 ?? '-'])),
    ].filter((line) => line !== undefined).join('\n'),
  );
  return 0;
}

async function backupDownload(options: Options, id: string): Promise<number> {
  const link = await withTotp(options, (totp) =>
    call<{ url: string; expiresAt: string }>(options, 'GET', `/v1/backups/${encodeURIComponent(id)}/download?${new URLSearchParams({ redirect: 'false', ...(totp ? { totp } : {}) })}`),
  );
  const file = options.output ?? `crm-backup-${id}.zip`;
  const partial = `${file}.part`;
  let response: Response;
  try {
    response = await fetch(link.url);
  } catch (error) {
    throw new CommandFailedError(`the download failed: ${(error as Error).message}`);
  }
  if (!response.ok || !response.body) throw new CommandFailedError(`the download failed: storage answered HTTP ${response.status}`);
  const total = Number(response.headers.get('content-length') ?? 0);
  const progress = new Progress();
  let received = 0;
  const body = Readable.fromWeb(response.body as never);
  body.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (total) progress.update('Downloading', Math.round(received / 1024), Math.round(total / 1024), 'KB');
  });
  try {
    // Written under a temporary name, so a half-downloaded file never looks finished.
    await pipeline(body, createWriteStream(partial, { mode: 0o600 }));
    await rename(partial, file);
  } catch (error) {
    await rm(partial, { force: true });
    throw new CommandFailedError(`the download failed: ${(error as Error).message}`);
  } finally {
    progress.end();
  }
  const report = await verifyOrExplain(file, options);
  if (report.ok && report.manifest?.backupId !== id) report.problems.push(`the manifest names backup ${report.manifest?.backupId}, not ${id}.`);
  const ok = report.ok && report.problems.length === 0;
  print(options, { file, backupId: id, bytes: received, verified: ok, ...report, ok }, () =>
    ok
      ? `Saved ${file} (${bytes(received)}). Verified: ${report.files.length} files, ${report.files.reduce((sum, f) => sum + f.records, 0)} records, every count and SHA-256 matches the manifest.\nIt holds sensitive data: store it somewhere safe.`
      : `Saved ${file}, but it does NOT match its manifest:\n${report.problems.map((problem) => `  - ${problem}`).join('\n')}`,
  );
  return ok ? 0 : 1;
}

async function verifyOrExplain(file: string, options: Options): Promise<VerifyReport> {
  const maxEntryBytes = options.maxEntryBytes === undefined ? undefined : Number(options.maxEntryBytes);
  if (maxEntryBytes !== undefined && !(maxEntryBytes > 0)) throw new UsageError('--max-entry-bytes must be a positive number');
  try {
    return await verifyBackupZip(file, { maxEntryBytes });
  } catch (error) {
    if (error instanceof CorruptZipError) return { ok: false, files: [], problems: [error.message] };
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`no such file: ${file}`);
    if (code === 'EISDIR') throw new UsageError(`${file} is a directory, not a zip`);
    throw error;
  }
}

async function verify(options: Options, file: string): Promise<number> {
  const report = await verifyOrExplain(file, options);
  print(options, { file, ...report }, () =>
    report.ok
      ? `${file}: OK. Backup ${report.manifest!.backupId} of account ${report.manifest!.accountId}, completed ${report.manifest!.completedAt}.\n\n` +
        textTable(['FILE', 'OBJECT TYPE', 'RECORDS', 'BYTES', 'SHA-256'], report.files.map((f) => [f.name, f.objectType, f.records, f.bytes, f.sha256]))
      : `${file}: FAILED verification.\n${report.problems.map((problem) => `  - ${problem}`).join('\n')}`,
  );
  if (!report.ok && !options.json) process.stderr.write(`crm-backup: ${file} does not match its manifest\n`);
  return report.ok ? 0 : 1;
}

async function restorePlan(options: Options, backupId: string): Promise<number> {
  if (!options.object) throw new UsageError('restore plan needs --object TYPE (e.g. --object deals)');
  if (!options.properties) throw new UsageError('restore plan needs --properties a,b (the internal property names)');
  const properties = options.properties.split(',').map((name) => name.trim()).filter(Boolean);
  let plan = await call<RestorePlan>(options, 'POST', `/v1/backups/${encodeURIComponent(backupId)}/restore-plans`, { objectType: options.object, properties });
  if (plan.status === 'PLANNING' && options.noWait) {
    print(options, plan, () => `Restore plan ${plan.id} is being computed (${plan.progress?.done ?? 0}/${plan.progress?.total ?? '?'} records compared). Show it with: crm-backup restore plan-show ${plan.id}`);
    return 0;
  }
  if (plan.status === 'PLANNING') {
    const progress = new Progress();
    while (plan.status === 'PLANNING') {
      progress.update('Planning', plan.progress?.done ?? 0, plan.progress?.total ?? 0, 'records compared');
      await sleep(POLL_MS);
      plan = await call<RestorePlan>(options, 'GET', `/v1/restore-plans/${encodeURIComponent(plan.id)}`);
    }
    progress.end();
  }
  return printPlan(options, plan);
}

async function restorePlanShow(options: Options, planId: string): Promise<number> {
  const plan = await call<RestorePlan>(options, 'GET', `/v1/restore-plans/${encodeURIComponent(planId)}`);
  if (plan.status === 'PLANNING') {
    print(options, plan, () => `Restore plan ${plan.id} is being computed (${plan.progress?.done ?? 0}/${plan.progress?.total ?? '?'} records compared).`);
    return 0;
  }
  return printPlan(options, plan);
}

/** A READY plan as tables; a FAILED one as its reason (exit 1). */
function printPlan(options: Options, plan: RestorePlan): number {
  if (plan.status === 'FAILED') {
    if (options.json) print(options, plan, () => '');
    throw new CommandFailedError(`restore plan ${plan.id} failed: ${plan.error ?? 'no reason given'}`);
  }
  const quote = (value: string) => (value === '' ? '(blank)' : JSON.stringify(value));
  print(options, plan, () =>
    [
      `Restore plan ${plan.id}: ${plan.properties.join(', ')} of ${plan.objectType} from backup ${plan.backupId}. Nothing has changed yet.`,
      '',
      textTable(['RECORDS', 'COUNT'], [['in the backup', plan.recordsInBackup], ['will change', plan.recordsToChange], ['already the same', plan.recordsUnchanged], ['no longer exist (not re-created)', plan.recordsMissing]]),
      '',
      textTable(['PROPERTY', 'TO CHANGE', 'TO CLEAR'], plan.perProperty.map((row) => [row.name, row.toChange, row.toClear])),
      '',
      plan.sample.length ? textTable(['RECORD', 'PROPERTY', 'NOW', 'AFTER'], plan.sample.flatMap((record) => record.changes.map((change) => [record.recordId, change.property, quote(change.from), quote(change.to)]))) : 'No record would change.',
      '',
      `Apply it (before ${plan.expiresAt}) with: crm-backup restore apply ${plan.id} --yes --totp <code>`,
    ].join('\n'),
  );
  return 0;
}

async function restoreApply(options: Options, planId: string): Promise<number> {
  if (!options.yes) throw new UsageError('a restore changes CRM data and cannot be undone: pass --yes to confirm');
  const answer = await withTotp(options, (totp) =>
    call<Restore | { restore: Restore }>(options, 'POST', '/v1/restores', {
      planId,
      acknowledge: { changesData: true, cannotBeUndone: true },
      ...(totp ? { totp } : {}),
    }),
  );
  let restore = 'restore' in answer ? answer.restore : answer;
  if (options.noWait) {
    print(options, restore, () => `Restore ${restore.id} started. Follow it with: crm-backup restore show ${restore.id}`);
    return 0;
  }
  const progress = new Progress();
  while (restore.status === 'RUNNING') {
    progress.update('Restoring', restore.progress?.done ?? 0, restore.progress?.total ?? 0, 'records');
    await sleep(POLL_MS);
    restore = await call<Restore>(options, 'GET', `/v1/restores/${encodeURIComponent(restore.id)}`);
  }
  progress.update('Restoring', restore.progress?.done ?? 0, restore.progress?.total ?? 0, 'records');
  progress.end();
  print(options, restore, () => restoreSummary(restore));
  return restore.status === 'SUCCEEDED' ? 0 : 1;
}

function restoreSummary(restore: Restore): string {
  const counts = restore.counts ?? { updated: 0, unchanged: 0, missing: 0, failed: 0 };
  return `Restore ${restore.id} of ${restore.objectType}: ${restore.status}${restore.error ? ` (${restore.error})` : ''}. ` +
    `${counts.updated} updated, ${counts.unchanged} unchanged, ${counts.missing} no longer exist, ${counts.failed} failed.`;
}

async function restoreList(options: Options): Promise<number> {
  const page = await call<Page<Restore>>(options, 'GET', `/v1/restores?${pageQuery(options)}`);
  print(options, page, () =>
    page.items.length
      ? textTable(
          ['ID', 'STATUS', 'OBJECT TYPE', 'STARTED', 'BY', 'UPDATED', 'UNCHANGED', 'MISSING', 'FAILED'],
          page.items.map((r) => [r.id, r.status, r.objectType, r.startedAt, r.requestedBy, r.counts.updated, r.counts.unchanged, r.counts.missing, r.counts.failed]),
        ) + (page.nextCursor ? `\nMore: crm-backup restore list --cursor ${page.nextCursor}` : '')
      : 'No restores yet.',
  );
  return 0;
}

async function restoreShow(options: Options, id: string): Promise<number> {
  const restore = await call<Restore>(options, 'GET', `/v1/restores/${encodeURIComponent(id)}`);
  print(options, restore, () => `${restoreSummary(restore)}\nProgress: ${restore.progress?.done ?? 0}/${restore.progress?.total ?? 0} records.`);
  return 0;
}

// ---------------------------------------------------------------- entry

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  if (error instanceof UsageError) {
    process.stderr.write(`crm-backup: ${error.message}\n`);
    process.exitCode = 2;
  } else if (error instanceof CommandFailedError || error instanceof ApiError) {
    const json = process.argv.includes('--json');
    if (json && error instanceof ApiError) process.stdout.write(`${JSON.stringify({ error: { code: error.code, message: error.message, ...error.details } }, null, 2)}\n`);
    process.stderr.write(`crm-backup: ${error.message}\n`);
    process.exitCode = 1;
  } else {
    process.stderr.write(`crm-backup: unexpected error: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  }
}
