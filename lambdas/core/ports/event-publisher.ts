import type { ChangeEvent } from '../model.ts';

/**
 * Publishes record change events for other systems (a workflow engine re-enrolling
 * records after a restore): EventBridge in AWS when a bus is configured, nothing
 * otherwise. The change events are always stored in the data plane as well.
 */
export interface EventPublisher {
  publish(events: ChangeEvent[]): Promise<void>;
}

/** For runtimes without a bus: the stored change events are the only record. */
export const noEventPublisher: EventPublisher = { publish: async () => undefined };
