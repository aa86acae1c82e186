import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { AnomalyEvent } from '#core/alert-model.ts';
import type { ChangeEvent } from '#core/model.ts';
import type { EventPublisher } from '#core/ports/event-publisher.ts';
import { rethrowTransient } from './aws-errors.ts';

/** PutEvents takes at most 10 entries per call, and at most 256 KB of entries. */
const PUT_EVENTS_LIMIT = 10;
export const PUT_EVENTS_MAX_BYTES = 256 * 1024;
export const CHANGE_EVENT_SOURCE = 'crm-backup.records';
export const CHANGE_EVENT_DETAIL_TYPE = 'CRM Record Changed';
export const ANOMALY_EVENT_SOURCE = 'crm-backup.anomaly';
export const ANOMALY_EVENT_DETAIL_TYPE = 'Backup Anomaly Detected';

/**
 * Publishes change events to an EventBridge bus, where a workflow engine can match
 * `detail.source = "RESTORE"` to re-enrol restored records.
 */
export class EventBridgeEventPublisher implements EventPublisher {
  private readonly client: EventBridgeClient;
  private readonly busName: string;

  constructor(client: EventBridgeClient, busName: string) {
    this.client = client;
    this.busName = busName;
  }

  async publish(events: ChangeEvent[]): Promise<void> {
    await this.put(events.map((event) => ({
      EventBusName: this.busName,
      Source: CHANGE_EVENT_SOURCE,
      DetailType: CHANGE_EVENT_DETAIL_TYPE,
      Time: new Date(event.occurredAt),
      Detail: JSON.stringify(event),
    })));
  }

  async publishAnomaly(event: AnomalyEvent): Promise<void> {
    await this.put([{ EventBusName: this.busName, Source: ANOMALY_EVENT_SOURCE, DetailType: ANOMALY_EVENT_DETAIL_TYPE, Time: new Date(event.detectedAt), Detail: JSON.stringify(event) }]);
  }

  /** The calls at once: a batch of 25 change events is three calls, one round trip. */
  private async put(entries: Array<Entry & { EventBusName: string; Time: Date }>): Promise<void> {
    await Promise.all(putEventsBatches(entries).map((batch) => this.putBatch(batch)));
  }

  private async putBatch(batch: Array<Entry & { EventBusName: string; Time: Date }>): Promise<void> {
    let pending = batch;
    for (let attempt = 0; pending.length > 0; attempt += 1) {
      try {
        const result = await this.client.send(new PutEventsCommand({ Entries: pending }));
        if (!result.FailedEntryCount) break;
        // Resend only the entries that failed (throttling); give up after a few rounds.
        pending = pending.filter((_, index) => result.Entries?.[index]?.ErrorCode);
        if (attempt >= 4) throw Object.assign(new Error(`EventBridge refused ${pending.length} events`), { name: 'ThrottlingException' });
        await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
      } catch (error) {
        rethrowTransient(error, 'The event bus');
      }
    }
  }
}

interface Entry {
  Source: string;
  DetailType: string;
  Detail: string;
}

/**
 * Entries grouped into PutEvents calls: at most 10 per call and at most 256 KB, sized as
 * EventBridge sizes them (Time 14 bytes, plus Source, DetailType and Detail as UTF-8).
 * Change events are bounded (core/change-events.ts), so one always fits on its own.
 */
export function putEventsBatches<T extends Entry>(entries: T[]): T[][] {
  const batches: T[][] = [];
  let batch: T[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = 14 + Buffer.byteLength(entry.Source) + Buffer.byteLength(entry.DetailType) + Buffer.byteLength(entry.Detail);
    if (batch.length > 0 && (batch.length === PUT_EVENTS_LIMIT || bytes + size > PUT_EVENTS_MAX_BYTES)) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(entry);
    bytes += size;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}
