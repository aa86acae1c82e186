#!/usr/bin/env node
/**
 * crm-backup: the command-line tool for super admins and scripts. It uses only the
 * public HTTP API (docs/API.md) and, for `sign-in`, the local runtime's helper.
 * Exit codes: 0 done, 1 failed (the API refused or could not be reached, a backup or
 * restore failed, a zip does not verify), 2 usage error.
 */
import { createWriteStream } from 'node:fs';
import { readFile, rename, rm } from 'node:fs/promises';
import { createInterface } from 'node:readline/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import encodeQR from 'qr';
import packageJson from '../package.json' with { type: 'json' };
import { ApiError, readJsonBody } from '../web/src/api-error.ts';
import { IDEMPOTENCY_KEY_HEADER, postOnce } from '../web/src/idempotent-post.ts';
import { bytes, count } from '../web/src/format.ts';
import type { Backup, BackupQuota, Comparison, ComparisonFigures, DataSource, Page, PendingTotpEnrolment, Restore, RestorePlan, RevertPlan, TotpEnrolmentStatus } from '../web/src/types.ts';
import { ArchiveIntegrityError } from '#core/errors.ts';
import { diffBackupZips, DiffRefusedError } from './diff-backups.ts';
import { CorruptZipError, verifyBackupZip, type VerifyReport } from './verify-zip.ts';

/** A mistake in how the command was typed, or in its environment (no token): exit code 2. */
class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A failure worth a clear sentence (the service unreachable, a backup failed): exit code 1. */
class CommandFailedError extends Error {
  readonly code: string;
  /** The command already printed its JSON answer (a FAILED backup, say): print no error object. */
  readonly reported: boolean;

  constructor(code: string, message: string, options: { reported?: boolean } = {}) {
    super(message);
    this.name = 'CommandFailedError';
    this.code = code;
    this.reported = options.reported ?? false;
  }
}

/** What every command that talks to the service accepts. */
interface ServiceOptions {
  json: boolean;
  url: string;
  tokenFile?: string;
}

// ---------------------------------------------------------------- the API

async function token(options: ServiceOptions): Promise<string> {
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

async function call<T>(options: ServiceOptions, method: string, path: string, body?: unknown, auth = true): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (auth) headers.authorization = `Bearer ${await token(options)}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    const send = (key?: string) =>
      fetch(`${options.url}${path}`, {
        method,
        headers: key ? { ...headers, [IDEMPOTENCY_KEY_HEADER]: key } : headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        redirect: 'manual',
      });
    // Each command is one action: its POST carries one Idempotency-Key through its retries.
    response = method === 'POST' ? await postOnce(send) : await send();
  } catch (error) {
    const reason = (error as Error & { cause?: Error }).cause?.message ?? (error as Error).message;
    throw new CommandFailedError('SERVICE_UNREACHABLE', `cannot reach ${options.url} (${reason}). Is the service running? Set CRM_BACKUP_URL or --url to its address.`);
  }
  const answer = await readJsonBody(response);
  if (response.ok) return answer as T;
  throw ApiError.fromAnswer(response.status, answer, { code: `HTTP_${response.status}`, message: `the service answered HTTP ${response.status}` });
}

/** The code from the authenticator app: six digits. */
function sixDigits(value: string): string {
  if (!/^\d{6}$/.test(value)) throw new InvalidArgumentError('The code from your authenticator app has 6 digits.');
  return value;
}

/**
 * Runs `attempt` with the --totp code. When the API answers that re-authentication is
 * required (401 REAUTH_REQUIRED) and no code was given, asks for one on the terminal
 * and tries again; without a terminal, says to pass --totp.
 */
async function withTotp<T>(given: string | undefined, attempt: (totp: string | undefined) => Promise<T>): Promise<T> {
  try {
    return await attempt(given);
  } catch (error) {
    if (!(error instanceof ApiError) || error.code !== 'REAUTH_REQUIRED' || given !== undefined) throw error;
    // No confirmed authenticator: there is no code to ask for; the sentence says how to enrol.
    if (error.details.authenticator) throw error;
    if (!process.stdin.isTTY) throw new ApiError(error.status, error.code, `${error.message} (pass --totp <code>)`, error.details);
    const terminal = createInterface({ input: process.stdin, output: process.stderr });
    let code: string;
    try {
      code = (await terminal.question('Code from your authenticator app: ')).trim();
    } finally {
      terminal.close();
    }
    if (!/^\d{6}$/.test(code)) throw new UsageError('the code from your authenticator app has 6 digits');
    return attempt(code);
  }
}

// ---------------------------------------------------------------- output

function print(options: { json: boolean }, json: unknown, human: () => string): void {
  process.stdout.write(options.json ? `${JSON.stringify(json, null, 2)}\n` : `${human()}\n`);
}

/** A plain-text table, right-aligning numbers. */
function textTable(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = rows.map((row) => row.map((cell) => (typeof cell === 'number' ? count(cell) : cell)));
  const numeric = headers.map((_, index) => rows.length > 0 && rows.every((row) => typeof row[index] === 'number'));
  const widths = headers.map((header, index) => Math.max(header.length, ...cells.map((row) => row[index]!.length)));
  const line = (row: string[]) => row.map((cell, index) => (numeric[index] ? cell.padStart(widths[index]!) : cell.padEnd(widths[index]!))).join('  ').trimEnd();
  return [line(headers), line(widths.map((width) => '-'.repeat(width))), ...cells.map(line)].join('\n');
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

async function signIn(email: string, options: Pick<ServiceOptions, 'json' | 'url'>): Promise<void> {
  const answer = await call<{ token: string }>({ ...options }, 'POST', '/local/sign-in', { email }, false).catch((error: unknown) => {
    if (error instanceof ApiError && error.status === 404) throw new CommandFailedError('NOT_LOCAL', `${options.url} has no /local/sign-in: sign-in is a local-runtime helper; in AWS, sign in on the web page and use its token.`);
    throw error;
  });
  print(options, { token: answer.token }, () => answer.token);
}

async function backupCreate(options: ServiceOptions & { wait: boolean }): Promise<void> {
  let backup = await call<Backup>(options, 'POST', '/v1/backups', {}).catch((error: unknown) => {
    if (error instanceof ApiError && error.status === 429 && error.details.nextAllowedAt) {
      throw new ApiError(error.status, error.code, `${error.message} (try again after ${error.details.nextAllowedAt})`, error.details);
    }
    throw error;
  });
  if (!options.wait) {
    print(options, backup, () => `Backup ${backup.id} started (${backup.status}). Follow it with: crm-backup backup show ${backup.id}`);
    return;
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
    throw new CommandFailedError('BACKUP_FAILED', `backup ${backup.id} ${backup.status.toLowerCase()}: ${backup.error ?? 'no reason given'}`, { reported: options.json });
  }
  print(options, backup, () => `Backup ${backup.id} is ready: ${totalRecords(backup)} records in ${backup.objects?.length ?? 0} object types, ${bytes(backup.sizeBytes)}. Download it with: crm-backup backup download ${backup.id}`);
}

interface PageOptions {
  limit: number;
  cursor?: string;
}

function pageQuery(options: PageOptions): string {
  return `limit=${options.limit}${options.cursor ? `&cursor=${encodeURIComponent(options.cursor)}` : ''}`;
}

async function backupList(options: ServiceOptions & PageOptions): Promise<void> {
  const page = await call<Page<Backup>>(options, 'GET', `/v1/backups?${pageQuery(options)}`);
  print(options, page, () =>
    page.items.length
      ? textTable(
          ['ID', 'STATUS', 'CREATED', 'BY', 'SIZE', 'RECORDS', 'EXPIRES'],
          page.items.map((backup) => [backup.id, backup.status, backup.createdAt, backup.trigger === 'schedule' ? 'schedule' : backup.requestedBy, bytes(backup.sizeBytes), totalRecords(backup) ?? '-', backup.expiresAt ?? '-']),
        ) + (page.nextCursor ? `\nMore: crm-backup backup list --cursor ${page.nextCursor}` : '')
      : 'No backups yet. Start one with: crm-backup backup create',
  );
}

/** A spent quota is an answer, not a failure (exit 0). */
async function backupQuota(options: ServiceOptions): Promise<void> {
  const quota = await call<BackupQuota>(options, 'GET', '/v1/backup-quota');
  print(options, quota, () =>
    quota.allowed
      ? `A backup is allowed now (${quota.tier} accounts: one backup every ${quota.period}). Start one with: crm-backup backup create`
      : `Not allowed now. ${quota.message ?? `The next backup is allowed at ${quota.nextAllowedAt}.`}`,
  );
}

async function backupShow(id: string, options: ServiceOptions): Promise<void> {
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
}

async function backupDownload(id: string, options: ServiceOptions & { output?: string; maxEntryBytes?: number; totp?: string }): Promise<void> {
  const link = await withTotp(options.totp, (totp) =>
    call<{ url: string; expiresAt: string }>(options, 'GET', `/v1/backups/${encodeURIComponent(id)}/download?${new URLSearchParams({ redirect: 'false', ...(totp ? { totp } : {}) })}`),
  );
  const file = options.output ?? `crm-backup-${id}.zip`;
  const partial = `${file}.part`;
  let response: Response;
  try {
    response = await fetch(link.url);
  } catch (error) {
    throw new CommandFailedError('DOWNLOAD_FAILED', `the download failed: ${(error as Error).message}`);
  }
  if (!response.ok || !response.body) throw new CommandFailedError('DOWNLOAD_FAILED', `the download failed: storage answered HTTP ${response.status}`);
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
    throw new CommandFailedError('DOWNLOAD_FAILED', `the download failed: ${(error as Error).message}`);
  } finally {
    progress.end();
  }
  const report = await verifyOrExplain(file, options.maxEntryBytes);
  if (report.ok && report.manifest?.backupId !== id) report.problems.push(`the manifest names backup ${report.manifest?.backupId}, not ${id}.`);
  const ok = report.ok && report.problems.length === 0;
  print(options, { file, backupId: id, bytes: received, verified: ok, ...report, ok }, () =>
    ok
      ? `Saved ${file} (${bytes(received)}). Verified: ${report.files.length} files, ${report.files.reduce((sum, f) => sum + f.records, 0)} records, every count and SHA-256 matches the manifest.\nIt holds sensitive data: store it somewhere safe.`
      : `Saved ${file}, but it does NOT match its manifest:\n${report.problems.map((problem) => `  - ${problem}`).join('\n')}`,
  );
  if (!ok) throw new CommandFailedError('ZIP_NOT_VERIFIED', `${file} does not match its manifest`, { reported: true });
}

async function verifyOrExplain(file: string, maxEntryBytes: number | undefined): Promise<VerifyReport> {
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

async function verify(file: string, options: { json: boolean; maxEntryBytes?: number }): Promise<void> {
  const report = await verifyOrExplain(file, options.maxEntryBytes);
  print(options, { file, ...report }, () =>
    report.ok
      ? `${file}: OK. Backup ${report.manifest!.backupId} of account ${report.manifest!.accountId}, completed ${report.manifest!.completedAt}.\n\n` +
        textTable(['FILE', 'OBJECT TYPE', 'RECORDS', 'BYTES', 'SHA-256'], report.files.map((f) => [f.name, f.objectType, f.records, f.bytes, f.sha256]))
      : `${file}: FAILED verification.\n${report.problems.map((problem) => `  - ${problem}`).join('\n')}`,
  );
  if (!report.ok) throw new CommandFailedError('ZIP_NOT_VERIFIED', `${file} does not match its manifest`, { reported: true });
}

async function restorePlan(backupId: string, options: ServiceOptions & { object: string; properties: string[]; wait: boolean }): Promise<void> {
  const plan = await call<RestorePlan>(options, 'POST', `/v1/backups/${encodeURIComponent(backupId)}/restore-plans`, { objectType: options.object, properties: options.properties });
  await showPlanWhenReady(options, plan);
}

/** Plans the undo of a restore: what setting back its changes would do (changes nothing). */
async function restoreUndo(restoreId: string, options: ServiceOptions & { wait: boolean }): Promise<void> {
  const plan = await call<RestorePlan>(options, 'POST', `/v1/restores/${encodeURIComponent(restoreId)}/undo-plan`);
  await showPlanWhenReady(options, plan);
}

async function revertPlan(options: ServiceOptions & { object: string; actor?: string; source?: string; from: string; to: string; wait: boolean }): Promise<void> {
  if (!options.actor && !options.source) throw new UsageError('name whose changes to revert: --actor, --source, or both');
  const body = { objectType: options.object, ...(options.actor ? { actor: options.actor } : {}), ...(options.source ? { source: options.source } : {}), from: options.from, to: options.to };
  await showPlanWhenReady(options, await call<RevertPlan>(options, 'POST', '/v1/revert-plans', body));
}

/** A plan as answered: READY or FAILED at once; PLANNING polled with a progress bar, or (--no-wait) shown as it is. */
async function showPlanWhenReady(options: ServiceOptions & { wait: boolean }, answered: RestorePlan | RevertPlan): Promise<void> {
  let plan = answered;
  if (plan.status === 'PLANNING' && !options.wait) {
    print(options, plan, () => `${planTitle(plan)} ${plan.id} is being computed (${plan.progress?.done ?? 0} ${planUnit(plan)} so far). Show it with: crm-backup restore plan-show ${plan.id}`);
    return;
  }
  if (plan.status === 'PLANNING') {
    const progress = new Progress();
    while (plan.status === 'PLANNING') {
      progress.update('Planning', plan.progress?.done ?? 0, plan.progress?.total ?? 0, planUnit(plan));
      await sleep(POLL_MS);
      plan = await call<RestorePlan | RevertPlan>(options, 'GET', `/v1/restore-plans/${encodeURIComponent(plan.id)}`);
    }
    progress.end();
  }
  printPlan(options, plan);
}

const isRevertPlan = (plan: RestorePlan | RevertPlan): plan is RevertPlan => plan.kind === 'REVERT';
const planTitle = (plan: RestorePlan | RevertPlan) => (isRevertPlan(plan) ? 'Revert plan' : 'Restore plan');
const planUnit = (plan: RestorePlan | RevertPlan) => (isRevertPlan(plan) ? 'changes read' : 'records compared');

async function restorePlanShow(planId: string, options: ServiceOptions): Promise<void> {
  const plan = await call<RestorePlan | RevertPlan>(options, 'GET', `/v1/restore-plans/${encodeURIComponent(planId)}`);
  if (plan.status === 'PLANNING') {
    print(options, plan, () => `${planTitle(plan)} ${plan.id} is being computed (${plan.progress?.done ?? 0} ${planUnit(plan)} so far).`);
    return;
  }
  printPlan(options, plan);
}

/** A READY plan as tables; a FAILED one as its reason (exit 1). */
function printPlan(options: ServiceOptions, plan: RestorePlan | RevertPlan): void {
  if (plan.status === 'FAILED') {
    if (options.json) print(options, plan, () => '');
    throw new CommandFailedError('PLAN_FAILED', `${planTitle(plan).toLowerCase()} ${plan.id} failed: ${plan.error ?? 'no reason given'}`, { reported: options.json });
  }
  if (isRevertPlan(plan)) return printRevertPlan(options, plan);
  const quote = (value: string) => (value === '' ? '(blank)' : JSON.stringify(value));
  const undo = plan.kind === 'UNDO';
  const conflicts = plan.conflictSample ?? [];
  print(options, plan, () =>
    [
      undo
        ? `Undo plan ${plan.id}: sets back what restore ${plan.undoOf} changed (${plan.properties.join(', ')} of ${plan.objectType}), where records still hold what it wrote. Nothing has changed yet.`
        : `Restore plan ${plan.id}: ${plan.properties.join(', ')} of ${plan.objectType} from backup ${plan.backupId}. Nothing has changed yet.`,
      '',
      textTable(
        ['RECORDS', 'COUNT'],
        undo
          ? [['the restore changed', plan.recordsInBackup], ['will be set back', plan.recordsToChange], ['already back', plan.recordsUnchanged], ['edited since (kept)', plan.recordsConflicting ?? 0], ['no longer exist', plan.recordsMissing]]
          : [['in the backup', plan.recordsInBackup], ['will change', plan.recordsToChange], ['already the same', plan.recordsUnchanged], ['no longer exist (not re-created)', plan.recordsMissing]],
      ),
      '',
      undo
        ? textTable(['PROPERTY', 'TO CHANGE', 'TO CLEAR', 'EDITED SINCE'], plan.perProperty.map((row) => [row.name, row.toChange, row.toClear, row.conflicting ?? 0]))
        : textTable(['PROPERTY', 'TO CHANGE', 'TO CLEAR'], plan.perProperty.map((row) => [row.name, row.toChange, row.toClear])),
      '',
      ...(conflicts.length
        ? [textTable(['EDITED SINCE: RECORD', 'PROPERTY', 'THE RESTORE WROTE', 'NOW (KEPT)'], conflicts.map((conflict) => [conflict.recordId, conflict.property, quote(conflict.wrote), quote(conflict.now)])), '']
        : []),
      plan.sample.length ? textTable(['RECORD', 'PROPERTY', 'NOW', 'AFTER'], plan.sample.flatMap((record) => record.changes.map((change) => [record.recordId, change.property, quote(change.from), quote(change.to)]))) : 'No record would change.',
      '',
      `Apply it (before ${plan.expiresAt}) with: crm-backup restore apply ${plan.id} --yes --totp <code>`,
    ].join('\n'),
  );
}

/** A READY revert plan: what is set back, what is left alone because it changed since. */
function printRevertPlan(options: ServiceOptions, plan: RevertPlan): void {
  const quote = (value: string) => (value === '' ? '(blank)' : JSON.stringify(value));
  const who = [plan.actor, plan.source && `source ${plan.source}`].filter(Boolean).join(' through ');
  print(options, plan, () =>
    [
      `Revert plan ${plan.id}: changes to ${plan.objectType} by ${who} from ${plan.from} to ${plan.to}. Nothing has changed yet.`,
      '',
      textTable(['RECORDS', 'COUNT'], [
        ['changed in the window', plan.recordsChanged],
        ['will be set back', plan.recordsToChange],
        ['changed since by someone else (left alone)', plan.recordsConflicting],
        ['already back', plan.recordsUnchanged],
        ['no longer exist (not re-created)', plan.recordsMissing],
      ]),
      '',
      plan.perProperty.length ? textTable(['PROPERTY', 'TO CHANGE', 'TO CLEAR', 'CONFLICTS'], plan.perProperty.map((row) => [row.name, row.toChange, row.toClear, row.conflicting ?? 0])) : 'No property to set back.',
      '',
      plan.sample.length ? textTable(['RECORD', 'PROPERTY', 'NOW', 'AFTER'], plan.sample.flatMap((record) => record.changes.map((change) => [record.recordId, change.property, quote(change.from), quote(change.to)]))) : 'No record would change.',
      ...(plan.conflictSample.length
        ? ['', 'Left alone (changed since):', textTable(['RECORD', 'PROPERTY', 'THEY LEFT', 'NOW'], plan.conflictSample.map((conflict) => [conflict.recordId, conflict.property, quote(conflict.wrote), quote(conflict.now)]))]
        : []),
      '',
      `Apply it (before ${plan.expiresAt}) with: crm-backup restore apply ${plan.id} --yes --totp <code>`,
    ].join('\n'),
  );
}

async function restoreApply(planId: string, options: ServiceOptions & { yes?: boolean; totp?: string; wait: boolean }): Promise<void> {
  if (!options.yes) throw new UsageError('a restore changes CRM data and can be undone only while its backup is kept: pass --yes to confirm');
  const answer = await withTotp(options.totp, (totp) =>
    call<Restore | { restore: Restore }>(options, 'POST', '/v1/restores', {
      planId,
      acknowledge: { changesData: true, cannotBeUndone: true },
      ...(totp ? { totp } : {}),
    }),
  );
  let restore = 'restore' in answer ? answer.restore : answer;
  if (!options.wait) {
    print(options, restore, () => `Restore ${restore.id} started. Follow it with: crm-backup restore show ${restore.id}`);
    return;
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
  if (restore.status !== 'SUCCEEDED') throw new CommandFailedError('RESTORE_FAILED', `restore ${restore.id} ${restore.status.toLowerCase()}: ${restore.error ?? 'no reason given'}`, { reported: true });
}

function restoreSummary(restore: Restore): string {
  const counts = restore.counts ?? { updated: 0, unchanged: 0, missing: 0, failed: 0, conflicting: 0 };
  const what = restore.kind === 'UNDO' ? `Undo ${restore.id} of restore ${restore.undoOf}` : `Restore ${restore.id}`;
  return `${what} of ${restore.objectType}: ${restore.status}${restore.error ? ` (${restore.error})` : ''}. ` +
    `${counts.updated} updated, ${counts.unchanged} unchanged, ${counts.missing} no longer exist, ${counts.failed} failed` +
    (counts.conflicting ? `, ${counts.conflicting} edited since (kept).` : '.') +
    (restore.failures?.length ? `\nNot restored:\n${restore.failures.map((failure) => `  ${failure.recordId}: ${failure.reason}`).join('\n')}` : '') +
    (restore.conflicts?.length ? `\nEdited since, kept:\n${restore.conflicts.map((conflict) => `  ${conflict.recordId} ${conflict.property}: ${JSON.stringify(conflict.now)}`).join('\n')}` : '') +
    (restore.status !== 'RUNNING' && counts.updated + (counts.conflicting ?? 0) > 0 ? `\nUndo it (while backup ${restore.backupId} is kept) with: crm-backup restore undo ${restore.id}` : '');
}

async function restoreList(options: ServiceOptions & PageOptions): Promise<void> {
  const page = await call<Page<Restore>>(options, 'GET', `/v1/restores?${pageQuery(options)}`);
  print(options, page, () =>
    page.items.length
      ? textTable(
          ['ID', 'STATUS', 'OBJECT TYPE', 'STARTED', 'BY', 'UPDATED', 'UNCHANGED', 'MISSING', 'FAILED'],
          page.items.map((r) => [r.id, r.status, r.objectType, r.startedAt, r.requestedBy, r.counts.updated, r.counts.unchanged, r.counts.missing, r.counts.failed]),
        ) + (page.nextCursor ? `\nMore: crm-backup restore list --cursor ${page.nextCursor}` : '')
      : 'No restores yet.',
  );
}

async function restoreShow(id: string, options: ServiceOptions): Promise<void> {
  const restore = await call<Restore>(options, 'GET', `/v1/restores/${encodeURIComponent(id)}`);
  print(options, restore, () => `${restoreSummary(restore)}\nProgress: ${restore.progress?.done ?? 0}/${restore.progress?.total ?? 0} records.`);
}

async function totpStatus(options: ServiceOptions): Promise<void> {
  const status = await call<TotpEnrolmentStatus>(options, 'GET', '/v1/me/totp-enrolment');
  const pending = status.pendingConfirmation;
  const waiting = pending
    ? pending.expired
      ? `The link we emailed expired at ${pending.expiresAt} unconfirmed.`
      : `Waiting for confirmation: open the link we emailed to ${pending.sentTo} (valid until ${pending.expiresAt}) and enter a code from the new app.`
    : undefined;
  print(options, status, () => {
    if (!status.required) return 'You signed in through single sign-on: restores and downloads ask you for no code.';
    if (status.status === 'NONE') return 'No authenticator app enrolled. Enrol one with: crm-backup totp enrol';
    if (status.status === 'PENDING_CONFIRMATION') return `Your authenticator app is not confirmed yet. ${waiting ?? ''}${pending?.expired ? ' Enrol again with: crm-backup totp enrol' : ''}`;
    return [
      `Your authenticator app is confirmed (since ${status.confirmedAt}); restores accept its codes.`,
      pending ? `A reset was asked for. ${waiting}${pending.expired ? '' : ' Until then your current app keeps working.'}` : 'Lost or replaced your phone? Reset it with: crm-backup totp reset',
    ].join('\n');
  });
}

/**
 * Enrols (or, with `replace`, resets) the caller's authenticator app: prints the new
 * secret once, as a QR code when stdout is a terminal and as a key, and where the
 * confirmation link went. With --json, the API's answer (secret included).
 */
async function totpEnrol(options: ServiceOptions, replace: boolean): Promise<void> {
  const enrolment = await call<PendingTotpEnrolment>(options, 'POST', '/v1/me/totp-enrolment', replace ? { replace: true } : {});
  const app = replace ? 'new authenticator app' : 'authenticator app';
  const key = enrolment.secret.replace(/(.{4})(?=.)/g, '$1 ');
  print(options, enrolment, () =>
    [
      // A QR code only for a person at a terminal: in a file or a pipe it is noise.
      ...(process.stdout.isTTY
        ? [`Scan this code with your ${app}:`, '', encodeQR(enrolment.otpauthUri, 'ascii'), '', `or type this key: ${key}`]
        : [`Add this key to your ${app}: ${key}`]),
      `(${enrolment.otpauthUri})`,
      '',
      `Then confirm it: we emailed a link to ${enrolment.confirmationSentTo}, valid until ${enrolment.confirmationExpiresAt}. Open it and enter a code from the app.`,
      enrolment.replacesConfirmed
        ? 'Until then nothing changes: restores keep accepting codes from your current app.'
        : 'Until then, restores do not accept codes from this app.',
      'This key is shown only now; anyone who sees it can make codes.',
    ].join('\n'),
  );
}

/** What `source show` and the answers of connect/disconnect print. */
function sourceSummary(source: DataSource): string {
  if (source.type === 'builtin') return 'Data source: the built-in CRM. Connect a HubSpot portal with: crm-backup source connect';
  return [
    `Data source: HubSpot portal ${source.portalId} (${source.timeZone}), connected by ${source.connectedBy} at ${source.connectedAt}.`,
    source.missingScopes.length
      ? `The token lacks: ${source.missingScopes.join(', ')}. Grant them to the private app, then connect again (docs/hubspot.md lists the scopes).`
      : 'The token has every scope a backup and restore need.',
  ].join('\n');
}

async function sourceShow(options: ServiceOptions): Promise<void> {
  const source = await call<DataSource>(options, 'GET', '/v1/source');
  print(options, source, () => sourceSummary(source));
}

/**
 * Connects a HubSpot portal. The token comes from a file or HUBSPOT_ACCESS_TOKEN, never
 * from the command line (where shell history and `ps` would keep it).
 */
async function sourceConnect(options: ServiceOptions & { hubspotTokenFile?: string; totp?: string }): Promise<void> {
  const accessToken = options.hubspotTokenFile
    ? (
        await readFile(options.hubspotTokenFile, 'utf8').catch((error: NodeJS.ErrnoException) => {
          throw new UsageError(`cannot read the HubSpot token file ${options.hubspotTokenFile}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`);
        })
      ).trim()
    : process.env.HUBSPOT_ACCESS_TOKEN?.trim();
  if (!accessToken) throw new UsageError("no HubSpot token: pass --hubspot-token-file FILE or set HUBSPOT_ACCESS_TOKEN to the private app's access token");
  const source = await withTotp(options.totp, (totp) => call<DataSource>(options, 'PUT', '/v1/source', { type: 'hubspot', accessToken, ...(totp ? { totp } : {}) }));
  print(options, source, () => `Connected.\n${sourceSummary(source)}`);
}

async function sourceDisconnect(options: ServiceOptions & { yes?: boolean; totp?: string }): Promise<void> {
  if (!options.yes) throw new UsageError('disconnecting makes the built-in CRM the data source again and deletes the stored HubSpot token: pass --yes to confirm');
  const source = await withTotp(options.totp, (totp) => call<DataSource>(options, 'DELETE', '/v1/source', totp ? { totp } : {}));
  print(options, source, () => `Disconnected. ${sourceSummary(source)}`);
}

/** What a comparison found, as text: the counts, the properties that changed, the sample ("from" = the backup). */
function figuresText(title: string, figures: ComparisonFigures): string {
  const quote = (value: string) => (value === '' ? '(blank)' : JSON.stringify(value));
  const changedProperties = figures.perProperty.filter((property) => property.changed > 0);
  return [
    `${title}: ${count(figures.added)} added, ${count(figures.removed)} removed, ${count(figures.changed)} changed, ${count(figures.unchanged)} unchanged.`,
    ...(changedProperties.length ? ['', textTable(['PROPERTY', 'RECORDS CHANGED'], changedProperties.map((property) => [property.name, property.changed]))] : []),
    ...(figures.sample.length
      ? [
          '',
          textTable(
            ['RECORD', 'KIND', 'PROPERTY', 'FROM', 'TO'],
            figures.sample.flatMap((item) =>
              item.changes.length ? item.changes.map((change) => [item.recordId, item.kind, change.property, quote(change.from), quote(change.to)]) : [[item.recordId, item.kind, '', '', '']],
            ),
          ),
        ]
      : []),
  ].join('\n');
}

/** Offline: two downloaded zips, compared by the service's own code, on this machine's disk. */
async function diff(fromFile: string, toFile: string, options: { json: boolean; object?: string; csv?: string }): Promise<void> {
  let report;
  try {
    report = await diffBackupZips(fromFile, toFile, { objectType: options.object, csvFile: options.csv });
  } catch (error) {
    if (error instanceof DiffRefusedError) throw new UsageError(error.message);
    if (error instanceof CorruptZipError) throw new CommandFailedError('ZIP_NOT_VERIFIED', error.message);
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`no such file: ${(error as NodeJS.ErrnoException).path ?? fromFile}`);
    if (code === 'EISDIR') throw new UsageError(`${(error as NodeJS.ErrnoException).path ?? fromFile} is a directory, not a zip`);
    if (error instanceof ArchiveIntegrityError) throw new CommandFailedError('ZIP_NOT_VERIFIED', error.message);
    throw error;
  }
  print(options, report, () =>
    [
      `From backup ${report.from.backupId} (${report.from.completedAt}) to backup ${report.to.backupId} (${report.to.completedAt}), account ${report.from.accountId}.`,
      ...report.objectTypes.map((type) => `\n${figuresText(type.objectType, type)}`),
      ...(report.csv ? [`\nEvery difference (${count(report.csv.rows)} rows): ${report.csv.file}`] : []),
    ].join('\n'),
  );
}

/** Online: a backup against today's data or another backup, waiting (with progress) while big types compare in the background. */
async function compare(backupId: string, options: ServiceOptions & { object: string; with: string; refresh?: boolean; wait: boolean; csv?: string }): Promise<void> {
  const query = (refresh: boolean) => `/v1/backups/${encodeURIComponent(backupId)}/compare?${new URLSearchParams({ with: options.with, objectType: options.object, ...(refresh ? { refresh: 'true' } : {}) })}`;
  let comparison = options.csv
    ? await call<Comparison>(options, 'POST', `/v1/backups/${encodeURIComponent(backupId)}/compare-exports`, { with: options.with, objectType: options.object })
    : await call<Comparison>(options, 'GET', query(options.refresh === true));
  const again = () => call<Comparison>(options, 'GET', options.csv ? `/v1/compare-exports/${encodeURIComponent(comparison.id)}` : query(false));
  if (comparison.status === 'COMPARING' && !options.wait) {
    print(options, comparison, () => `Comparison ${comparison.id} is running (${comparison.progress?.done ?? 0}/${comparison.progress?.total ?? '?'}). Run the same command again to see it.`);
    return;
  }
  const progress = new Progress();
  while (comparison.status === 'COMPARING') {
    progress.update('Comparing', comparison.progress?.done ?? 0, comparison.progress?.total ?? 0, 'records');
    await sleep(POLL_MS);
    comparison = await again();
  }
  progress.end();
  if (comparison.status === 'FAILED') {
    if (options.json) print(options, comparison, () => '');
    throw new CommandFailedError('COMPARISON_FAILED', `comparison ${comparison.id} failed: ${comparison.error ?? 'no reason given'}`, { reported: options.json });
  }
  if (options.csv) {
    const link = await call<{ url: string }>(options, 'GET', `/v1/compare-exports/${encodeURIComponent(comparison.id)}/download?redirect=false`);
    const response = await fetch(link.url).catch((error: Error) => {
      throw new CommandFailedError('DOWNLOAD_FAILED', `the download failed: ${error.message}`);
    });
    if (!response.ok || !response.body) throw new CommandFailedError('DOWNLOAD_FAILED', `the download failed: storage answered HTTP ${response.status}`);
    const partial = `${options.csv}.part`;
    try {
      await pipeline(Readable.fromWeb(response.body as never), createWriteStream(partial, { mode: 0o600 }));
      await rename(partial, options.csv);
    } catch (error) {
      await rm(partial, { force: true });
      throw new CommandFailedError('DOWNLOAD_FAILED', `the download failed: ${(error as Error).message}`);
    }
  }
  const other = comparison.with === 'live' ? "today's data" : `backup ${comparison.with}`;
  print(options, comparison, () =>
    [
      `Backup ${comparison.backupId} compared with ${other}${comparison.completedAt ? ` (as of ${comparison.completedAt})` : ''}.`,
      '',
      figuresText(comparison.objectType, comparison),
      ...(options.csv ? ['', `Every difference (${count(comparison.export?.rows ?? 0)} rows): ${options.csv}. It holds sensitive data: store it somewhere safe.`] : []),
    ].join('\n'),
  );
}

// ---------------------------------------------------------------- the command line

function positiveInteger(value: string): number {
  if (!/^[1-9]\d*$/.test(value)) throw new InvalidArgumentError('Give a whole number above 0.');
  return Number(value);
}

function serviceUrl(value: string): string {
  try {
    return new URL(value).href.replace(/\/+$/, '');
  } catch {
    throw new InvalidArgumentError('Give a URL, such as http://localhost:3000.');
  }
}

const jsonOption = () => new Option('--json', 'machine-readable output on stdout (errors too, as {"error": {code, message}})');
const urlOption = () => new Option('--url <url>', 'the service address').env('CRM_BACKUP_URL').default('http://localhost:3000').argParser(serviceUrl);
const totpOption = () =>
  new Option('--totp <code>', 'the 6-digit code from your authenticator app (else asked on a terminal; never asked of SSO sign-ins)').argParser(sixDigits);
const maxEntryOption = () => new Option('--max-entry-bytes <n>', 'refuse zip entries bigger than this without unpacking them (default 64 GiB)').argParser(positiveInteger);

/** A leaf command that talks to the service: --json, --url, --token-file, and an example in its help. */
function serviceCommand(parent: Command, usage: string, description: string, example: string): Command {
  return parent
    .command(usage)
    .description(description)
    .addOption(jsonOption())
    .addOption(urlOption())
    .option('--token-file <file>', 'read the bearer token from this file (else CRM_BACKUP_TOKEN)')
    .addHelpText('after', `\nExample:\n  ${example}`);
}

function pagedCommand(parent: Command, usage: string, description: string, example: string): Command {
  return serviceCommand(parent, usage, description, example)
    .addOption(new Option('--limit <n>', 'how many per page (at most 100)').default(50).argParser(positiveInteger))
    .option('--cursor <cursor>', 'the next page, as printed under the previous one');
}

const WAIT_HELP = 'return at once instead of waiting with a progress bar on stderr';

function buildProgram(): Command {
  const program = new Command('crm-backup')
    .description('Back up and restore CRM data from the command line, through the public API.')
    .version(packageJson.version, '-V, --version', 'print the version')
    .addHelpText(
      'after',
      `
Examples:
  $ export CRM_BACKUP_TOKEN=$(crm-backup sign-in admin@acme.example)   # local runtime
  $ crm-backup backup create
  $ crm-backup backup download bk_... -o acme.zip
  $ crm-backup restore plan bk_... --object deals --properties dealstage,amount
  $ crm-backup compare bk_... --object deals            # with today's data
  $ crm-backup diff monday.zip tuesday.zip --object deals

Restores, and downloads where the service lets a password alone sign in, ask for the
code from your authenticator app: pass --totp, or type it when asked on a terminal.
Enrol an app with: crm-backup totp enrol (confirmed from a link we email you).

Environment: CRM_BACKUP_URL (default http://localhost:3000), CRM_BACKUP_TOKEN.
Exit codes: 0 success, 1 failure (refused, unreachable, failed, not verified), 2 usage error.`,
    );

  const backup = program.command('backup').description('backup create | list | show | download | quota');
  serviceCommand(backup, 'create', 'back up every object type of your account, and wait until the zip is ready', '$ crm-backup backup create --json > backup.json')
    .option('--no-wait', WAIT_HELP)
    .action((options) => backupCreate(options));
  pagedCommand(backup, 'list', 'the backup history, newest first', '$ crm-backup backup list --limit 10')
    .action((options) => backupList(options));
  serviceCommand(backup, 'show <backupId>', 'one backup: status, object types, files and SHA-256', '$ crm-backup backup show bk_01J...')
    .action((id: string, options) => backupShow(id, options));
  serviceCommand(backup, 'download <backupId>', 'download the zip (mode 0600), then verify it against its manifest', '$ crm-backup backup download bk_01J... -o acme.zip')
    .option('-o, --output <file>', 'where to save it (default crm-backup-<id>.zip)')
    .addOption(maxEntryOption())
    // Asked only where the service lets a password alone sign in (-c mfa=optional).
    .addOption(totpOption())
    .action((id: string, options) => backupDownload(id, options));
  serviceCommand(backup, 'quota', 'whether a backup is allowed now, else when the next one is', '$ crm-backup backup quota')
    .action((options) => backupQuota(options));

  program
    .command('verify <file>')
    .description('check a downloaded zip offline: counts, sizes, SHA-256, CRC-32, unsafe names')
    .addOption(jsonOption())
    .addOption(maxEntryOption())
    .addHelpText('after', '\nExample:\n  $ crm-backup verify acme.zip')
    .action((file: string, options) => verify(file, options));

  program
    .command('diff <zip1> <zip2>')
    .description('compare two downloaded backups offline (zip1 older, zip2 newer): added, removed, changed')
    .addOption(jsonOption())
    .option('--object <type>', 'only this object type (default: every type of either backup)')
    .option('--csv <file>', 'also write every difference (record id, kind, property, from, to) to this CSV; needs --object')
    .addHelpText('after', '\nExample:\n  $ crm-backup diff monday.zip tuesday.zip --object deals')
    .action((fromFile: string, toFile: string, options) => diff(fromFile, toFile, options));

  serviceCommand(program, 'compare <backupId>', "compare a backup with today's data or another backup (changes nothing)", '$ crm-backup compare bk_01J... --object deals --with live')
    .requiredOption('--object <type>', 'the object type, by internal name (deals, p_vehicles)')
    .option('--with <side>', '"live" (today\'s data) or another backup\'s id', 'live')
    .option('--refresh', 'compare again rather than show the kept comparison')
    .option('--csv <file>', 'also download every difference (record id, kind, property, from, to) as a CSV')
    .option('--no-wait', WAIT_HELP)
    .action((backupId: string, options) => compare(backupId, options));

  const restore = program.command('restore').description('restore plan | plan-show | apply | list | show | undo');
  serviceCommand(restore, 'plan <backupId>', 'compute what restoring properties of one object type would change (changes nothing)', '$ crm-backup restore plan bk_01J... --object deals --properties dealstage,amount')
    .requiredOption('--object <type>', 'the object type, by internal name (deals, p_vehicles)')
    .requiredOption('--properties <names>', 'comma-separated internal property names', (value: string) => {
      const names = value.split(',').map((name) => name.trim()).filter(Boolean);
      if (!names.length) throw new InvalidArgumentError('Name at least one property.');
      return names;
    })
    .option('--no-wait', WAIT_HELP)
    .action((backupId: string, options) => restorePlan(backupId, options));
  serviceCommand(restore, 'plan-show <planId>', 'a plan, or how far its computation is', '$ crm-backup restore plan-show rp_01J...')
    .action((planId: string, options) => restorePlanShow(planId, options));
  serviceCommand(restore, 'apply <planId>', 'run a plan: it changes data (undo it with `restore undo` while its backup is kept)', '$ crm-backup restore apply rp_01J... --yes --totp 123456')
    .option('--yes', 'confirm that the restore changes data and can be undone only while its backup is kept')
    .addOption(totpOption())
    .option('--no-wait', WAIT_HELP)
    .action((planId: string, options) => restoreApply(planId, options));
  pagedCommand(restore, 'list', 'the restore history, newest first', '$ crm-backup restore list --json')
    .action((options) => restoreList(options));
  serviceCommand(restore, 'show <restoreId>', "a restore's progress and counts", '$ crm-backup restore show rs_01J...')
    .action((id: string, options) => restoreShow(id, options));
  serviceCommand(restore, 'undo <restoreId>', 'plan setting back what a restore changed, where records still hold what it wrote (changes nothing; apply the plan to run it)', '$ crm-backup restore undo rs_01J...')
    .option('--no-wait', WAIT_HELP)
    .action((restoreId: string, options) => restoreUndo(restoreId, options));

  const revert = program.command('revert').description('revert plan: set back what one person, integration or source changed (run it with `restore apply`)');
  serviceCommand(revert, 'plan', "plan to set back one actor's (or source's) changes to one object type in a time window, from the change history (changes nothing)", '$ crm-backup revert plan --object deals --actor ops@acme.example --from 2026-12-06T22:00:00Z --to 2026-12-07T06:00:00Z')
    .requiredOption('--object <type>', 'the object type, by internal name (deals, p_vehicles)')
    .option('--actor <who>', 'whose changes: an email or user id, as the change events name them')
    .addOption(new Option('--source <source>', 'changes made through this source').choices(['USER', 'IMPORT', 'INTEGRATION', 'RESTORE']))
    .requiredOption('--from <time>', 'start of the window (ISO 8601, e.g. 2026-12-06T22:00:00Z)')
    .requiredOption('--to <time>', 'end of the window (ISO 8601; at most 31 days after --from)')
    .option('--no-wait', WAIT_HELP)
    .action((options) => revertPlan(options));

  const source = program.command('source').description('source show | connect | disconnect: the CRM your backups read and restores write');
  serviceCommand(source, 'show', 'the data source: the built-in CRM, or the HubSpot portal connected and the scopes its token lacks', '$ crm-backup source show')
    .action((options) => sourceShow(options));
  serviceCommand(source, 'connect', "connect a HubSpot portal with its private app's access token (checked live; stored encrypted)", '$ HUBSPOT_ACCESS_TOKEN=pat-na1-... crm-backup source connect --totp 123456')
    .option('--hubspot-token-file <file>', "read the private app's access token from this file (else HUBSPOT_ACCESS_TOKEN)")
    .addOption(totpOption())
    .action((options) => sourceConnect(options));
  serviceCommand(source, 'disconnect', 'go back to the built-in CRM; the stored token is deleted, backups made stay', '$ crm-backup source disconnect --yes --totp 123456')
    .option('--yes', 'confirm')
    .addOption(totpOption())
    .action((options) => sourceDisconnect(options));

  const totp = program.command('totp').description('totp status | enrol | reset');
  serviceCommand(totp, 'status', 'whether your authenticator app is confirmed, or waits for its emailed link', '$ crm-backup totp status')
    .action((options) => totpStatus(options));
  serviceCommand(totp, 'enrol', 'enrol an authenticator app: prints its QR code and key; the link we email you confirms it', '$ crm-backup totp enrol')
    .action((options) => totpEnrol(options, false));
  serviceCommand(totp, 'reset', 'replace your confirmed app (a lost phone): the current one works until the emailed link confirms the new one', '$ crm-backup totp reset')
    .action((options) => totpEnrol(options, true));

  program
    .command('sign-in <email>')
    .description('local runtime only: print a token for a demo user')
    .addOption(jsonOption())
    .addOption(urlOption())
    .addHelpText('after', '\nExample:\n  $ export CRM_BACKUP_TOKEN=$(crm-backup sign-in admin@acme.example)')
    .action((email: string, options) => signIn(email, options));

  // Every command: errors reported by report() (as "crm-backup: <sentence>", and JSON with --json),
  // naming the command whose help explains it.
  const configure = (command: Command) => {
    command
      .exitOverride((error) => {
        throw Object.assign(error, { command });
      })
      .configureOutput({ outputError: () => {} })
      .showSuggestionAfterError(true);
    command.commands.forEach(configure);
  };
  configure(program);
  return program;
}

/** The exit code, after printing the outcome of a failure on stderr (and on stdout as JSON with --json). */
function report(error: unknown, json: boolean): number {
  const fail = (code: string, message: string, exitCode: number, details: Record<string, unknown> = {}) => {
    if (json) process.stdout.write(`${JSON.stringify({ error: { code, message, ...details } }, null, 2)}\n`);
    process.stderr.write(`crm-backup: ${message}\n`);
    return exitCode;
  };
  if (error instanceof CommanderError) {
    // Help and --version were printed and end with 0; a bare `crm-backup` or `crm-backup backup` printed help to stderr.
    if (error.exitCode === 0) return 0;
    if (error.code === 'commander.help') return 2;
    const names: string[] = [];
    for (let command = (error as CommanderError & { command?: Command }).command; command; command = command.parent ?? undefined) names.unshift(command.name());
    const message = error.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ');
    return fail('USAGE_ERROR', `${message} (see ${names.join(' ')} --help)`, 2);
  }
  if (error instanceof UsageError) return fail('USAGE_ERROR', error.message, 2);
  if (error instanceof ApiError) return fail(error.code, error.message, 1, error.details);
  if (error instanceof CommandFailedError) {
    if (error.reported) {
      process.stderr.write(`crm-backup: ${error.message}\n`);
      return 1;
    }
    return fail(error.code, error.message, 1);
  }
  process.stderr.write(`crm-backup: unexpected error: ${(error as Error).stack ?? String(error)}\n`);
  return 1;
}

const program = buildProgram();
try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.exitCode = report(error, process.argv.slice(2).includes('--json'));
}
