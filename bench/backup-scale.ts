/**
 * Scale run for backups (not part of `npm test`):
 *
 *   npx node --openssl-legacy-provider bench/backup-scale.ts --records 100000 [--properties 20] [--data-dir /tmp/crm-bench] [--heap-mb 128] [--compare-zip]
 *
 * Grows acme/contacts (13 properties) to `--records` records in a DynamoDB stand-in
 * kept in `--data-dir` (reused between runs: seeding 1M records takes minutes), then
 * runs the backup's export and zip steps, each in its own child process, exactly as
 * Lambda would run them (same core functions, real SDK clients, 15-minute budget),
 * and reports wall time and the child's peak RSS. The stand-ins run in this parent
 * process so that their memory does not count against the steps.
 */
import { execFile, fork } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { parse as parseCsv } from 'csv-parse';
import yauzl from 'yauzl';
import { mkdir, rm, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { PropertyDefinition, PropertyType } from '#core/model.ts';
import type { AppConfig } from '#runtime/config.ts';
import { buildDeps } from '#runtime/deps.ts';
import { exportObject, type ExportObjectOutput } from '#core/backups/export-object.ts';
import { readPartDigest } from '#core/backups/part-digests.ts';
import { zipBackup } from '#core/backups/zip-backup.ts';
import { createTables, startDynamoDb } from '../local/dynamodb.ts';
import { startS3 } from '../local/s3.ts';
import { LOCAL_TABLE_NAMES } from '../local/runtime.ts';
import { seedDemoData, seedRecords } from '../local/seed.ts';
import { asInLambda, peakRssMb } from './peak-rss.ts';

const ACCOUNT = 'acme';
/** `contacts` (13 properties), or with `--properties N` a custom object `p_bench<N>` with N properties. */
let OBJECT_TYPE = 'contacts';
const PROPERTY_TYPES: PropertyType[] = ['string', 'number', 'text', 'email', 'date', 'enumeration', 'phone', 'datetime'];
const BUCKET = 'crm-backup-bench';
const LAMBDA_BUDGET_MS = 900_000;

interface StepReport {
  wallMs: number;
  maxRssMb: number;
  [key: string]: unknown;
}

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '100000' },
    'data-dir': { type: 'string', default: '/tmp/crm-bench' },
    /** Caps the steps' V8 heap (like a small Lambda), to show memory does not grow with records. */
    'heap-mb': { type: 'string' },
    /** Also time Info-ZIP's `zip -6` on the same CSV, for comparison. */
    'compare-zip': { type: 'boolean', default: false },
    properties: { type: 'string' },
    /** A shorter Lambda budget per export invocation, to show the cursor loop at scale. */
    'budget-seconds': { type: 'string' },
    /** Download the zip and count its CSV's rows and distinct ids with a streaming csv-parse. */
    verify: { type: 'boolean', default: false },
    worker: { type: 'string' },
    config: { type: 'string' },
    input: { type: 'string' },
  },
});

if (values.worker) {
  await runWorker(values.worker, JSON.parse(values.config!) as AppConfig, JSON.parse(values.input!));
} else {
  await runBench(Number(values.records), values['data-dir']!);
}

async function runBench(target: number, dataDir: string): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  const dynamo = await startDynamoDb(`${dataDir}/dynamodb`);
  const s3 = await startS3(`${dataDir}/s3`, BUCKET);
  const config: AppConfig = {
    region: 'us-east-1',
    stage: 'bench',
    dataTableName: LOCAL_TABLE_NAMES.DataTable,
    appTableName: LOCAL_TABLE_NAMES.AppTable,
    backupBucketName: BUCKET,
    backupStateMachineArn: '',
    restoreStateMachineArn: '',
    senderEmail: 'bench@crm-backup.local',
    appUrl: 'http://localhost',
    local: { dynamodb: dynamo.endpoint, s3: s3.endpoint, stepFunctions: 'http://127.0.0.1:9', ses: 'http://127.0.0.1:9', kms: 'http://127.0.0.1:9', eventBridge: 'http://127.0.0.1:9' },
  };
  try {
    await createTables(new DynamoDBClient({ region: 'us-east-1', endpoint: dynamo.endpoint, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } }), LOCAL_TABLE_NAMES);
    const deps = buildDeps(config);
    await seedDemoData(deps.records, { recordsPerType: 10 });
    if (values.properties) {
      const count = Number(values.properties);
      OBJECT_TYPE = `p_bench${count}`;
      if (!(await deps.records.getObjectType(ACCOUNT, OBJECT_TYPE))) {
        const properties: PropertyDefinition[] = Array.from({ length: count }, (_, index) => ({
          name: `field_${String(index + 1).padStart(2, '0')}`,
          label: `Field ${index + 1}`,
          type: PROPERTY_TYPES[index % PROPERTY_TYPES.length]!,
          readOnly: false,
          calculated: false,
          sensitive: false,
        }));
        await deps.records.putObjectType(ACCOUNT, { name: OBJECT_TYPE, label: 'Bench', pluralLabel: 'Benches', custom: true, properties });
      }
    }
    const have = (await deps.records.getObjectType(ACCOUNT, OBJECT_TYPE))!.records;
    if (have < target) {
      const started = Date.now();
      console.log(`seeding ${(target - have).toLocaleString('en-US')} ${OBJECT_TYPE} …`);
      await seedRecords(deps.records, ACCOUNT, OBJECT_TYPE, target - have);
      console.log(`seeded in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
    const type = (await deps.records.getObjectType(ACCOUNT, OBJECT_TYPE))!;
    const backupId = deps.ids.next('bk');
    const createdAt = new Date().toISOString();
    await deps.backups.createBackup({ id: backupId, accountId: ACCOUNT, status: 'RUNNING', trigger: 'api', requestedBy: 'bench', createdAt, objects: [] });
    console.log(`${type.records.toLocaleString('en-US')} records × ${type.properties.length} properties; backup ${backupId}`);

    const budgetSeconds = values['budget-seconds'] ? Number(values['budget-seconds']) : undefined;
    const exported = await child('export', config, { accountId: ACCOUNT, backupId, objectType: OBJECT_TYPE, index: 0, budgetSeconds });
    console.log(`export: ${(exported.wallMs / 1000).toFixed(1)} s, peak RSS ${exported.maxRssMb} MB, ${exported.invocations} invocation(s), ${exported.records} records, ${exported.parts} parts, ${(Number(exported.csvBytes) / 1e6).toFixed(1)} MB CSV`);
    const zip6 = values['compare-zip'] ? await compareWithInfoZip(deps, backupId, Number(exported.parts), dataDir) : undefined;
    const zipped = await child('zip', config, { accountId: ACCOUNT, backupId, exports: [{ objectType: OBJECT_TYPE, records: exported.records, parts: exported.parts }] });
    console.log(`zip:    ${(zipped.wallMs / 1000).toFixed(1)} s, peak RSS ${zipped.maxRssMb} MB, ${(Number(zipped.sizeBytes) / 1e6).toFixed(1)} MB zip`);
    if (values.verify) await verifyZip(deps, backupId, createdAt, type.records, dataDir);
    console.log(JSON.stringify({ records: type.records, properties: type.properties.length, export: exported, zip: zipped, ...(zip6 ? { zip6 } : {}) }));
  } finally {
    await s3.stop();
    await dynamo.stop();
  }
}

/** Streams the zip's CSV through csv-parse: as many rows as records, each id once. */
async function verifyZip(deps: ReturnType<typeof buildDeps>, backupId: string, createdAt: string, expected: number, dataDir: string): Promise<void> {
  const file = `${dataDir}/verify.zip`;
  await pipeline(await deps.blobs.read(`backups/${ACCOUNT}/${backupId}/crm-backup-${ACCOUNT}-${createdAt.slice(0, 10)}.zip`), createWriteStream(file));
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) => yauzl.open(file, { lazyEntries: true }, (error, opened) => (error ? reject(error) : resolve(opened!))));
  const stream = await new Promise<NodeJS.ReadableStream>((resolve, reject) => {
    zip.on('entry', (entry: yauzl.Entry) => {
      if (entry.fileName !== `${OBJECT_TYPE}.csv`) return zip.readEntry();
      zip.openReadStream(entry, (error, opened) => (error ? reject(error) : resolve(opened!)));
    });
    zip.readEntry();
  });
  const ids = new Set<string>();
  let rows = 0;
  for await (const row of stream.pipe(parseCsv({ from_line: 2 }))) {
    rows += 1;
    ids.add((row as string[])[0]!);
  }
  zip.close();
  await rm(file, { force: true });
  console.log(`verify: ${rows.toLocaleString('en-US')} rows, ${ids.size.toLocaleString('en-US')} distinct ids, ${rows === expected && ids.size === expected ? 'OK' : `MISMATCH (expected ${expected})`}`);
}

/** Concatenates the parts into a file and times `zip -6` on it (the baseline STACK.md suggests). */
async function compareWithInfoZip(
  deps: ReturnType<typeof buildDeps>,
  backupId: string,
  parts: number,
  dataDir: string,
): Promise<{ wallMs: number; sizeBytes: number }> {
  const csv = `${dataDir}/compare/${OBJECT_TYPE}.csv`;
  await mkdir(`${dataDir}/compare`, { recursive: true });
  await rm(`${dataDir}/compare/${OBJECT_TYPE}.zip`, { force: true });
  const out = createWriteStream(csv);
  for (let part = 0; part < parts; part += 1) {
    // The parts are raw deflate segments (sync-flushed): each inflates on its own.
    await pipeline(
      await deps.blobs.read(`backups/${ACCOUNT}/${backupId}/parts/${OBJECT_TYPE}/${String(part).padStart(5, '0')}.csv`),
      zlib.createInflateRaw({ finishFlush: zlib.constants.Z_SYNC_FLUSH }),
      out,
      { end: false },
    );
  }
  await new Promise((resolve) => out.end(resolve));
  const started = Date.now();
  await promisify(execFile)('zip', ['-6', '-q', '-j', `${dataDir}/compare/${OBJECT_TYPE}.zip`, csv]);
  const wallMs = Date.now() - started;
  const size = (await stat(`${dataDir}/compare/${OBJECT_TYPE}.zip`)).size;
  console.log(`zip -6: ${(wallMs / 1000).toFixed(1)} s, ${(size / 1e6).toFixed(1)} MB zip (Info-ZIP on the same CSV, for comparison)`);
  await rm(`${dataDir}/compare`, { recursive: true, force: true });
  return { wallMs, sizeBytes: size };
}

/** Runs one step in a fresh process and answers its report (peak RSS is that process's alone). */
function child(step: string, config: AppConfig, input: unknown): Promise<StepReport> {
  return new Promise((resolve, reject) => {
    const worker = fork(fileURLToPath(import.meta.url), ['--worker', step, '--config', JSON.stringify(config), '--input', JSON.stringify(input)], {
      execArgv: ['--openssl-legacy-provider', ...asInLambda(step === 'export' ? 'export-object' : 'zip-backup', { heapMb: values['heap-mb'] ? Number(values['heap-mb']) : undefined })],
      stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    });
    worker.once('message', (report) => resolve(report as StepReport));
    worker.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`${step} exited with ${code}`))));
  });
}

async function runWorker(step: string, config: AppConfig, input: any): Promise<void> {
  const deps = buildDeps(config);
  const started = Date.now();
  const peak = { heapUsedMb: 0, externalMb: 0, arrayBuffersMb: 0 };
  const sampler = setInterval(() => {
    const usage = process.memoryUsage();
    peak.heapUsedMb = Math.max(peak.heapUsedMb, Math.round(usage.heapUsed / 2 ** 20));
    peak.externalMb = Math.max(peak.externalMb, Math.round(usage.external / 2 ** 20));
    peak.arrayBuffersMb = Math.max(peak.arrayBuffersMb, Math.round(usage.arrayBuffers / 2 ** 20));
  }, 50);
  let report: Record<string, unknown>;
  if (step === 'export') {
    let output: ExportObjectOutput | undefined;
    let invocations = 0;
    do {
      const deadline = Date.now() + (input.budgetSeconds ? input.budgetSeconds * 1000 : LAMBDA_BUDGET_MS);
      output = await exportObject(output ?? input, deps, { remainingMs: () => deadline - Date.now() });
      invocations += 1;
    } while (!output.done);
    let csvBytes = 0;
    for (let part = 0; part < output.parts; part += 1) {
      csvBytes += (await readPartDigest(deps, input.accountId, input.backupId, input.objectType, part)).uncompressedSize;
    }
    report = { records: output.records, parts: output.parts, invocations, csvBytes };
  } else {
    const output = await zipBackup(input, deps);
    report = { sizeBytes: output.sizeBytes };
  }
  const wallMs = Date.now() - started;
  clearInterval(sampler);
  report = { ...report, peak };
  // The peak of this process alone (peak-rss.ts: not the parent it was forked from).
  process.send!({ ...report, wallMs, maxRssMb: peakRssMb() });
  process.disconnect();
}
