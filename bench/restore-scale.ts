/**
 * Scale run for restores (not part of `npm test`):
 *
 *   npx node --openssl-legacy-provider bench/restore-scale.ts --records 100000 [--data-dir /tmp/crm-restore-bench]
 *
 * The whole local runtime, over HTTP, exactly as `npm start` runs it: grows acme/deals
 * to `--records` records, backs the account up, then changes `dealstage` on every
 * second deal and blanks `amount` on every tenth, plans a restore of both properties,
 * runs it through the restore state machine (same ASL, same handlers, default segment
 * and batch sizes) and reports wall times, Lambda invocations, the largest state
 * payload and the process's peak RSS (stand-ins included, so an upper bound).
 *
 * `--plan-budget-ms 0` sends the plan to the restore-plan state machine at once (as a
 * big object type would be); `--plan-only` stops after planning (for 1,000,000 records);
 * `--isolated-only` skips the restore through the state machine and measures only the
 * isolated plan and apply steps (their time and memory at 1,000,000 records); `--undo`
 * undoes the restore (plan, then run, 1 % of its deals edited since) and stops.
 *
 * Then, to measure the steps' own memory, it edits the deals again and runs the plan
 * and every apply batch once more, each step in a child process (like a Lambda
 * container, `--heap-mb` caps its V8 heap) against the same stand-ins, and reports
 * each child's peak RSS.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { AppConfig } from '#runtime/config.ts';
import { buildDeps } from '#runtime/deps.ts';
import { planRestore } from '#core/restores/plan-restore.ts';
import { applyRestoreBatch } from '#core/restores/apply-restore-batch.ts';
import { UPDATE_CONCURRENCY } from '#core/sources/built-in-source.ts';
import { LOCK_LEASE_MS, planSegmentKey } from '#core/restores/restore-policy.ts';
import { sumProgress } from '#core/restores/segment-progress.ts';
import { ZERO_COUNTS, type PlannedRecord } from '#core/restore-model.ts';
import { rm } from 'node:fs/promises';
import { text } from 'node:stream/consumers';
import { parseArgs } from 'node:util';
import { stampedEvent } from '#core/change-events.ts';
import type { ChangeEvent, ChangeStamp, CrmRecord } from '#core/model.ts';
import type { AppDeps } from '#runtime/deps.ts';
import { DEMO_USERS } from '../local/identity.ts';
import { startLocalRuntime } from '../local/runtime.ts';
import { seedRecords } from '../local/seed.ts';
import { addCpu, asInLambda, cpuSince, peakRssMb, type Cpu } from './peak-rss.ts';
import { addCpuByComponent, compareCpu, profilePhase, type CpuByComponent } from './cpu-profile.ts';

/** The phases `--profile` compares: apply, and the baseline of the same writes with their events stored and published. */
type Phase = 'apply' | 'published';
/** From a step to this process: profile the stand-ins while it profiles itself. */
interface PhaseMessage {
  phase: Phase;
  profiling: 'start' | 'stop';
}

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '100000' },
    'data-dir': { type: 'string', default: '/tmp/crm-restore-bench' },
    'heap-mb': { type: 'string', default: '256' },
    /** Reuse a DATA_DIR from an earlier run: only edit again and run the isolated steps. */
    'steps-only': { type: 'boolean', default: false },
    /** The API's planning budget (default 20 s); 0 sends every plan to the restore-plan state machine. */
    'plan-budget-ms': { type: 'string' },
    /** Measure planning only: no restore run, no isolated apply step (1,000,000 records in minutes). */
    'plan-only': { type: 'boolean', default: false },
    /** Skip the restore through the state machine: only the isolated plan and apply steps, with their memory. */
    'isolated-only': { type: 'boolean', default: false },
    /** After the restore, undo it (POST /v1/restores/{id}/undo-plan, then POST /v1/restores) and stop; `--bench` always undoes it. */
    undo: { type: 'boolean', default: false },
    /** For bench/run.ts: time the backup's stages and the raw write baseline, end with one JSON line. */
    bench: { type: 'boolean', default: false },
    /** With `--bench`: run the baselines after the first N segments only (1,000,000 deals: 10 of 100), and compare apply on those. */
    'compare-segments': { type: 'string' },
    /** Change `dealstage` on every deal, not every second one: a plan with no unchanged line for apply to read. */
    'edit-every-deal': { type: 'boolean', default: false },
    /** With `--bench`: how many times to run the isolated apply and the raw writes, interleaved. */
    repeats: { type: 'string', default: '1' },
    /** With `--bench`: profile the step and the stand-ins during apply and the published baseline, and print where their CPU goes. */
    profile: { type: 'boolean', default: false },
    worker: { type: 'string' },
    config: { type: 'string' },
    input: { type: 'string' },
  },
});

if (values.worker) {
  // One invocation at a time, like a Lambda container: not the multi-concurrency mode the
  // local runtime of the parent process set up (Powertools would look for its invocation store).
  delete process.env.AWS_LAMBDA_MAX_CONCURRENCY;
  await runWorker(values.worker, JSON.parse(values.config!) as AppConfig, JSON.parse(values.input!));
  process.exit(0);
}
const target = Number(values.records);
const dataDir = values['data-dir']!;
if (!values['steps-only']) await rm(dataDir, { recursive: true, force: true });

const invocations = { apply: 0, maxApplyMs: 0, planSteps: 0 };
/** The stand-ins' CPU by component during the phases a step profiles (`--profile`). */
const storeProfiles = {
  totals: { apply: {} as CpuByComponent, published: {} as CpuByComponent },
  running: undefined as Promise<{ stop(): Promise<CpuByComponent> }> | undefined,
  stopping: [] as Array<Promise<void>>,
  follow(message: PhaseMessage) {
    if (message.profiling === 'start') {
      this.running = profilePhase();
      return;
    }
    const running = this.running;
    this.running = undefined;
    if (running) this.stopping.push(running.then(async (profiler) => addCpuByComponent(this.totals[message.phase], await profiler.stop())));
  },
  /** Every phase's totals, once the last profile has stopped; then starts again from zero. */
  async take() {
    await Promise.all(this.stopping);
    const totals = this.totals;
    this.totals = { apply: {}, published: {} };
    this.stopping = [];
    return totals;
  },
};
const applyStarts = new Map<string, number>();
/** Times each apply-batch invocation: it reads its segment progress first and saves it last. */
function instrument(deps: AppDeps): AppDeps {
  const restores = deps.restores;
  const wrapped = Object.create(restores) as typeof restores;
  wrapped.getSegmentProgress = async (...args) => {
    invocations.apply += 1;
    applyStarts.set(`${args[1]}#${args[2]}`, Date.now());
    return restores.getSegmentProgress(...args);
  };
  // Each build-restore-plan invocation saves the plan once (a checkpoint, READY or FAILED).
  wrapped.savePlan = async (...args) => {
    invocations.planSteps += 1;
    return restores.savePlan(...args);
  };
  wrapped.saveSegmentProgress = async (...args) => {
    const started = applyStarts.get(`${args[1]}#${args[2]}`);
    if (started) invocations.maxApplyMs = Math.max(invocations.maxApplyMs, Date.now() - started);
    return restores.saveSegmentProgress(...args);
  };
  const planBudgetMs = values['plan-budget-ms'] === undefined ? undefined : Number(values['plan-budget-ms']);
  const config = planBudgetMs === undefined ? deps.config : { ...deps.config, restoreTuning: { ...deps.config.restoreTuning, planBudgetMs } };
  return { ...deps, restores: wrapped, config };
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const time = async <T>(label: string, work: () => Promise<T>): Promise<T> => {
  const started = Date.now();
  const result = await work();
  console.log(`${label.padEnd(44)} ${seconds(Date.now() - started)}`);
  return result;
};

/** Every backup Lambda invocation, for the stage breakdown (`--bench`). */
const stageTimes: Array<{ name: string; objectType?: string; startedAt: number; endedAt: number }> = [];
const benchReport: { backup?: Record<string, unknown>; undo?: Record<string, number>; apply: Array<Record<string, number>>; write: Array<Record<string, unknown>> } = { apply: [], write: [] };
const runtime = await startLocalRuntime({
  dataDir, port: 0, recordsPerType: 10, wrapDeps: instrument,
  onInvoke: (name, payload, startedAt, endedAt) => {
    if (['list-backup-objects', 'export-object', 'zip-backup', 'finalize-backup'].includes(name)) {
      stageTimes.push({ name, objectType: (payload as { objectType?: string } | null)?.objectType, startedAt, endedAt });
    }
  },
});
const admin = DEMO_USERS.find((user) => user.email === 'sso-admin@acme.example')!;
const token = await runtime.issuer.signIn(admin);
const api = async (method: string, path: string, body?: unknown) => {
  const response = await fetch(`${runtime.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
};

try {
  if (values['steps-only']) {
    const backup = (await runtime.deps.backups.listBackups('acme', { limit: 10 })).items.find((candidate) => candidate.status === 'SUCCEEDED')!;
    for (let repeat = 0; repeat < (values.bench ? Number(values.repeats) : 1); repeat += 1) await isolatedSteps(backup.id, `steps${Date.now()}`);
    if (values.bench) console.log(JSON.stringify({ records: target, ...benchReport }));
    process.exit(0);
  }
  const deals = (await runtime.deps.records.getObjectType('acme', 'deals'))!;
  await time(`seed ${target.toLocaleString('en-US')} deals`, () => seedRecords(runtime.deps.records, 'acme', 'deals', target - deals.records));

  const backupStarted = Date.now();
  const backup = await time('backup (POST /v1/backups → SUCCEEDED)', async () => {
    const requested = await api('POST', '/v1/backups');
    await runtime.idle();
    return (await api('GET', `/v1/backups/${requested.body.id}`)).body;
  });
  if (backup.status !== 'SUCCEEDED') throw new Error(`backup ${backup.status}: ${backup.error}`);
  benchReport.backup = {
    ...backupStages(Date.now() - backupStarted),
    records: (backup.objects ?? []).reduce((sum: number, object: { records?: number }) => sum + (object.records ?? 0), 0),
    sizeBytes: backup.sizeBytes,
  };

  const changed = await editAll('');

  const plan = await time('plan (POST restore-plans → READY)', async () => {
    const started = Date.now();
    const posted = await api('POST', `/v1/backups/${backup.id}/restore-plans`, { objectType: 'deals', properties: ['dealstage', 'amount'] });
    console.log(`  POST answered ${posted.status} ${posted.body.status} after ${seconds(Date.now() - started)}${posted.body.progress ? ` (${posted.body.progress.done}/${posted.body.progress.total})` : ''}`);
    if (posted.status !== 202) return posted.body;
    await runtime.idle(); // the restore-plan state machine
    return (await api('GET', `/v1/restore-plans/${posted.body.id}`)).body;
  });
  if (plan.status !== 'READY') throw new Error(`plan ${plan.status}: ${plan.error}`);
  console.log(`  plan: ${JSON.stringify({ recordsInBackup: plan.recordsInBackup, recordsToChange: plan.recordsToChange, recordsUnchanged: plan.recordsUnchanged, recordsMissing: plan.recordsMissing, perProperty: plan.perProperty })}`);
  const segments = (await runtime.deps.restores.getPlan('acme', plan.id))!.segments.length;
  if (values['plan-only'] || values['isolated-only']) {
    console.log(`  plan segments: ${segments}; build-restore-plan invocations: ${invocations.planSteps}`);
    console.log(`  peak RSS of the whole process (stand-ins included): ${peakRssMb()} MB`);
    await isolatedSteps(backup.id, 'again');
    if (values.bench) console.log(JSON.stringify({ records: target, ...benchReport }));
    process.exit(0);
  }

  const restore = await time('restore (POST /v1/restores → SUCCEEDED)', async () => {
    const started = await api('POST', '/v1/restores', { planId: plan.id, acknowledge: { changesData: true, cannotBeUndone: true } });
    if (started.status !== 202) throw new Error(JSON.stringify(started.body));
    const timer = setInterval(async () => {
      const now = (await api('GET', `/v1/restores/${started.body.id}`)).body;
      console.log(`  … ${now.status} ${now.progress.done.toLocaleString('en-US')}/${now.progress.total.toLocaleString('en-US')}`);
    }, 10_000);
    await runtime.idle();
    clearInterval(timer);
    return (await api('GET', `/v1/restores/${started.body.id}`)).body;
  });
  const input = JSON.stringify({ accountId: 'acme', restoreId: restore.id, segments: Array.from({ length: segments }, (_, segment) => ({ segment })) });
  console.log(`  restore: ${JSON.stringify({ status: restore.status, counts: restore.counts, progress: restore.progress })}`);
  console.log(`  records edited after the backup: ${changed.toLocaleString('en-US')}`);
  console.log(`  plan segments (Map items): ${segments}; execution input: ${input.length} bytes`);
  console.log(`  apply-batch invocations: ${invocations.apply}; longest: ${seconds(invocations.maxApplyMs)} (Lambda timeout 300 s)`);
  console.log(`  peak RSS of the whole process (stand-ins included): ${peakRssMb()} MB`);

  if (values.undo || values.bench) {
    await undoRestore(restore.id);
    if (!values.bench) process.exit(0);
  }
  await isolatedSteps(backup.id, 'again');
  for (let repeat = 1; values.bench && repeat < Number(values.repeats); repeat += 1) await isolatedSteps(backup.id, `again${repeat}`);
  if (values.bench) console.log(JSON.stringify({ records: target, ...benchReport }));
} finally {
  await runtime.stop();
}

/**
 * Undoes the restore just run, as a user would: plans it (201, or 202 and the
 * restore-plan state machine), then runs it through the restore state machine. First
 * 1 % of the restored deals are edited again, so the undo has conflicts to leave alone.
 */
async function undoRestore(restoreId: string): Promise<void> {
  const restored = (await runtime.deps.records.listRecords('acme', 'deals', { limit: 1000 })).items;
  for (const record of restored.slice(0, Math.ceil(target / 100 / 2))) {
    await runtime.deps.records.updateRecord('acme', 'deals', record.id, { set: { dealstage: `edited-after-restore-${record.id}` } });
  }
  const planStarted = Date.now();
  const plan = await time('undo plan (POST undo-plan → READY)', async () => {
    const posted = await api('POST', `/v1/restores/${restoreId}/undo-plan`);
    console.log(`  POST answered ${posted.status} ${posted.body.status} after ${seconds(Date.now() - planStarted)}`);
    if (posted.status !== 202) return posted.body;
    await runtime.idle();
    return (await api('GET', `/v1/restore-plans/${posted.body.id}`)).body;
  });
  const planMs = Date.now() - planStarted;
  if (plan.status !== 'READY') throw new Error(`undo plan ${plan.status}: ${plan.error ?? JSON.stringify(plan)}`);
  console.log(`  undo plan: ${JSON.stringify({ recordsInBackup: plan.recordsInBackup, recordsToChange: plan.recordsToChange, recordsConflicting: plan.recordsConflicting, recordsMissing: plan.recordsMissing })}`);
  const runStarted = Date.now();
  const undo = await time('undo (POST /v1/restores → SUCCEEDED)', async () => {
    const started = await api('POST', '/v1/restores', { planId: plan.id, acknowledge: { changesData: true, cannotBeUndone: true } });
    if (started.status !== 202) throw new Error(JSON.stringify(started.body));
    await runtime.idle();
    return (await api('GET', `/v1/restores/${started.body.id}`)).body;
  });
  const runMs = Date.now() - runStarted;
  console.log(`  undo: ${JSON.stringify({ status: undo.status, counts: undo.counts })}`);
  console.log(`  peak RSS of the whole process (stand-ins included): ${peakRssMb()} MB`);
  if (undo.status !== 'SUCCEEDED') throw new Error(`undo ${undo.status}: ${undo.error}`);
  benchReport.undo = { planMs, runMs, records: plan.recordsInBackup, updated: undo.counts.updated, conflicting: undo.counts.conflicting, peakRssMb: peakRssMb() };
  console.log(JSON.stringify({ undo: benchReport.undo }));
}

async function isolatedSteps(backupId: string, tag: string): Promise<void> {
  await editAll(tag);
  const planned = await step('plan', { backupId });
  console.log(`isolated plan step                           ${seconds(planned.wallMs)}, peak RSS ${planned.maxRssMb} MB (heap ${planned.heapUsedMb} MB, external ${planned.externalMb} MB), ${planned.recordsToChange} to change`);
  if (values['plan-only']) return;
  const compareSegments = values['compare-segments'] === undefined ? undefined : Number(values['compare-segments']);
  const applied = await step('apply', { planId: planned.planId, interleaveRawWrites: values.bench, compareSegments, profile: values.profile });
  console.log(`isolated apply (all segments, one by one)    ${seconds(applied.applyMs)}, peak RSS ${applied.maxRssMb} MB (heap ${applied.heapUsedMb} MB, external ${applied.externalMb} MB), ${applied.invocations} invocations, counts ${JSON.stringify(applied.counts)}`);
  const handled = applied.counts.updated + applied.counts.unchanged + applied.counts.missing + applied.counts.failed;
  benchReport.apply.push({ wallMs: applied.applyMs, updated: applied.counts.updated, handled, rows: planned.recordsToChange, maxRssMb: applied.maxRssMb });
  if (values.bench) {
    if (applied.comparedApplyMs !== applied.applyMs) console.log(`  compared on the first ${compareSegments} segments: apply ${seconds(applied.comparedApplyMs)}, ${applied.rawWritten} records written`);
    console.log(`raw updateRecord writes, after each segment  ${seconds(applied.rawMs)}, ${applied.rawWritten} records`);
    console.log(`  the same, each with its change event         ${seconds(applied.rawWithEventsMs)}`);
    console.log(`  the same, stamped and conditional (a PATCH)  ${seconds(applied.stampedWithEventsMs)}`);
    console.log(`  and each event published to the bus         ${seconds(applied.publishedMs)} (a restore's change)`);
    const cpu = (one: Cpu) => `step ${seconds(one.step)} + store ${seconds(one.store)}`;
    console.log(`  CPU: apply ${cpu(applied.applyCpu)}; published baseline ${cpu(applied.publishedCpu)}`);
    if (values.profile) {
      const labels: [string, string] = ['apply', 'baseline'];
      console.log('  the step, profiled (apply against the published baseline):');
      for (const line of compareCpu(labels, applied.profiles.apply, applied.profiles.published, applied.rawWritten)) console.log(`    ${line}`);
      const stand = await storeProfiles.take();
      console.log('  the stand-ins, profiled (dynalite, S3 and the event bus, in this process):');
      for (const line of compareCpu(labels, stand.apply, stand.published, applied.rawWritten)) console.log(`    ${line}`);
    }
    benchReport.write.push({ comparedApplyMs: applied.comparedApplyMs, wallMs: applied.rawMs, withEventsMs: applied.rawWithEventsMs, stampedMs: applied.stampedWithEventsMs, publishedMs: applied.publishedMs, written: applied.rawWritten, applyCpu: applied.applyCpu, publishedCpu: applied.publishedCpu });
  }
}

/** Stage times of the backup just run, from its Lambda invocations (stages run one after the other). */
function backupStages(totalMs: number): Record<string, unknown> {
  const span = (name: string, objectType?: string) => {
    const calls = stageTimes.filter((call) => call.name === name && (objectType === undefined || call.objectType === objectType));
    return calls.length ? Math.max(...calls.map((call) => call.endedAt)) - Math.min(...calls.map((call) => call.startedAt)) : 0;
  };
  const types = [...new Set(stageTimes.filter((call) => call.name === 'export-object').map((call) => call.objectType ?? '?'))];
  return {
    totalMs,
    listMs: span('list-backup-objects'),
    exportMs: span('export-object'),
    exportPerTypeMs: Object.fromEntries(types.map((type) => [type, span('export-object', type)])),
    zipMs: span('zip-backup'),
    finalizeMs: span('finalize-backup'),
  };
}

/** Runs one restore step in a child process against this process's stand-ins. */
function step(worker: string, input: Record<string, unknown>): Promise<any> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ['--worker', worker, '--config', JSON.stringify(runtime.config), '--input', JSON.stringify(input)], {
      execArgv: ['--openssl-legacy-provider', ...asInLambda(worker === 'plan' ? 'build-restore-plan' : 'apply-restore-batch', { heapMb: Number(values['heap-mb']) })],
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
      // The runtime in this process set AWS_LAMBDA_MAX_CONCURRENCY for its own InvokeStore;
      // a worker has none, and Powertools would look for one.
      env: Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'AWS_LAMBDA_MAX_CONCURRENCY')),
    });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('message', (message: PhaseMessage) => storeProfiles.follow(message));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(output.trim().split('\n').pop()!)) : reject(new Error(`${worker} exited ${code}`))));
  });
}

async function runWorker(worker: string, config: AppConfig, input: Record<string, any>): Promise<void> {
  const deps = buildDeps(config);
  // Where the memory is: V8 heap versus Buffers and other native memory.
  const peak = { heapUsedMb: 0, externalMb: 0 };
  const started = Date.now();
  const sampler = setInterval(() => {
    const usage = process.memoryUsage();
    peak.heapUsedMb = Math.max(peak.heapUsedMb, Math.round(usage.heapUsed / 1048576));
    peak.externalMb = Math.max(peak.externalMb, Math.round(usage.external / 1048576));
  }, 100);
  sampler.unref();
  // RSS over time (stderr): flat means bounded memory, a climb means something grows with the records.
  let lastTraceAt = 0;
  let lastTraceRss = 0;
  const trace = setInterval(() => {
    const usage = process.memoryUsage();
    const rss = Math.round(usage.rss / 1048576);
    const elapsed = Date.now() - started;
    // Every 5 s, and whenever RSS jumps, so a short spike shows with its moment.
    if (elapsed - lastTraceAt < 5_000 && Math.abs(rss - lastTraceRss) < 50) return;
    lastTraceAt = elapsed;
    lastTraceRss = rss;
    console.error(`  ${worker} at ${(elapsed / 1000).toFixed(1)} s: RSS ${rss} MB, heap total ${Math.round(usage.heapTotal / 1048576)} MB, array buffers ${Math.round(usage.arrayBuffers / 1048576)} MB`);
  }, 50);
  trace.unref();
  const caller = { userId: 'bench', email: 'bench@crm-backup.local', accountId: 'acme', superAdmin: true, sso: true };
  if (worker === 'plan') {
    // One invocation for the whole plan, as build-restore-plan runs it within its 15 minutes.
    const { plan } = await planRestore(caller, input.backupId, { objectType: 'deals', properties: ['dealstage', 'amount'] }, deps, { keepGoing: () => true });
    report({ planId: plan.id, recordsToChange: plan.recordsToChange });
  } else {
    const plan = (await deps.restores.getPlan('acme', input.planId))!;
    const restoreId = deps.ids.next('rs');
    const now = deps.clock.now();
    const lock = await deps.lock.acquire('acme', restoreId, { now: now.getTime(), durationMs: LOCK_LEASE_MS });
    if (!lock.acquired) throw new Error('lock held');
    await deps.restores.createRestore({
      id: restoreId, accountId: 'acme', planId: plan.id, backupId: plan.backupId, objectType: plan.objectType, properties: plan.properties,
      status: 'RUNNING', requestedBy: caller.email, startedAt: now.toISOString(), progress: { done: 0, total: plan.recordsInBackup },
      counts: { ...ZERO_COUNTS }, segmentCount: plan.segments.length,
    });
    let invocations = 0;
    const profiles = { apply: {} as CpuByComponent, published: {} as CpuByComponent };
    /** With `profile`: the step's CPU during `work`, by component, and the stand-ins' (the parent profiles itself meanwhile). */
    const profiled = async (phase: Phase, work: () => Promise<unknown>): Promise<void> => {
      if (!input.profile) return void (await work());
      process.send!({ phase, profiling: 'start' } satisfies PhaseMessage);
      const profiler = await profilePhase();
      await work();
      addCpuByComponent(profiles[phase], await profiler.stop());
      process.send!({ phase, profiling: 'stop' } satisfies PhaseMessage);
    };
    const timing = { applyMs: 0, comparedApplyMs: 0, rawMs: 0, rawWithEventsMs: 0, stampedWithEventsMs: 0, publishedMs: 0, rawWritten: 0, applyCpu: { step: 0, store: 0 }, publishedCpu: { step: 0, store: 0 } };
    for (let segment = 0; segment < plan.segments.length; segment += 1) {
      const compared = Boolean(input.interleaveRawWrites) && segment < (input.compareSegments ?? Infinity);
      const applySegment = async () => {
        for (let done = false; !done; invocations += 1) {
          const deadline = Date.now() + 300_000;
          done = (await applyRestoreBatch({ accountId: 'acme', restoreId, segment }, deps, { remainingMs: () => deadline - Date.now() })).done;
        }
      };
      const applyStarted = Date.now();
      const applyCpu = cpuSince();
      await (compared ? profiled('apply', applySegment) : applySegment());
      timing.applyMs += Date.now() - applyStarted;
      if (!compared) continue;
      timing.comparedApplyMs += Date.now() - applyStarted;
      addCpu(timing.applyCpu, applyCpu());
      await rawWrites(deps, { planId: plan.id, restoreId }, segment, timing, profiled);
    }
    await deps.lock.release('acme', restoreId);
    report({ invocations, ...timing, profiles, counts: sumProgress(await deps.restores.listSegmentProgress('acme', restoreId)) });
  }

  function report(extra: Record<string, unknown>) {
    console.log(JSON.stringify({ ...extra, ...peak, wallMs: Date.now() - started, maxRssMb: peakRssMb() }));
  }
}

/**
 * The baselines, measured right after each segment's apply so that all see the same
 * neighbours on a noisy machine, with apply's concurrency, on as many of the segment's
 * records as apply wrote: the store's raw write rate (one property changed per record),
 * then the same writes each with its change event stored (25 per BatchWriteItem, as
 * apply and every record change in this store do).
 */
async function rawWrites(
  deps: AppDeps,
  restore: { planId: string; restoreId: string },
  segment: number,
  timing: { rawMs: number; rawWithEventsMs: number; stampedWithEventsMs: number; publishedMs: number; rawWritten: number; publishedCpu: Cpu },
  profiled: (phase: Phase, work: () => Promise<unknown>) => Promise<void>,
): Promise<void> {
  const written = (await deps.restores.getSegmentProgress('acme', restore.restoreId, segment))!.counts.updated;
  const lines = (await text(await deps.blobs.read(planSegmentKey('acme', restore.planId, segment)))).split('\n').filter(Boolean);
  const ids = lines.slice(0, written).map((line) => (JSON.parse(line) as PlannedRecord).id);
  /**
   * `events`: each write's change event, 25 per BatchWriteItem. `stamped`: and the write
   * as every record change makes it since changes carry their event (the data plane's
   * PATCH, a restore's): on condition that the record still holds what was read, with
   * the event's stamp kept on the record. `published`: and each batch of events
   * published to the event bus once stored, as a restore's are (workflows re-enrol on
   * them): everything a restore does for one changed record.
   */
  const writeAll = async (tag: string, mode: 'raw' | 'events' | 'stamped' | 'published', previousTag?: string) => {
    const started = Date.now();
    const events: ChangeEvent[] = [];
    const publishing: Array<Promise<void>> = [];
    // Each batch of 25 stored in line, then published while the writes go on (as a restore's are).
    const store = async (batch: ChangeEvent[]) => {
      await deps.records.appendChangeEvents(batch);
      if (mode === 'published') publishing.push(deps.events.publish(batch));
    };
    let next = 0;
    const writer = async () => {
      while (next < ids.length) {
        const id = ids[next++]!;
        const to = `${tag}-${id}`;
        if (mode === 'stamped' || mode === 'published') {
          const before = { dealstage: `${previousTag}-${id}` };
          const stamp: ChangeStamp = { eventId: deps.ids.next('ce'), at: deps.clock.now().toISOString(), source: 'USER', actor: 'bench', before };
          const outcome = await deps.records.updateRecord('acme', 'deals', id, { set: { dealstage: to } }, { expect: before, stamp });
          if (outcome.status !== 'UPDATED') throw new Error(`stamped baseline write ${outcome.status}`);
          events.push(stampedEvent({ accountId: 'acme', objectType: 'deals', recordId: id }, stamp, outcome.after.properties));
        } else {
          const outcome = await deps.records.updateRecord('acme', 'deals', id, { set: { dealstage: to } });
          if (mode === 'raw' || outcome.status !== 'UPDATED') continue;
          events.push({
            id: deps.ids.next('ce'), accountId: 'acme', objectType: 'deals', recordId: id, source: 'USER', actor: 'bench', kind: 'UPDATED',
            changes: [{ property: 'dealstage', from: outcome.before.properties.dealstage ?? '', to }], occurredAt: deps.clock.now().toISOString(),
          });
        }
        if (events.length >= 25) await store(events.splice(0, 25));
      }
    };
    await Promise.all(Array.from({ length: UPDATE_CONCURRENCY }, writer));
    if (events.length) await store(events);
    await Promise.all(publishing);
    return Date.now() - started;
  };
  timing.rawMs += await writeAll('raw', 'raw');
  timing.rawWithEventsMs += await writeAll('raw-ev', 'events');
  timing.stampedWithEventsMs += await writeAll('stamped', 'stamped', 'raw-ev');
  const publishedCpu = cpuSince();
  await profiled('published', async () => (timing.publishedMs += await writeAll('published', 'published', 'stamped')));
  addCpu(timing.publishedCpu, publishedCpu());
  timing.rawWritten += ids.length;
}

/** Changes `dealstage` on every second deal and blanks `amount` on every tenth; answers how many records changed. */
async function editAll(tag: string): Promise<number> {
  let changed = 0;
  await time(`edit after the backup (½ dealstage, ⅒ amount)${tag ? ` ${tag}` : ''}`, async () => {
    for (let segment = 0; segment < runtime.deps.records.segmentCount; segment += 1) {
      let resumeAfter: string | undefined;
      do {
        const page = await runtime.deps.records.readSegmentPage('acme', 'deals', segment, { limit: 500, resumeAfter });
        const edited: CrmRecord[] = [];
        for (const record of page.records) {
          const n = Number(record.id.slice(-6));
          if (values['edit-every-deal'] || n % 2 === 0 || n % 10 === 1) {
            const properties = { ...record.properties };
            if (values['edit-every-deal'] || n % 2 === 0) properties.dealstage = `edited-${tag}${n}`;
            if (n % 10 === 1) delete properties.amount;
            edited.push({ id: record.id, properties });
          }
        }
        if (edited.length) await runtime.deps.records.putRecords('acme', 'deals', edited);
        changed += edited.length;
        resumeAfter = page.resumeAfter;
      } while (resumeAfter);
    }
    // (putRecords counts rewritten records as new ones in the type's counter; restores do not read it.)
  });
  return changed;
}
