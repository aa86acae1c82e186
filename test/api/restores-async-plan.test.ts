import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RestoreTuning } from '#core/restores/restore-policy.ts';
import type { AppDeps } from '#runtime/deps.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';
import { bucketKeys, stopExecution } from '../support/stand-ins.ts';

const ADMIN = 'admin@acme.example';
const SSO_ADMIN = 'sso-admin@acme.example';
const CHOSEN = ['dealname', 'amount', 'dealstage'];

/**
 * Knobs the tests turn while the runtime runs: 40 deals make segments of 15, 15 and 10.
 * `planBudgetMs: 0` makes the API hand every plan to the restore-plan state machine at
 * once, and one segment per invocation makes that machine resume twice.
 */
const tuning: RestoreTuning = { segmentRecords: 15, batchRecords: 6 };
/** Faults: hold plan segment uploads until `release()`; a wrong SHA-256 in the backup's manifest entry. */
const faults: { gate?: Promise<void>; release?: () => void; wrongSha?: boolean; planSaves: number; planUploads: number } = { planSaves: 0, planUploads: 0 };

function withFaults(deps: AppDeps): AppDeps {
  const blobs = Object.create(deps.blobs) as typeof deps.blobs;
  blobs.upload = async (...args: Parameters<typeof deps.blobs.upload>) => {
    if (args[0].startsWith('plans/')) {
      faults.planUploads += 1;
      if (faults.gate) await faults.gate;
    }
    return deps.blobs.upload(...args);
  };
  const backups = Object.create(deps.backups) as typeof deps.backups;
  backups.getBackup = async (...args: Parameters<typeof deps.backups.getBackup>) => {
    const backup = await deps.backups.getBackup(...args);
    if (!backup || !faults.wrongSha) return backup;
    // The CSV reads fine to its last byte and only then fails its check: damage found late, in the background.
    return { ...backup, objects: backup.objects?.map((object) => (object.objectType === 'deals' ? { ...object, sha256: '0'.repeat(64) } : object)) };
  };
  const restores = Object.create(deps.restores) as typeof deps.restores;
  restores.savePlan = async (...args: Parameters<typeof deps.restores.savePlan>) => {
    faults.planSaves += 1;
    return deps.restores.savePlan(...args);
  };
  return { ...deps, blobs, backups, restores, config: { ...deps.config, restoreTuning: tuning } };
}

function hold(): void {
  faults.gate = new Promise((resolve) => (faults.release = resolve));
}

function release(): void {
  faults.release?.();
  faults.gate = undefined;
}

describe('restore plans that continue in the background', () => {
  let runtime: TestRuntime;
  let backupId: string;

  const plan = () => runtime.api('POST', `/v1/backups/${backupId}/restore-plans`, { as: ADMIN, body: { objectType: 'deals', properties: CHOSEN } });
  const planKeys = (planId = '') => bucketKeys(runtime, `plans/acme/${planId}`);
  const segmentText = async (planId: string) => {
    let text = '';
    for (const key of (await planKeys(`${planId}/`)).sort()) {
      for await (const chunk of await runtime.deps.blobs.read(key)) text += String(chunk);
    }
    return text;
  };
  const sameNumbers = (plan: Record<string, unknown>) => {
    const { id: _id, createdAt: _created, expiresAt: _expires, ...numbers } = plan;
    return numbers;
  };

  beforeAll(async () => {
    runtime = await startTestRuntime({ wrapDeps: withFaults });
    const requested = await runtime.api('POST', '/v1/backups', { as: ADMIN });
    backupId = requested.body.id;
    await runtime.idle();
    expect((await runtime.api('GET', `/v1/backups/${backupId}`)).body.status).toBe('SUCCEEDED');
    // Changes after the backup, so the plans have something to count and a sample to show.
    const deals = (await runtime.api('GET', '/v1/objects/deals/records?limit=40', { as: ADMIN })).body.items as Array<{ id: string }>;
    for (const [index, deal] of deals.slice(0, 6).entries()) {
      const edited = await runtime.api('PATCH', `/v1/objects/deals/records/${deal.id}`, {
        as: 'user@acme.example',
        body: { properties: index % 2 ? { amount: '' } : { dealname: `Renamed ${index}`, dealstage: 'closedlost' } },
      });
      expect(edited.status).toBe(200);
    }
    expect((await runtime.api('DELETE', `/v1/objects/deals/records/${deals[7]!.id}`, { as: 'user@acme.example' })).status).toBe(204);
  });

  // Every test turns its own knobs; whatever it asserted, the next one starts synchronous and unfaulted.
  afterEach(() => {
    release();
    faults.wrongSha = false;
    tuning.planBudgetMs = undefined;
    tuning.planSegmentsPerInvocation = undefined;
  });

  afterAll(async () => {
    release();
    await runtime?.destroy();
  });

  it('answers 202 PLANNING, refuses to restore it, then shows READY with the numbers and segments of a synchronous plan', async () => {
    const synchronous = await plan();
    expect(synchronous.status, JSON.stringify(synchronous.body)).toBe(201);
    expect(synchronous.body).toMatchObject({ status: 'READY', recordsInBackup: 40, recordsMissing: 1 });
    expect(synchronous.body.recordsToChange).toBeGreaterThan(0);
    expect(synchronous.body.progress).toBeUndefined();

    tuning.planBudgetMs = 0;
    tuning.planSegmentsPerInvocation = 1;
    faults.planSaves = 0;
    hold();
    const started = await plan();
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    expect(started.body).toMatchObject({ status: 'PLANNING', progress: { done: 0, total: 40 }, backupId, objectType: 'deals', properties: CHOSEN });
    const planId = started.body.id as string;

    const meanwhile = await runtime.api('GET', `/v1/restore-plans/${planId}`, { as: ADMIN });
    expect(meanwhile.status).toBe(200);
    expect(meanwhile.body).toMatchObject({ id: planId, status: 'PLANNING', progress: { total: 40 } });

    const refused = await runtime.api('POST', '/v1/restores', { as: SSO_ADMIN, body: { planId, acknowledge: { changesData: true, cannotBeUndone: true } } });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('PLAN_NOT_READY');
    expect(refused.body.error.message).toMatch(/still being made/);
    expect((await runtime.api('GET', '/v1/restores', { as: SSO_ADMIN })).body.items).toEqual([]);

    release();
    await runtime.idle();
    const ready = await runtime.api('GET', `/v1/restore-plans/${planId}`, { as: ADMIN });
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('READY');
    expect(sameNumbers(ready.body)).toEqual(sameNumbers(synchronous.body));
    // Three invocations: two checkpoints (15, 30 records), then READY.
    expect(faults.planSaves).toBe(3);
    const stored = (await runtime.deps.restores.getPlan('acme', planId))!;
    expect(stored.segments.map((segment) => segment.records)).toEqual([15, 15, 10]);
    expect(await segmentText(planId)).toBe(await segmentText(synchronous.body.id));

    const restored = await runtime.api('POST', '/v1/restores', { as: SSO_ADMIN, body: { planId, acknowledge: { changesData: true, cannotBeUndone: true } } });
    expect(restored.status, JSON.stringify(restored.body)).toBe(202);
    await runtime.idle();
    const done = (await runtime.api('GET', `/v1/restores/${restored.body.id}`, { as: SSO_ADMIN })).body;
    expect(done).toMatchObject({ status: 'SUCCEEDED', counts: { updated: ready.body.recordsToChange, missing: 1, failed: 0 } });
  });

  it('counts a duplicate planning step once: same numbers, one audit entry', async () => {
    const synchronous = await plan();
    expect(synchronous.status).toBe(201);
    tuning.planBudgetMs = 0;
    tuning.planSegmentsPerInvocation = 1;
    hold();
    const started = await plan();
    expect(started.status).toBe(202);
    const job = { accountId: 'acme', planId: started.body.id };
    // Two more invocations from the same checkpoint, as a retried Lambda invocation would run.
    const duplicates = [runtime.invoke('build-restore-plan', job), runtime.invoke('build-restore-plan', job)];
    release();
    await Promise.all(duplicates);
    await runtime.idle();
    const ready = await runtime.api('GET', `/v1/restore-plans/${started.body.id}`, { as: ADMIN });
    expect(ready.body.status).toBe('READY');
    expect(sameNumbers(ready.body)).toEqual(sameNumbers(synchronous.body));
    expect(await segmentText(started.body.id)).toBe(await segmentText(synchronous.body.id));
    const audit = (await runtime.api('GET', '/v1/audit-log?limit=100', { as: ADMIN })).body.items as Array<{ action: string; resourceId: string }>;
    expect(audit.filter((entry) => entry.action === 'RESTORE_PLANNED' && entry.resourceId === started.body.id)).toHaveLength(1);
  });

  it('ends FAILED with the damaged-backup sentence and no segment files when the damage shows in the background', async () => {
    tuning.planBudgetMs = 0;
    tuning.planSegmentsPerInvocation = 1;
    faults.wrongSha = true;
    faults.planUploads = 0;
    const started = await plan();
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    await runtime.idle();
    const failed = await runtime.api('GET', `/v1/restore-plans/${started.body.id}`, { as: ADMIN });
    expect(failed.status).toBe(200);
    expect(failed.body.status).toBe('FAILED');
    expect(failed.body.error).toBe(
      'The backup archive does not match its manifest: the SHA-256 of deals.csv differs, so it was altered or damaged. Nothing was planned or changed; restore from another backup.',
    );
    // Segments were written (and checkpointed) before the end of the CSV revealed the damage; none is left.
    expect(faults.planUploads).toBeGreaterThan(0);
    expect(await planKeys(`${started.body.id}/`)).toEqual([]);
    const refused = await runtime.api('POST', '/v1/restores', { as: SSO_ADMIN, body: { planId: started.body.id, acknowledge: { changesData: true, cannotBeUndone: true } } });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('PLAN_NOT_READY');
    expect(refused.body.error.message).toMatch(/failed/);
  });

  it('ends FAILED with no segment files when its execution is stopped (the execution-status rule)', async () => {
    tuning.planBudgetMs = 0;
    tuning.planSegmentsPerInvocation = 1;
    hold();
    const started = await plan();
    expect(started.status).toBe(202);
    await stopExecution(runtime, runtime.config.restorePlanStateMachineArn!, started.body.id);
    release();
    await runtime.idle();
    // Let the held invocation finish its segment: it must not bring the plan back.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const stopped = await runtime.api('GET', `/v1/restore-plans/${started.body.id}`, { as: ADMIN });
    expect(stopped.body).toMatchObject({ status: 'FAILED', error: 'An internal error stopped the planning; nothing was changed. Make a new plan.' });
    expect(await planKeys(`${started.body.id}/`)).toEqual([]);
  });

  it('refuses synchronously what the API can check, even with no planning budget', async () => {
    tuning.planBudgetMs = 0;
    const unknown = await runtime.api('POST', `/v1/backups/${backupId}/restore-plans`, { as: ADMIN, body: { objectType: 'deals', properties: ['nope'] } });
    expect(unknown.status).toBe(400);
    const notAdmin = await runtime.api('POST', `/v1/backups/${backupId}/restore-plans`, { as: 'user@acme.example', body: { objectType: 'deals', properties: CHOSEN } });
    expect(notAdmin.status).toBe(403);
    const otherAccount = await runtime.api('POST', `/v1/backups/${backupId}/restore-plans`, { as: 'admin@globex.example', body: { objectType: 'deals', properties: CHOSEN } });
    expect(otherAccount.status).toBe(404);
  });
});
