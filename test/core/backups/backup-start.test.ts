import { describe, expect, it } from 'vitest';
import { toBackupView } from '#core/backups/backup-policy.ts';
import { startBackup } from '#core/backups/backup-start.ts';
import { finalizeBackup } from '#core/backups/finalize-backup.ts';
import { runScheduledBackups } from '#core/backups/run-scheduled-backups.ts';
import type { Tier } from '#core/model.ts';
import { memoryDeps } from '../../support/in-memory-ports.ts';

function withAccount(tier: Tier) {
  const deps = memoryDeps('2026-11-26T10:00:00.000Z');
  deps.records.accounts.set('acme', { id: 'acme', name: 'Acme', tier });
  return deps;
}

describe('startBackup', () => {
  it.each([
    ['starter', '2026-12-03T10:00:00.000Z'],
    ['professional', '2026-12-03T10:00:00.000Z'],
    ['enterprise', '2026-11-27T10:00:00.000Z'],
  ] as const)('allows one %s backup until %s', async (tier, nextAllowedAt) => {
    const deps = withAccount(tier);
    await startBackup({ accountId: 'acme', requestedBy: 'a@x', trigger: 'api' }, deps);
    deps.clock.set(new Date(Date.parse(nextAllowedAt) - 1).toISOString());
    await expect(startBackup({ accountId: 'acme', requestedBy: 'a@x', trigger: 'api' }, deps)).rejects.toMatchObject({ name: 'QuotaExceededError', nextAllowedAt });
    deps.clock.set(nextAllowedAt);
    await expect(startBackup({ accountId: 'acme', requestedBy: 'a@x', trigger: 'api' }, deps)).resolves.toMatchObject({ status: 'QUEUED' });
    expect(deps.started).toHaveLength(2);
  });

  it('starts the workflow with the backup id as execution name and only ids as input', async () => {
    const deps = withAccount('enterprise');
    const backup = await startBackup({ accountId: 'acme', requestedBy: 'a@x', trigger: 'api' }, deps);
    expect(deps.started).toEqual([{ name: backup.id, input: { accountId: 'acme', backupId: backup.id } }]);
  });

  it('marks the backup FAILED and gives the quota back when the workflow cannot start', async () => {
    const deps = withAccount('enterprise');
    deps.workflows.start = async () => {
      throw new Error('throttled');
    };
    await expect(startBackup({ accountId: 'acme', requestedBy: 'a@x', trigger: 'api' }, deps)).rejects.toThrow('throttled');
    const [backup] = deps.backups.backups.values();
    expect(backup).toMatchObject({ status: 'FAILED', error: 'The backup could not be started. Try again in a few minutes.' });
    expect(deps.backups.quota.size).toBe(0);
  });
});

describe('finalizeBackup', () => {
  it('sets expiresAt 14 days after completion and emails a link to the app once', async () => {
    const deps = withAccount('enterprise');
    const backup = await startBackup({ accountId: 'acme', requestedBy: 'a@x', trigger: 'api' }, deps);
    Object.assign(deps.backups.backups.get(`acme/${backup.id}`)!, { status: 'RUNNING', zipKey: 'k', completedAt: '2026-11-26T10:05:00.000Z', sizeBytes: 10 });
    await finalizeBackup({ accountId: 'acme', backupId: backup.id }, deps);
    await finalizeBackup({ accountId: 'acme', backupId: backup.id }, deps);
    expect(await deps.backups.getBackup('acme', backup.id)).toMatchObject({ status: 'SUCCEEDED', expiresAt: '2026-12-10T10:05:00.000Z' });
    expect(deps.sent).toHaveLength(1);
    expect(deps.sent[0]!.text).toContain(`https://app.example/backups/${backup.id}`);
  });
});

describe('toBackupView', () => {
  it('reports EXPIRED after expiresAt and never shows the storage key', () => {
    const backup = { id: 'bk_1', accountId: 'acme', status: 'SUCCEEDED' as const, trigger: 'api' as const, requestedBy: 'a@x', createdAt: '2026-11-01T00:00:00.000Z', expiresAt: '2026-11-15T00:00:00.000Z', zipKey: 'backups/acme/bk_1/x.zip' };
    expect(toBackupView(backup, new Date('2026-11-15T00:00:00.000Z')).status).toBe('SUCCEEDED');
    expect(toBackupView(backup, new Date('2026-11-15T00:00:00.001Z')).status).toBe('EXPIRED');
    expect(JSON.stringify(toBackupView(backup, new Date()))).not.toContain('zipKey');
  });
});

describe('runScheduledBackups', () => {
  it('starts backups only for enabled schedules whose quota allows, emailing who enabled them', async () => {
    const deps = withAccount('enterprise');
    deps.records.accounts.set('globex', { id: 'globex', name: 'Globex', tier: 'professional' });
    deps.records.accounts.set('initech', { id: 'initech', name: 'Initech', tier: 'starter' });
    await deps.backups.putSchedule({ accountId: 'acme', enabled: true, email: 'boss@acme' });
    await deps.backups.putSchedule({ accountId: 'globex', enabled: true, email: 'boss@globex' });
    await deps.backups.putSchedule({ accountId: 'initech', enabled: false, email: 'boss@initech' });
    await startBackup({ accountId: 'globex', requestedBy: 'x', trigger: 'api' }, deps);
    const run = await runScheduledBackups(deps);
    expect(run.started.map((entry) => entry.accountId)).toEqual(['acme']);
    expect(run.waiting.map((entry) => entry.accountId)).toEqual(['globex']);
    expect((await deps.backups.getBackup('acme', run.started[0]!.backupId))).toMatchObject({ trigger: 'schedule', requestedBy: 'boss@acme' });
  });
});
