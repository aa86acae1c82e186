/**
 * `node bench/hubspot-scale.ts --contacts 100000 [--mode backup|restore]`: backing up
 * and restoring contacts through the HubSpot adapter against the stand-in, at a
 * Professional budget (190 requests per 10 s), in one process per measurement (its
 * peak RSS is the adapter's alone: the stand-in runs in a child process, `--serve`).
 * `npm run bench` runs it with the V8 flags of the Lambda step it stands in for (export-object
 * for a backup, apply-restore-batch for a restore: asInLambda, bench/peak-rss.ts).
 *
 * backup: every contact with every property, page by page as export-object reads them
 * (HubSpotSource.readPage, the next page asked for while this one is encoded), turned
 * into CSV (encodeCsvRows) and hashed: the S3 upload is left out (other rows measure
 * it). restore: applyChanges over every contact, 100 a batch as apply-restore-batch
 * hands them, as many plan segments (files of ids) at once as the restore state machine
 * runs for this source (its `applyConcurrency`: 3 at this budget), each record set to a value it does not hold (so every batch reads and
 * writes: two requests per 100 records).
 *
 * Reported beside the rate: requests/s achieved against those allowed, the CPU seconds
 * of the adapter and of the stand-in, and the load average, to tell the machine's load
 * from the code's cost.
 *
 * The ceiling is records per request × requests allowed per second: 100 × 19 = 1,900
 * records/s for a backup, 50 × 19 = 950 for a restore.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { systemClock } from '#core/ports/clock.ts';
import { encodeCsvRows } from '#core/csv/csv-rows.ts';
import { HubSpotApi } from '#adapters/hubspot/hubspot-api.ts';
import { OneProcessBudgetStore } from '#adapters/hubspot/hubspot-inspector.ts';
import { HubSpotSource } from '#adapters/hubspot/hubspot-source.ts';
import { RequestBudget } from '#adapters/hubspot/request-budget.ts';
import { peakRssMb } from './peak-rss.ts';

const { values } = parseArgs({ options: { contacts: { type: 'string' }, mode: { type: 'string' }, serve: { type: 'boolean' } } });
const contacts = Number(values.contacts ?? 100_000);
const PROFESSIONAL = { perWindow: 190, windowMs: 10_000 };

if (values.serve) {
  // The child: a stand-in with `contacts` contacts at Professional limits, until killed.
  const { DEMO_PORTAL_ID, seedContacts, seedDemoPortal } = await import('../local/hubspot/demo-portal.ts');
  const { serveStandInAlone } = await import('../local/hubspot/serve-alone.ts');
  const { HubSpotStandIn } = await import('../local/hubspot/stand-in.ts');
  const dataDir = await mkdtemp(join(tmpdir(), 'hubspot-scale-'));
  const standIn = HubSpotStandIn.open(dataDir);
  const { accessToken } = seedDemoPortal(standIn, { recordsPerType: 1, limits: { ...PROFESSIONAL, daily: 1_000_000_000 } });
  seedContacts(standIn, DEMO_PORTAL_ID, contacts - 1);
  const seeded = process.cpuUsage();
  const { baseUrl, close } = await serveStandInAlone(standIn);
  process.send!({ baseUrl, accessToken, portalId: DEMO_PORTAL_ID });
  process.on('message', async (message) => {
    if (message === 'stats') {
      const cpu = process.cpuUsage(seeded);
      return process.send!({ ...standIn.statsFor(DEMO_PORTAL_ID), cpuSeconds: +((cpu.user + cpu.system) / 1e6).toFixed(1) });
    }
    await close();
    standIn.close();
    await rm(dataDir, { recursive: true, force: true });
    process.exit(0);
  });
} else {
  const child = fork(fileURLToPath(import.meta.url), ['--serve', '--contacts', String(contacts)], { execArgv: ['--openssl-legacy-provider'] });
  const portal = await nextMessage<{ baseUrl: string; accessToken: string; portalId: number }>(child);
  const workDir = await mkdtemp(join(tmpdir(), 'hubspot-scale-plan-'));
  try {
    const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
    const budget = new RequestBudget({ portalId: portal.portalId, timeZone: 'US/Eastern', limits: PROFESSIONAL, store: new OneProcessBudgetStore(), clock: systemClock, sleep });
    const source = new HubSpotSource({ api: new HubSpotApi({ accessToken: portal.accessToken, baseUrl: portal.baseUrl, budget, sleep }), portalId: portal.portalId, baseUrl: portal.baseUrl, limits: PROFESSIONAL });
    const type = (await source.getObjectType('contacts'))!;
    const names = type.properties.map((property) => property.name);
    const mode = values.mode ?? 'backup';
    let records = 0;
    let timed: { started: number; cpu: NodeJS.CpuUsage };
    const startTiming = () => (timed = { started: performance.now(), cpu: process.cpuUsage() });
    if (mode === 'backup') {
      startTiming();
      // As export-object reads a stream: the next page is asked for before this one is encoded.
      const sha = createHash('sha256');
      let reading = source.readPage('contacts', names, { stream: 0 });
      for (;;) {
        const page = await reading;
        if (page.resumeAfter) reading = source.readPage('contacts', names, { stream: 0, resumeAfter: page.resumeAfter });
        sha.update(encodeCsvRows(page.records, names));
        records += page.records.length;
        if (!page.resumeAfter) break;
      }
    } else {
      // The plan's segments, as files of ids (not timed): a plan is streamed from S3, never held.
      // Plan segments applied at once: the restore state machine's MaxConcurrency for this source (3 at this budget).
      const segmentsAtOnce = source.applyConcurrency;
      const segmentFiles = Array.from({ length: segmentsAtOnce }, (_, segment) => join(workDir, `segment-${segment}`));
      const writers = segmentFiles.map((file) => createWriteStream(file));
      let resumeAfter: string | undefined;
      let pageIndex = 0;
      do {
        const page = await source.readPage('contacts', ['hs_object_id'], { stream: 0, resumeAfter });
        writers[pageIndex++ % segmentsAtOnce]!.write(page.records.map((record) => `${record.id}\n`).join(''));
        resumeAfter = page.resumeAfter;
      } while (resumeAfter);
      await Promise.all(writers.map((writer) => new Promise((resolve) => writer.end(resolve))));
      startTiming();
      // The restore state machine applies `segmentsAtOnce` segments at once, each 100 records a round.
      await Promise.all(
        segmentFiles.map(async (file, segment) => {
          let batch: string[] = [];
          const apply = async () => {
            const applied = await source.applyChanges({ objectType: 'contacts', restoreId: 'rs_bench', batchId: `${segment}:${records}`, actor: 'bench', records: batch.map((id) => ({ id, values: { jobtitle: `Restored ${id}` } })) });
            const notUpdated = applied.filter((change) => change.outcome !== 'updated');
            if (notUpdated.length) throw new Error(`${notUpdated.length} records not updated: ${JSON.stringify(notUpdated[0])}`);
            records += applied.length;
            batch = [];
          };
          for await (const id of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
            batch.push(id);
            if (batch.length === 100) await apply();
          }
          if (batch.length) await apply();
        }),
      );
    }
    const seconds = (performance.now() - timed!.started) / 1000;
    const cpu = process.cpuUsage(timed!.cpu);
    child.send('stats');
    const stats = await nextMessage<{ requests: number; byStatus: Record<string, number>; rateLimited: Record<string, number>; cpuSeconds: number }>(child);
    const perRequest = mode === 'backup' ? 100 : 50;
    const allowedPerSecond = PROFESSIONAL.perWindow / (PROFESSIONAL.windowMs / 1000);
    const ceiling = perRequest * allowedPerSecond;
    const failed = Object.entries(stats.byStatus).filter(([status]) => Number(status) >= 400).reduce((sum, [, n]) => sum + n, 0);
    // Requests of the timed part: a restore's id listing came before it.
    const timedRequests = mode === 'backup' ? stats.requests : Math.ceil(records / 100) * 2;
    console.log(
      JSON.stringify({
        mode,
        contacts: records,
        properties: names.length,
        seconds: +seconds.toFixed(1),
        recordsPerSecond: Math.round(records / seconds),
        ceilingRecordsPerSecond: ceiling,
        fractionOfCeiling: +((records / seconds) / ceiling).toFixed(3),
        requests: stats.requests,
        requestsPerSecond: +(timedRequests / seconds).toFixed(1),
        allowedRequestsPerSecond: allowedPerSecond,
        failedRequests: failed,
        rateLimited: stats.rateLimited,
        // CPU seconds of the timed part: this process (the adapter), then the stand-in's whole life (seeding aside).
        adapterCpuSeconds: +((cpu.user + cpu.system) / 1e6).toFixed(1),
        standInCpuSeconds: stats.cpuSeconds,
        loadAverage: +loadavg()[0]!.toFixed(1),
        peakRssMb: peakRssMb(),
        // What is still held once garbage is collected: flat when nothing grows with the records.
        heapAfterGcMb: heapAfterGcMb(),
      }),
    );
  } finally {
    child.send('stop');
    await rm(workDir, { recursive: true, force: true });
  }
}

function nextMessage<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    child.once('message', (message) => resolve(message as T));
    child.once('exit', (code) => reject(new Error(`the stand-in exited with ${code}`)));
  });
}

function heapAfterGcMb(): number {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  return Math.round(process.memoryUsage().heapUsed / 1024 / 1024);
}
