import { describe, expect, it } from 'vitest';
import { startBackup } from '#core/backups/backup-start.ts';
import { runScheduledBackups } from '#core/backups/run-scheduled-backups.ts';
import { NOT_STARTED_REASON, START_GRACE_MS, whyStuck } from '#core/backups/stale-backups.ts';
import type { WorkflowExecution } from '#core/ports/workflow-starter.ts';
import { memoryDeps } from '../../support/in-memory-ports.ts';

const T0 = '2026-11-26T10:00:00.000Z';
const request = { accountId: 'acme', requestedBy: 'a@x', trigger: 'api' } as const;

function withAccount() {
  const deps = memoryDeps(T0);
  deps.records.accounts.set('acme', { id: 'acme', name: 'Acme', tier: 'enterprise' });
  return deps;
}

function at(ms: number): string {
  return new Date(Date.parse(T0) + ms).toISOString();
}

/** The claimer died right after its claim: no backup item, no execution. */
async function claimThenDie(deps: ReturnType<typeof withAccount>, backupId = 'bk_ghost') {
  await deps.backups.claimQuota('acme', { backupId, now: T0, nextAllowedAt: at(24 * 3_600_000) });
}

/** The claimer died after storing the backup, before StartExecution. */
async function queueThenDie(deps: ReturnType<typeof withAccount>, backupId = 'bk_queued') {
  await claimThenDie(deps, backupId);
  await deps.backups.createBackup({ id: backupId, accountId: 'acme', status: 'QUEUED', trigger: 'api', requestedBy: 'a@x', createdAt: T0, objects: [] });
}

describe('startBackup after a crashed start', () => {
  it('answers 429 within the grace period, then takes over a claim whose backup was never stored', async () => {
    const deps = withAccount();
    await claimThenDie(deps);
    deps.clock.set(at(START_GRACE_MS - 1000));
    // The refusal names the claim's real end, and when the claim lapses if its start never completes.
    await expect(startBackup(request, deps)).rejects.toMatchObject({
      name: 'QuotaExceededError',
      nextAllowedAt: at(24 * 3_600_000),
      retryAfterSeconds: (24 * 3_600_000 - START_GRACE_MS + 1000) / 1000,
      details: { claimInProgress: { backupId: 'bk_ghost', expiresAt: at(START_GRACE_MS) } },
    });
    deps.clock.set(at(START_GRACE_MS));
    const backup = await startBackup(request, deps);
    expect(backup.status).toBe('QUEUED');
    expect(deps.backups.quota.get('acme')?.backupId).toBe(backup.id);
    expect(deps.started.map((execution) => execution.name)).toEqual([backup.id]);
  });

  it('fails a QUEUED backup that has no execution after the grace period, emails once, and starts a new one', async () => {
    const deps = withAccount();
    await queueThenDie(deps);
    deps.clock.set(at(START_GRACE_MS + 1));
    const backup = await startBackup(request, deps);
    expect(deps.backups.backups.get('acme/bk_queued')).toMatchObject({ status: 'FAILED', error: NOT_STARTED_REASON });
    expect(deps.backups.quota.get('acme')?.backupId).toBe(backup.id);
    expect(deps.sent.filter((email) => email.text.includes('bk_queued'))).toHaveLength(1);
    expect(deps.audited.filter((entry) => entry.action === 'BACKUP_FAILED' && entry.resourceId === 'bk_queued')).toHaveLength(1);
  });

  it('lets exactly one of 20 concurrent requests take the stale claim over', async () => {
    const deps = withAccount();
    await queueThenDie(deps);
    deps.clock.set(at(START_GRACE_MS + 1));
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => startBackup(request, deps)));
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((result) => result.status === 'rejected' && (result.reason as { name?: string }).name === 'QuotaExceededError')).toHaveLength(19);
    expect(deps.started).toHaveLength(1);
  });

  it('never takes over a backup whose execution runs, however long after the grace period', async () => {
    const deps = withAccount();
    const running = await startBackup(request, deps);
    await deps.backups.updateBackup('acme', running.id, { status: 'RUNNING' }, ['QUEUED']);
    deps.clock.set(at(23 * 3_600_000));
    await expect(startBackup(request, deps)).rejects.toMatchObject({ name: 'QuotaExceededError', nextAllowedAt: at(24 * 3_600_000) });
    // Not even while it still says QUEUED (its first step has not run yet).
    await deps.backups.updateBackup('acme', running.id, { status: 'QUEUED' }, ['RUNNING']);
    await expect(startBackup(request, deps)).rejects.toMatchObject({ name: 'QuotaExceededError' });
    expect(deps.backups.backups.get(`acme/${running.id}`)?.status).toBe('QUEUED');
    expect(deps.started).toHaveLength(1);
  });

  it('takes over from a backup whose execution ended without its failure being recorded', async () => {
    const deps = withAccount();
    const lost = await startBackup(request, deps);
    await deps.backups.updateBackup('acme', lost.id, { status: 'RUNNING' }, ['QUEUED']);
    const ended: WorkflowExecution = { status: 'TIMED_OUT' };
    deps.workflows.describe = async (_workflow, name) => (name === lost.id ? ended : { status: 'RUNNING' });
    // No grace needed: the engine says it is over.
    deps.clock.set(at(60_000));
    const next = await startBackup(request, deps);
    expect(deps.backups.backups.get(`acme/${lost.id}`)).toMatchObject({ status: 'FAILED', error: 'The backup took longer than the time allowed and was stopped.' });
    expect(deps.backups.quota.get('acme')?.backupId).toBe(next.id);
  });

  it('finishes a failure whose cleanup was cut short while it still held the quota', async () => {
    const deps = withAccount();
    const cut = await startBackup(request, deps);
    // FAILED was written, then the failure step died before the refund, cleanup and email.
    await deps.backups.updateBackup('acme', cut.id, { status: 'FAILED', error: 'Exporting deals failed: an internal error occurred.' }, ['QUEUED']);
    deps.blobs.objects.set(`backups/acme/${cut.id}/parts/deals/00000.csv`, Buffer.from('id\r\n'));
    deps.clock.set(at(60_000));
    await startBackup(request, deps);
    expect([...deps.blobs.objects.keys()].filter((key) => key.includes(cut.id))).toEqual([]);
    expect(deps.sent.filter((email) => email.text.includes(cut.id))).toHaveLength(1);
  });
});

describe('whyStuck', () => {
  it('leaves a finished backup alone', async () => {
    const deps = withAccount();
    await queueThenDie(deps);
    await deps.backups.updateBackup('acme', 'bk_queued', { status: 'SUCCEEDED' }, ['QUEUED']);
    deps.clock.set(at(START_GRACE_MS * 10));
    expect(await whyStuck('acme', 'bk_queued', T0, deps)).toBeUndefined();
  });
});

describe('runScheduledBackups sweep', () => {
  it('fails a stuck QUEUED backup of a scheduled account and starts the next one', async () => {
    const deps = withAccount();
    await deps.backups.putSchedule({ accountId: 'acme', enabled: true, email: 'a@x' });
    await queueThenDie(deps);
    deps.clock.set(at(START_GRACE_MS - 1));
    expect(await runScheduledBackups(deps)).toMatchObject({ started: [], recovered: [], waiting: [{ accountId: 'acme' }] });
    deps.clock.set(at(START_GRACE_MS + 1));
    const run = await runScheduledBackups(deps);
    expect(run.recovered).toEqual([{ accountId: 'acme', backupId: 'bk_queued' }]);
    expect(run.started).toHaveLength(1);
    expect(deps.backups.backups.get('acme/bk_queued')).toMatchObject({ status: 'FAILED', error: NOT_STARTED_REASON });
  });

  it('also fails a stuck backup that no longer holds the quota', async () => {
    const deps = withAccount();
    await deps.backups.putSchedule({ accountId: 'acme', enabled: true, email: 'a@x' });
    await queueThenDie(deps);
    await deps.backups.refundQuota('acme', 'bk_queued');
    await startBackup(request, deps);
    deps.clock.set(at(START_GRACE_MS + 1));
    const run = await runScheduledBackups(deps);
    expect(run.recovered).toEqual([{ accountId: 'acme', backupId: 'bk_queued' }]);
    expect(run.waiting).toHaveLength(1);
  });
});

describe('runScheduledBackups sweep failures', () => {
  it('still starts the scheduled backup when failing a stuck one keeps failing', async () => {
    const deps = withAccount();
    await deps.backups.putSchedule({ accountId: 'acme', enabled: true, email: 'a@x' });
    await queueThenDie(deps);
    // The failure email bounces for good: the failure step cannot finish, but it refunds first.
    deps.mailer.send = async () => {
      throw new Error('mailbox unavailable');
    };
    deps.clock.set(at(START_GRACE_MS + 1));
    const run = await runScheduledBackups(deps);
    expect(run.started).toHaveLength(1);
    expect(run.failed).toEqual([{ accountId: 'acme', error: 'Sweeping stuck backups failed: mailbox unavailable' }]);
    expect(deps.backups.backups.get('acme/bk_queued')).toMatchObject({ status: 'FAILED', error: NOT_STARTED_REASON });
  });
});
