/**
 * Benchmark tasks, each run by bench/run.ts in a child process of its own so that its
 * peak RSS is its own: `node bench/tasks.ts <task> '<json options>'` prints one JSON line.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { S3Client, GetObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { ZipArchive } from 'archiver';
import { stringify } from 'csv-stringify';
import { CSV_OPTIONS, recordRows } from '../test/support/csv-oracle.ts';
import { encodeCsvRows } from '#core/csv/csv-rows.ts';
import { S3ZipAssemblyTarget } from '#adapters/s3-zip-assembly-target.ts';
import { assembleZip } from '#core/zip/assemble-zip.ts';
import { planZipAssembly, type SegmentedEntry, type Span } from '#core/zip/assembly-plan.ts';
import { DeflatePool, deflateFileInSegments } from './deflate-pool.ts';
import { diffBackupZips } from '../cli/diff-backups.ts';
import { PROPERTY_NAMES, recordPages, recordPool, writeComparedCsvs, type FixtureCsv } from './fixtures.ts';
import { peakRssMb } from './peak-rss.ts';

const FLUSH_BYTES = 256 * 1024;
const [task, json] = process.argv.slice(2);
const options = JSON.parse(json ?? '{}');

/** A sink that only counts, so the encoders are measured and nothing else. */
function countingSink(): Writable & { bytes: number } {
  const sink = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      sink.bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
      callback();
    },
  }) as Writable & { bytes: number };
  sink.bytes = 0;
  return sink;
}

function s3Client(endpoint: string): S3Client {
  return new S3Client({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** A page of records → one string → ~256 KB chunks: the export's shape, with either encoder. */
async function csvBatched(rows: number, encode: typeof recordRows): Promise<Record<string, number>> {
  const pool = recordPool(5000);
  const sink = countingSink();
  const started = performance.now();
  let chunks: string[] = [];
  let buffered = 0;
  for (const page of recordPages(pool, rows)) {
    const text = encode(page, PROPERTY_NAMES);
    chunks.push(text);
    buffered += text.length;
    if (buffered >= FLUSH_BYTES) {
      if (!sink.write(Buffer.from(chunks.join(''), 'utf8'))) await once(sink, 'drain');
      chunks = [];
      buffered = 0;
    }
  }
  if (buffered > 0) sink.write(Buffer.from(chunks.join(''), 'utf8'));
  sink.end();
  await once(sink, 'finish');
  return { ms: performance.now() - started, bytes: sink.bytes };
}

/** The textbook path: one row at a time into a csv-stringify stream piped to the sink. */
async function csvPlain(rows: number): Promise<Record<string, number>> {
  const pool = recordPool(5000);
  const sink = countingSink();
  const started = performance.now();
  const stringifier = stringify(CSV_OPTIONS);
  const done = pipeline(stringifier, sink);
  for (const page of recordPages(pool, rows)) {
    for (const record of page) {
      const row = [record.id, ...PROPERTY_NAMES.map((name) => record.properties[name] ?? '')];
      if (!stringifier.write(row)) await once(stringifier, 'drain');
    }
  }
  stringifier.end();
  await done;
  return { ms: performance.now() - started, bytes: sink.bytes };
}

/** Our zip stage: every file cut into segments, deflated on one worker per core, assembled by plan. */
async function zipOurs(files: string[], out: string, segmentBytes: number, workers: number, level: number): Promise<Record<string, number>> {
  const started = performance.now();
  const pool = new DeflatePool(workers);
  const segmentDir = `${out}.segments`;
  await mkdir(segmentDir, { recursive: true });
  const modified = new Date();
  const entries: SegmentedEntry[] = await Promise.all(
    files.map(async (file) => {
      const digests = await deflateFileInSegments(file, { pool, segmentBytes, level, targetFor: (index) => join(segmentDir, `${basename(file)}.${index}`) });
      // The pool ended the last segment of each file with Z_FINISH.
      return { name: basename(file), modified, segments: digests.map((digest, index) => ({ ...digest, key: digest.path, final: index === digests.length - 1 })) };
    }),
  );
  await pool.close();
  const deflatedMs = performance.now() - started;
  const plan = planZipAssembly(entries);
  await writeSpans(plan.spans, out);
  return { ms: performance.now() - started, deflateMs: deflatedMs, bytes: plan.size, segments: entries.reduce((sum, entry) => sum + entry.segments.length, 0) };
}

/** What S3 does with the plan's parts, done on the local disk: concatenate the runs. */
async function writeSpans(spans: Span[], out: string): Promise<void> {
  const target = createWriteStream(out);
  for (const span of spans) {
    if (span.kind === 'bytes') {
      if (!target.write(span.bytes)) await once(target, 'drain');
    } else {
      for await (const chunk of createReadStream(span.key, { start: span.start, end: span.start + span.length - 1, highWaterMark: 1024 * 1024 })) {
        if (!target.write(chunk)) await once(target, 'drain');
      }
    }
  }
  target.end();
  await once(target, 'finish');
}

/** The issue-4 zip stage's engine: archiver streaming every file at level 6. */
async function zipArchiver(files: string[], out: string): Promise<Record<string, number>> {
  const started = performance.now();
  const archive = new ZipArchive({ zlib: { level: 6 } });
  const written = pipeline(archive, createWriteStream(out));
  for (const file of files) archive.append(createReadStream(file), { name: basename(file) });
  await archive.finalize();
  await written;
  return { ms: performance.now() - started, bytes: (await stat(out)).size };
}

/** Assembly of a zip from stored segments with UploadPartCopy, against the S3 stand-in. */
async function assemble(endpoint: string, bucket: string, entries: SegmentedEntry[], key: string): Promise<Record<string, number>> {
  const client = s3Client(endpoint);
  const started = performance.now();
  const plan = planZipAssembly(
    [...entries.map((entry) => ({ ...entry, modified: new Date(entry.modified) })), { name: 'manifest.json', modified: new Date(), content: Buffer.from('{}') }],
  );
  const result = await assembleZip(plan, key, new S3ZipAssemblyTarget(client, bucket));
  const ms = performance.now() - started;
  client.destroy();
  return { ms, bytes: result.size, parts: result.parts, readBytes: result.readBytes, copiedBytes: result.copiedBytes };
}

/** Baseline for assembly: the least a streaming zip Lambda does, every byte down and up again. */
async function streamCopy(endpoint: string, bucket: string, keys: string[], key: string): Promise<Record<string, number>> {
  const client = s3Client(endpoint);
  const started = performance.now();
  async function* bytes() {
    for (const source of keys) {
      const { Body } = await client.send(new GetObjectCommand({ Bucket: bucket, Key: source }));
      for await (const chunk of Body as AsyncIterable<Buffer>) yield chunk;
    }
  }
  const upload = new Upload({ client, params: { Bucket: bucket, Key: key, Body: Readable.from(bytes()) }, partSize: 8 * 1024 * 1024, queueSize: 4 });
  await upload.done();
  const ms = performance.now() - started;
  client.destroy();
  return { ms };
}

/** Two backup zips of one object type that differ in known ways (fixtures.ts), each with its manifest. */
async function compareFixture(records: number, dir: string): Promise<Record<string, number>> {
  await mkdir(dir, { recursive: true });
  const csvs = await writeComparedCsvs(join(dir, 'from.csv'), join(dir, 'to.csv'), records, 7);
  const zip = async (name: 'from' | 'to', csv: FixtureCsv) => {
    const archive = new ZipArchive({ zlib: { level: 1 } });
    const written = pipeline(archive, createWriteStream(join(dir, `${name}.zip`)));
    archive.append(createReadStream(csv.path), { name: 'contacts.csv' });
    const manifest = { accountId: 'bench', backupId: `bk_${name}`, completedAt: new Date().toISOString(), files: [{ name: 'contacts.csv', objectType: 'contacts', records: csv.records, bytes: csv.bytes, sha256: csv.sha256 }] };
    archive.append(JSON.stringify(manifest), { name: 'manifest.json' });
    await archive.finalize();
    await written;
    await rm(csv.path);
  };
  await zip('from', csvs.from);
  await zip('to', csvs.to);
  return { ...csvs.expected, fromRecords: csvs.from.records, toRecords: csvs.to.records, csvBytes: csvs.from.bytes };
}

/** The comparison core on two zips (crm-backup diff's path: sorted runs on local disk, then the merge). */
async function compareZips(from: string, to: string, workDir: string): Promise<Record<string, number>> {
  const started = performance.now();
  const report = await diffBackupZips(from, to, { workDir });
  const ms = performance.now() - started;
  const [contacts] = report.objectTypes;
  return { ms, added: contacts!.added, removed: contacts!.removed, changed: contacts!.changed, unchanged: contacts!.unchanged };
}

let result: Record<string, number>;
// CPU time of the whole process (all threads): the fair measure on a shared, loaded machine.
const cpuBefore = process.cpuUsage();
switch (task) {
  case 'csv-batched':
    result = await csvBatched(options.rows, recordRows);
    break;
  case 'csv-ours':
    result = await csvBatched(options.rows, encodeCsvRows);
    break;
  case 'csv-plain':
    result = await csvPlain(options.rows);
    break;
  case 'zip-ours':
    result = await zipOurs(options.files, options.out, options.segmentBytes, options.workers, options.level);
    break;
  case 'zip-archiver':
    result = await zipArchiver(options.files, options.out);
    break;
  case 'assemble':
    result = await assemble(options.endpoint, options.bucket, options.entries, options.key);
    break;
  case 'stream-copy':
    result = await streamCopy(options.endpoint, options.bucket, options.keys, options.key);
    break;
  case 'compare-fixture':
    result = await compareFixture(options.records, options.dir);
    break;
  case 'compare':
    result = await compareZips(options.from, options.to, options.workDir);
    break;
  default:
    throw new Error(`Unknown task ${task}`);
}
// Peak RSS includes worker threads (same process).
const cpu = process.cpuUsage(cpuBefore);
console.log(JSON.stringify({ ...result, cpuMs: (cpu.user + cpu.system) / 1000, maxRssMb: peakRssMb() }));
