import { StepFailedError } from '../errors.ts';
import type { BackupRef } from '../model.ts';
import type { BackupDeps } from './backup-deps.ts';

/** What the Map state iterates over: object type names only, never data. */
export interface BackupPlan extends BackupRef {
  objectTypes: string[];
}

/**
 * First step of a backup: decides what it will contain.
 *
 * Primary course:
 *  1. Move the backup from QUEUED to RUNNING (a retried step finds it RUNNING: fine).
 *  2. List the account's object types, standard and custom, in their stored order.
 *  3. Record each as PENDING, so that the API shows progress per object type.
 *  4. Answer their names for the Map state.
 */
export async function listBackupObjects(input: BackupRef, deps: Pick<BackupDeps, 'backups' | 'records'>): Promise<BackupPlan> {
  const started = await deps.backups.updateBackup(input.accountId, input.backupId, { status: 'RUNNING' }, ['QUEUED', 'RUNNING']);
  if (!started) throw new StepFailedError(`Backup ${input.backupId} is no longer waiting to run.`);
  const types = await deps.records.listObjectTypes(input.accountId);
  const objectTypes = types.map((type) => type.name);
  await deps.backups.updateBackup(
    input.accountId,
    input.backupId,
    { objects: objectTypes.map((objectType) => ({ objectType, records: 0, status: 'PENDING' })) },
    ['RUNNING'],
  );
  return { ...input, objectTypes };
}
