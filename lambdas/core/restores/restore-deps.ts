import type { BusinessMetrics } from '../ports/metrics.ts';
import type { Backup } from '../model.ts';
import type { AuditLog } from '../ports/audit-log.ts';
import type { BlobStore } from '../ports/blob-store.ts';
import type { Clock } from '../ports/clock.ts';
import type { EventPublisher } from '../ports/event-publisher.ts';
import type { IdGenerator } from '../ports/ids.ts';
import type { Mailer } from '../ports/mailer.ts';
import type { RecordStore } from '../ports/record-store.ts';
import type { RestoreLock } from '../ports/restore-lock.ts';
import type { ImportLog, RestoreRepository } from '../ports/restore-repository.ts';
import type { WorkflowStarter } from '../ports/workflow-starter.ts';
import type { RestoreTuning } from './restore-policy.ts';

/** The ports the restore use cases work with (AppDeps satisfies it); each step picks what it uses. */
export interface RestoreDeps {
  /** Restores only read backups. */
  backups: { getBackup(accountId: string, backupId: string): Promise<Backup | undefined> };
  /** The backup bucket: backup zips, and the plans' segment files. */
  blobs: BlobStore;
  /** The CRM's records: read when planning, written when applying. */
  records: RecordStore;
  restores: RestoreRepository;
  imports: ImportLog;
  lock: RestoreLock;
  audit: AuditLog;
  mailer: Mailer;
  events: EventPublisher;
  workflows: WorkflowStarter;
  clock: Clock;
  ids: IdGenerator;
  metrics: BusinessMetrics;
  /** `appUrl`: emails link to `${appUrl}/restores/{id}`. */
  config: { appUrl: string; restoreTuning?: RestoreTuning };
}
