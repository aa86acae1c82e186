import { describe, expect, it } from 'vitest';
import { describeStepFailure, NOTICE_LEASE_MS, recordBackupFailure } from '#core/backups/backup-failure.ts';
import { startBackup } from '#core/backups/backup-start.ts';
import { failBackup } from '#core/backups/fail-backup.ts';
import { START_GRACE_MS, sweepStuckBackups, whyStuck } from '#core/backups/stale-backups.ts';
import { memoryDeps } from '../../support/in-memory-ports.ts';

const T0 = '2026-11-26T10:00:00.000Z';
const request = { accountId: 'acme', requestedBy: 'a@x', trigger: 'api' } as const;

function at(ms: number): string {
  return new Date(Date.parse(T0) + ms).toISOString();
}

function withAccount() {
  const deps = memoryDeps(T0);
  deps.records.accounts.set('acme', { id: 'acme', name: 'Acme', tier: 'enterprise' });
  return deps;
}

/** A backup whose request died after storing it QUEUED, before StartExecution. */
async function stuckBackup(backupId = 'bk_stuck') {
  const deps = memoryDeps(T0);
  deps.records.accounts.set('acme', { id: 'acme', name: 'Acme', tier: 'enterprise' });
  await deps.backups.claimQuota('acme', { backupId, now: T0, nextAllowedAt: at(24 * 3_600_000) });
  await deps.backups.createBackup({ id: backupId, accountId: 'acme', status: 'QUEUED', trigger: 'api', requestedBy: 'a@x', createdAt: T0, objects: [] });
  return deps;
}

describe('recordBackupFailure', () => {
  it('emails and audits once when the scheduler sweep and a take-over fail the same stuck backup at once', async () => {
    const deps = await stuckBackup();
    deps.clock.set(at(START_GRACE_MS + 1));
    const [, next] = await Promise.all([sweepStuckBackups('acme', deps), startBackup(request, deps)]);
    expect(deps.backups.backups.get('acme/bk_stuck')).toMatchObject({ status: 'FAILED' });
    expect(deps.backups.backups.get('acme/bk_stuck')?.notifiedAt).toBeDefined();
    expect(deps.sent.filter((email) => email.text.includes('bk_stuck'))).toHaveLength(1);
    expect(deps.audited.filter((entry) => entry.resourceId === 'bk_stuck')).toHaveLength(1);
    expect(deps.backups.quota.get('acme')?.backupId).toBe(next.id);
  });

  it('emails, audits and counts once when five failure steps (Catch, status rule, sweeps) run at once', async () => {
    const deps = await stuckBackup();
    const outcomes = await Promise.all(Array.from({ length: 5 }, () => recordBackupFailure({ accountId: 'acme', backupId: 'bk_stuck', reason: 'It broke.' }, deps)));
    expect(outcomes.map((outcome) => outcome.status)).toEqual(Array(5).fill('FAILED'));
    expect(deps.sent).toHaveLength(1);
    expect(deps.audited).toHaveLength(1);
    expect(deps.counted.filter((count) => count.metric === 'BackupsFailed')).toEqual([{ metric: 'BackupsFailed', value: 1 }]);
    expect(deps.sent[0]!.text).toContain('It broke.');
  });

  it('leaves the announcement to a claimer still within its lease, and makes it once the claimer died', async () => {
    const deps = await stuckBackup();
    // A failure step failed the backup, cleaned up, claimed the announcement and died.
    await deps.backups.updateBackup('acme', 'bk_stuck', { status: 'FAILED', error: 'It broke.', completedAt: T0 }, ['QUEUED']);
    await deps.backups.refundQuota('acme', 'bk_stuck');
    expect(await deps.backups.claimNotification('acme', 'bk_stuck', { status: 'FAILED', at: T0, staleBefore: at(-NOTICE_LEASE_MS) })).toBe(true);

    deps.clock.set(at(NOTICE_LEASE_MS - 1000));
    expect(await whyStuck('acme', 'bk_stuck', T0, deps)).toBeUndefined();
    await recordBackupFailure({ accountId: 'acme', backupId: 'bk_stuck', reason: 'swept' }, deps);
    expect(deps.sent).toHaveLength(0);

    deps.clock.set(at(NOTICE_LEASE_MS + 1000));
    expect(await whyStuck('acme', 'bk_stuck', T0, deps)).toBe('It broke.');
    await Promise.all([1, 2].map(() => recordBackupFailure({ accountId: 'acme', backupId: 'bk_stuck', reason: 'swept' }, deps)));
    expect(deps.sent).toHaveLength(1);
    expect(deps.sent[0]!.text).toContain('It broke.');
    expect(deps.audited).toHaveLength(1);
    expect(await whyStuck('acme', 'bk_stuck', T0, deps)).toBeUndefined();
  });
});

describe('recordBackupFailure', () => {
  it('does not give back a quota that a newer backup holds', async () => {
    const deps = withAccount();
    const old = await startBackup({ accountId: 'acme', requestedBy: 'a@x', trigger: 'api' }, deps);
    deps.backups.quota.set('acme', { backupId: 'bk_newer', nextAllowedAt: '2026-11-28T00:00:00.000Z' });
    await recordBackupFailure({ accountId: 'acme', backupId: old.id, reason: 'x' }, deps);
    expect(deps.backups.quota.get('acme')?.backupId).toBe('bk_newer');
  });

  it('is idempotent: one email, one audit entry, and a SUCCEEDED backup is left alone', async () => {
    const deps = withAccount();
    const backup = await startBackup({ accountId: 'acme', requestedBy: 'a@x', trigger: 'api' }, deps);
    await recordBackupFailure({ accountId: 'acme', backupId: backup.id, reason: 'first' }, deps);
    await recordBackupFailure({ accountId: 'acme', backupId: backup.id, reason: 'second' }, deps);
    expect(deps.sent).toHaveLength(1);
    expect(deps.audited.filter((entry) => entry.action === 'BACKUP_FAILED')).toHaveLength(1);
    expect((await deps.backups.getBackup('acme', backup.id))!.error).toBe('first');

    deps.clock.set('2026-11-28T00:00:00.000Z');
    const done = await startBackup({ accountId: 'acme', requestedBy: 'a@x', trigger: 'api' }, deps);
    deps.backups.backups.get(`acme/${done.id}`)!.status = 'SUCCEEDED';
    expect(await recordBackupFailure({ accountId: 'acme', backupId: done.id, reason: 'late event' }, deps)).toEqual({ status: 'SUCCEEDED' });
  });
});

describe('describeStepFailure', () => {
  it('shows our step messages and hides everything else', () => {
    expect(describeStepFailure('StepFailedError', JSON.stringify({ errorType: 'StepFailedError', errorMessage: 'Exporting deals failed: x.' }))).toBe('Exporting deals failed: x.');
    expect(describeStepFailure('Error', JSON.stringify({ errorType: 'Error', errorMessage: 'ECONNREFUSED 10.1.2.3:443' }))).toBe('An internal error stopped the backup.');
    expect(describeStepFailure('States.Timeout', null)).toMatch(/longer than the time allowed/);
    expect(describeStepFailure('TransientError', '{"errorType":"TransientError","errorMessage":"The record store is temporarily unavailable"}')).toMatch(/retries/);
  });
});

describe('failBackup', () => {
  it('fails the backup with a sentence made from what Step Functions reported', async () => {
    const deps = await stuckBackup();
    const cause = JSON.stringify({ errorType: 'StepFailedError', errorMessage: 'Exporting deals failed: the object type deals no longer exists.' });
    expect(await failBackup({ accountId: 'acme', backupId: 'bk_stuck', failure: { Error: 'StepFailedError', Cause: cause } }, deps)).toEqual({ status: 'FAILED' });
    expect(await deps.backups.getBackup('acme', 'bk_stuck')).toMatchObject({ status: 'FAILED', error: 'Exporting deals failed: the object type deals no longer exists.' });
  });

  it('says the backup stopped unexpectedly when nothing was reported', async () => {
    const deps = await stuckBackup();
    await failBackup({ accountId: 'acme', backupId: 'bk_stuck' }, deps);
    expect((await deps.backups.getBackup('acme', 'bk_stuck'))!.error).toBe('An internal error stopped the backup.');
  });
});
