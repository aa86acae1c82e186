import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { ChangeEvent } from '#core/model.ts';
import type { EventPublisher } from '#core/ports/event-publisher.ts';
import { rethrowTransient } from './aws-errors.ts';

/** PutEvents takes at most 10 entries per call. */
const PUT_EVENTS_LIMIT = 10;
export const CHANGE_EVENT_SOURCE = 'crm-backup.records';
export const CHANGE_EVENT_DETAIL_TYPE = 'CRM Record Changed';

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
    for (let start = 0; start < events.length; start += PUT_EVENTS_LIMIT) {
      let entries = events.slice(start, start + PUT_EVENTS_LIMIT).map((event) => ({
        EventBusName: this.busName,
        Source: CHANGE_EVENT_SOURCE,
        DetailType: CHANGE_EVENT_DETAIL_TYPE,
        Time: new Date(event.occurredAt),
        Detail: JSON.stringify(event),
      }));
      for (let attempt = 0; entries.length > 0; attempt += 1) {
        try {
          const result = await this.client.send(new PutEventsCommand({ Entries: entries }));
          if (!result.FailedEntryCount) break;
          // Resend only the entries that failed (throttling); give up after a few rounds.
          entries = entries.filter((_, index) => result.Entries?.[index]?.ErrorCode);
          if (attempt >= 4) throw Object.assign(new Error(`EventBridge refused ${entries.length} change events`), { name: 'ThrottlingException' });
          await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
        } catch (error) {
          rethrowTransient(error, 'The event bus');
        }
      }
    }
  }
}
