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
 */
import { rm } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { CrmRecord } from '#core/model.ts';
import type { AppDeps } from '#runtime/deps.ts';
import { DEMO_USERS } from '../local/identity.ts';
import { startLocalRuntime } from '../local/runtime.ts';
import { seedRecords } from '../local/seed.ts';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '100000' },
    'data-dir': { type: 'string', default: '/tmp/crm-restore-bench' },
  },
});
const target = Number(values.records);
const dataDir = values['data-dir']!;
await rm(dataDir, { recursive: true, force: true });

const invocations = { apply: 0, maxApplyMs: 0 };
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
  wrapped.saveSegmentProgress = async (...args) => {
    const started = applyStarts.get(`${args[1]}#${args[2]}`);
    if (started) invocations.maxApplyMs = Math.max(invocations.maxApplyMs, Date.now() - started);
    return restores.saveSegmentProgress(...args);
  };
  return { ...deps, restores: wrapped };
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const time = async <T>(label: string, work: () => Promise<T>): Promise<T> => {
  const started = Date.now();
  const result = await work();
  console.log(`${label.padEnd(44)} ${seconds(Date.now() - started)}`);
  return result;
};

const runtime = await startLocalRuntime({ dataDir, port: 0, recordsPerType: 10, wrapDeps: instrument });
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
  const deals = (await runtime.deps.records.getObjectType('acme', 'deals'))!;
  await time(`seed ${target.toLocaleString('en-US')} deals`, () => seedRecords(runtime.deps.records, 'acme', 'deals', target - deals.records));

  const backup = await time('backup (POST /v1/backups → SUCCEEDED)', async () => {
    const requested = await api('POST', '/v1/backups');
    await runtime.idle();
    return (await api('GET', `/v1/backups/${requested.body.id}`)).body;
  });
  if (backup.status !== 'SUCCEEDED') throw new Error(`backup ${backup.status}: ${backup.error}`);

  let changed = 0;
  await time('edit after the backup (½ dealstage, ⅒ amount)', async () => {
    for (let segment = 0; segment < runtime.deps.records.segmentCount; segment += 1) {
      let resumeAfter: string | undefined;
      do {
        const page = await runtime.deps.records.readSegmentPage('acme', 'deals', segment, { limit: 500, resumeAfter });
        const edited: CrmRecord[] = [];
        for (const record of page.records) {
          const n = Number(record.id.slice(-6));
          if (n % 2 === 0 || n % 10 === 1) {
            const properties = { ...record.properties };
            if (n % 2 === 0) properties.dealstage = `edited-${n}`;
            if (n % 10 === 1) delete properties.amount;
            edited.push({ id: record.id, properties });
          }
        }
        if (edited.length) await runtime.deps.records.putRecords('acme', 'deals', edited);
        changed += edited.length;
        resumeAfter = page.resumeAfter;
      } while (resumeAfter);
    }
  });
  // putRecords counts rewritten records as new ones; put the counter back.
  await runtime.deps.records.putObjectType('acme', deals);

  const plan = await time('plan (POST restore-plans, synchronous)', async () =>
    (await api('POST', `/v1/backups/${backup.id}/restore-plans`, { objectType: 'deals', properties: ['dealstage', 'amount'] })).body,
  );
  console.log(`  plan: ${JSON.stringify({ recordsInBackup: plan.recordsInBackup, recordsToChange: plan.recordsToChange, recordsUnchanged: plan.recordsUnchanged, recordsMissing: plan.recordsMissing, perProperty: plan.perProperty })}`);
  const segments = (await runtime.deps.restores.getPlan('acme', plan.id))!.segments.length;

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
  console.log(`  peak RSS of the whole process (stand-ins included): ${Math.round(process.resourceUsage().maxRSS / 1024)} MB`);
} finally {
  await runtime.stop();
}
