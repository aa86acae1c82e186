import { randomUUID } from 'node:crypto';
import { appendFile, readFile } from 'node:fs/promises';
import { startJsonProtocolServer } from './json-protocol.ts';

/** An event as EventBridge received it (PutEvents entry). */
export interface BusEvent {
  EventBusName: string;
  Source: string;
  DetailType: string;
  Detail: string;
}

/**
 * The EventBridge stand-in for the record change bus: `PutEvents` through the real
 * EventBridgeClient, each entry appended to a JSON-lines file (`events()` reads them
 * back). Nothing subscribes locally: in AWS, workflow rules match on the bus.
 */
export async function startEventBus(file: string): Promise<{ endpoint: string; events(): Promise<BusEvent[]>; stop(): Promise<void> }> {
  const server = await startJsonProtocolServer('EventBridge', {
    PutEvents: async (body) => {
      const entries = (body.Entries ?? []) as BusEvent[];
      await appendFile(file, entries.map((entry) => `${JSON.stringify(entry)}\n`).join(''));
      return { FailedEntryCount: 0, Entries: entries.map(() => ({ EventId: randomUUID() })) };
    },
  });
  return {
    ...server,
    async events() {
      const text = await readFile(file, 'utf8').catch(() => '');
      return text
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as BusEvent);
    },
  };
}
