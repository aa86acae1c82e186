import type { Backup } from '../model.ts';
import type { AuditLog } from '../ports/audit-log.ts';
import type { BlobStore } from '../ports/blob-store.ts';
import type { Clock } from '../ports/clock.ts';
import type { ComparisonRepository } from '../ports/comparison-repository.ts';
import type { IdGenerator } from '../ports/ids.ts';
import type { DataSources } from '../ports/data-source.ts';
import type { WorkflowStarter } from '../ports/workflow-starter.ts';
import type { ZipAssemblyTarget } from '../ports/zip-assembly-target.ts';
import type { CompareTuning } from './compare-policy.ts';

/** The ports the compare use cases work with (AppDeps satisfies it); each step picks what it uses. */
export interface CompareDeps {
  /** Comparisons only read backups. */
  backups: { getBackup(accountId: string, backupId: string): Promise<Backup | undefined> };
  /** The backup bucket: backup zips, and the comparisons' working files and exports. */
  blobs: BlobStore;
  /** Each account's data source: today's records, for comparisons with live data. */
  sources: DataSources;
  comparisons: ComparisonRepository;
  /** Joins an export's parts into one CSV (S3 multipart copy). */
  zipAssembly: ZipAssemblyTarget;
  audit: AuditLog;
  workflows: WorkflowStarter;
  clock: Clock;
  ids: IdGenerator;
  config: { compareTuning?: CompareTuning };
}
