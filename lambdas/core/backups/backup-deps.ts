import type { BusinessMetrics } from '../ports/metrics.ts';
import type { AuditLog } from '../ports/audit-log.ts';
import type { BackupRepository } from '../ports/backup-repository.ts';
import type { BlobStore } from '../ports/blob-store.ts';
import type { Clock } from '../ports/clock.ts';
import type { IdGenerator } from '../ports/ids.ts';
import type { Mailer } from '../ports/mailer.ts';
import type { RecordStore } from '../ports/record-store.ts';
import type { WorkflowStarter } from '../ports/workflow-starter.ts';

/** The ports the backup use cases work with (AppDeps satisfies it). */
export interface BackupDeps {
  backups: BackupRepository;
  blobs: BlobStore;
  records: RecordStore;
  audit: AuditLog;
  mailer: Mailer;
  workflows: WorkflowStarter;
  clock: Clock;
  ids: IdGenerator;
  metrics: BusinessMetrics;
  /** Where the web page lives: emails link to `${appUrl}/backups/{id}`. */
  config: { appUrl: string };
}
