import { describe, expect, it } from 'vitest';
import { failBackup, NOTICE_LEASE_MS } from '#core/backups/fail-backup.ts';
import { startBackup } from '#core/backups/request-backup.ts';
import { START_GRACE_MS, sweepStuckBackups, whyStuck } from '#core/backups/stale-backups.ts';
import { memoryDeps } from './in-memory-ports.ts';

const T0 = '2026-11-26T10:00:00.000Z';
const request = { accountId: 'acme', requestedBy: 'a@x', trigger: 'api' } as const;

function at(ms: number): string {
  return new Date(Date.parse(T0) + ms).toISOString();
}

/** A backup whose request died after storing it QUEUED, before StartExecution. */
async function stuckBackup(backupId = 'bk_stuck') {
  const deps = memoryDeps(T0);
  deps.records.accounts.set('acme', { id: 'acme', name: 'Acme', tier: 'enterprise' });
  await deps.backups.claimQuota('acme', { backupId, now: T0, nextAllowedAt: at(24 * 3_600_000) });
  await deps.backups.createBackup({ id: backupId, accountId: 'acme', status: 'QUEUED', trigger: 'api', requestedBy: 'a@x', createdAt: T0, objects: [] });
  return deps;
}

describe('failBackup', () => {
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
    const outcomes = await Promise.all(Array.from({ length: 5 }, () => failBackup({ accountId: 'acme', backupId: 'bk_stuck', reason: 'It broke.' }, deps)));
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
    await failBackup({ accountId: 'acme', backupId: 'bk_stuck', reason: 'swept' }, deps);
    expect(deps.sent).toHaveLength(0);

    deps.clock.set(at(NOTICE_LEASE_MS + 1000));
    expect(await whyStuck('acme', 'bk_stuck', T0, deps)).toBe('It broke.');
    await Promise.all([1, 2].map(() => failBackup({ accountId: 'acme', backupId: 'bk_stuck', reason: 'swept' }, deps)));
    expect(deps.sent).toHaveLength(1);
    expect(deps.sent[0]!.text).toContain('It broke.');
    expect(deps.audited).toHaveLength(1);
    expect(await whyStuck('acme', 'bk_stuck', T0, deps)).toBeUndefined();
  });
});
