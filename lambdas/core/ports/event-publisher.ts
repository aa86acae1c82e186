import type { AnomalyEvent } from '../alert-model.ts';
import type { ChangeEvent } from '../model.ts';

/**
 * Publishes events for other systems: record change events (a workflow engine
 * re-enrolling records after a restore), and anomalies a backup revealed (a pager, a
 * SIEM). EventBridge in AWS when a bus is configured, nothing otherwise; both are also
 * kept where people see them (the data plane's change events, the audit log).
 */
export interface EventPublisher {
  publish(events: ChangeEvent[]): Promise<void>;
  /** `crm-backup.anomaly`: a check after a backup found mass changes or deletions. */
  publishAnomaly(event: AnomalyEvent): Promise<void>;
}

/** For runtimes without a bus: what is stored is the only record. */
export const noEventPublisher: EventPublisher = { publish: async () => undefined, publishAnomaly: async () => undefined };
