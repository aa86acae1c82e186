import type { BackupRepository } from '../ports/backup-repository.ts';
import type { AlertSettingsRepository } from '../ports/alert-settings-repository.ts';
import type { EventPublisher } from '../ports/event-publisher.ts';
import type { Mailer } from '../ports/mailer.ts';
import type { RecordStore } from '../ports/record-store.ts';
import type { SuperAdminDirectory } from '../ports/super-admin-directory.ts';
import type { CompareDeps } from '../compare/compare-deps.ts';

/** The ports the alert use cases work with (AppDeps satisfies it): the compare ports, and those that raise an alert. */
export interface AlertDeps extends Omit<CompareDeps, 'backups' | 'config'> {
  backups: BackupRepository;
  /** The account's name, for the alert's email. */
  records: Pick<RecordStore, 'getAccount'>;
  alertSettings: AlertSettingsRepository;
  directory: SuperAdminDirectory;
  mailer: Mailer;
  events: EventPublisher;
  /** `appUrl`: alerts link to the comparisons in the app. */
  config: CompareDeps['config'] & { appUrl: string };
}
