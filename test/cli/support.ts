import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, deflateRawSync } from 'node:zlib';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = join(ROOT, 'cli', 'crm-backup.ts');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real binary (`node cli/crm-backup.ts …`) with only the given environment on top of PATH. */
export function runCli(args: string[], env: Record<string, string> = {}, options: { cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd ?? ROOT,
      env: { PATH: process.env.PATH ?? '', CRM_BACKUP_POLL_MS: '200', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

export interface ZipEntrySpec {
  name: string;
  data: Buffer | string;
  /** Stored (0) or deflated (8, default). */
  method?: 0 | 8;
  /** Raw deflate data made elsewhere (too big to hold inflated): `data` is then ignored. */
  precompressed?: { data: Buffer; crc32: number; size: number };
}

/**
 * A minimal, standard zip writer for test fixtures: unlike archiver it writes any
 * name as given (`../x`), so tests can build the hostile zips `verify` must refuse.
 */
export function buildZip(entries: ZipEntrySpec[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const data = Buffer.isBuffer(entry.data) ? entry.data : Buffer.from(entry.data, 'utf8');
    const method = entry.precompressed ? 8 : (entry.method ?? 8);
    const body = entry.precompressed?.data ?? (method === 8 ? deflateRawSync(data) : data);
    const name = Buffer.from(entry.name, 'utf8');
    const crc = entry.precompressed?.crc32 ?? crc32(data) >>> 0;
    const size = entry.precompressed?.size ?? data.length;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(0, 10);
    local.writeUInt16LE(0x5b21, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(0, 12);
    central.writeUInt16LE(0x5b21, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += local.length + name.length + body.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/** A backup-shaped zip: the CSVs plus a manifest computed from them (overridable to lie). */
export function buildBackupZip(
  csvs: Record<string, string>,
  manifestOverrides: (files: any[]) => any[] = (files) => files,
  extra: ZipEntrySpec[] = [],
  backupId = 'bk_test',
): Buffer {
  const files = Object.entries(csvs).map(([objectType, csv]) => ({
    name: `${objectType}.csv`,
    objectType,
    records: countRecords(csv),
    bytes: Buffer.byteLength(csv),
    sha256: createHash('sha256').update(csv).digest('hex'),
  }));
  const manifest = { accountId: 'acme', backupId, completedAt: '2026-01-01T00:00:00.000Z', files: manifestOverrides(files) };
  return buildZip([
    ...Object.entries(csvs).map(([objectType, csv]) => ({ name: `${objectType}.csv`, data: csv })),
    { name: 'manifest.json', data: JSON.stringify(manifest, null, 2) },
    ...extra,
  ]);
}

/** Records in a test CSV: rows minus the header (test fixtures put no line breaks in values unless counted here). */
function countRecords(csv: string): number {
  // Line breaks inside quotes do not end a record.
  let records = 0;
  let quoted = false;
  for (const char of csv) {
    if (char === '"') quoted = !quoted;
    else if (char === '\n' && !quoted) records++;
  }
  return records - 1;
}
