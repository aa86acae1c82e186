import type { AnomalyCheck } from '../alert-model.ts';
import type { Backup } from '../model.ts';
import type { AlertDeps } from './alert-deps.ts';

/** What the `anomaly-check` state machine hands its steps: the backup that SUCCEEDED (the execution's name is its id). */
export interface AnomalyCheckJob {
  accountId: string;
  backupId: string;
}

/** A check that ended: nothing more to do for it. */
export function checkEnded(check: AnomalyCheck | undefined): boolean {
  return check !== undefined && check.status !== 'CHECKING' && check.status !== 'FAILED' && !(check.status === 'ALERTED' && !check.alertedAt);
}

/** Backups looked at (newest first) to find the previous one. */
const PREVIOUS_SEARCH_PAGES = 5;

/** The account's latest backup before `backup` that SUCCEEDED and has not expired: what it is compared with. */
export async function previousBackup(backup: Backup, deps: Pick<AlertDeps, 'backups' | 'clock'>): Promise<Backup | undefined> {
  const now = deps.clock.now().getTime();
  let cursor: string | undefined;
  for (let page = 0; page < PREVIOUS_SEARCH_PAGES; page++) {
    const { items, nextCursor } = await deps.backups.listBackups(backup.accountId, { limit: 20, ...(cursor ? { cursor } : {}) });
    const found = items.find(
      (candidate) => candidate.id !== backup.id && candidate.createdAt < backup.createdAt && candidate.status === 'SUCCEEDED' && candidate.expiresAt !== undefined && Date.parse(candidate.expiresAt) > now,
    );
    if (found) return (await deps.backups.getBackup(backup.accountId, found.id)) ?? found;
    if (!nextCursor) return undefined;
    cursor = nextCursor;
  }
  return undefined;
}
