import { exportObject, type ExportObjectInput } from '#core/backups/export-object.ts';
import { finalizeBackup } from '#core/backups/finalize-backup.ts';
import { listBackupObjects } from '#core/backups/list-backup-objects.ts';
import { zipBackup } from '#core/backups/zip-backup.ts';
import type { TestDeps } from './in-memory-ports.ts';

/**
 * Backs up the in-memory account the way the backup state machine does (list the
 * object types, export each until done, zip, finalize), so that restore tests plan
 * from a real backup zip. Answers the backup's id.
 */
export async function backUpInMemory(deps: TestDeps, accountId = 'acme'): Promise<string> {
  const backupId = deps.ids.next('bk');
  await deps.backups.createBackup({ id: backupId, accountId, status: 'QUEUED', trigger: 'api', requestedBy: 'admin@acme.example', createdAt: deps.clock.now().toISOString(), objects: [] });
  const { objectTypes } = await listBackupObjects({ accountId, backupId }, deps);
  const exports = [];
  for (const [index, objectType] of objectTypes.entries()) {
    let input: ExportObjectInput = { accountId, backupId, objectType, index };
    for (;;) {
      const output = await exportObject(input, deps, { remainingMs: () => 900_000 });
      if (output.done) {
        exports.push({ objectType, records: output.records, parts: output.parts });
        break;
      }
      input = output;
    }
  }
  await zipBackup({ accountId, backupId, exports }, deps);
  await finalizeBackup({ accountId, backupId }, deps);
  return backupId;
}
