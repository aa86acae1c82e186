import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { describe, expect, it } from 'vitest';
import { EventBridgeEventPublisher, PUT_EVENTS_MAX_BYTES } from '#adapters/eventbridge-event-publisher.ts';
import { CHANGE_EVENT_VALUE_BYTES, storableChanges } from '#core/change-events.ts';
import type { ChangeEvent } from '#core/model.ts';

/**
 * EventBridge's PutEvents limits, enforced the way the service does (no stand-in of
 * EventBridge runs locally): at most 10 entries and 256 KB per call, else the whole
 * call is refused.
 */
function limitedEventBridge() {
  const calls: Array<{ entries: number; bytes: number }> = [];
  const published: string[] = [];
  const client = new EventBridgeClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  (client as unknown as { send: (command: PutEventsCommand) => Promise<unknown> }).send = async (command) => {
    const entries = command.input.Entries ?? [];
    const bytes = entries.reduce((sum, entry) => sum + 14 + Buffer.byteLength(entry.Source!) + Buffer.byteLength(entry.DetailType!) + Buffer.byteLength(entry.Detail!), 0);
    calls.push({ entries: entries.length, bytes });
    if (entries.length > 10 || bytes > PUT_EVENTS_MAX_BYTES) throw Object.assign(new Error('Total size of the entries in the request is over the limit.'), { name: 'ValidationException' });
    published.push(...entries.map((entry) => JSON.parse(entry.Detail!).id as string));
    return { FailedEntryCount: 0, Entries: entries.map(() => ({ EventId: 'e' })) };
  };
  return { client, calls, published };
}

function event(id: string, changes: ChangeEvent['changes']): ChangeEvent {
  return { id, accountId: 'acme', objectType: 'p_big', recordId: id, source: 'RESTORE', restoreId: 'rs_x', actor: 'a@acme.example', kind: 'UPDATED', changes, occurredAt: new Date().toISOString() };
}

describe('change events within storage and bus limits', () => {
  it('shortens the values of an event with 720 KB of before and after, marking them, and keeps small events whole', () => {
    const big = Array.from({ length: 6 }, (_, index) => ({ property: `p${index}`, from: '\u0000"\n😀'.repeat(15_000), to: 'y'.repeat(60_000) }));
    const bounded = storableChanges(big);
    // Every property kept (the checks below hold for any list, even an empty one).
    expect(bounded.map((change) => change.property)).toEqual(big.map((change) => change.property));
    expect(Buffer.byteLength(JSON.stringify(bounded))).toBeLessThan(CHANGE_EVENT_VALUE_BYTES + 1024);
    expect(bounded.every((change, index) => change.truncated && big[index]!.from.startsWith(change.from) && big[index]!.to.startsWith(change.to))).toBe(true);
    // Never half a surrogate pair.
    expect(bounded.every((change) => !/[\ud800-\udbff]$/.test(change.from))).toBe(true);
    const small = [{ property: 'dealname', from: 'a', to: 'b' }];
    expect(storableChanges(small)).toBe(small);
  });

  it('publishes every change event, big or small, in PutEvents calls EventBridge accepts', async () => {
    const { client, calls, published } = limitedEventBridge();
    const publisher = new EventBridgeEventPublisher(client, 'bus');
    const bigChanges = storableChanges(Array.from({ length: 6 }, (_, index) => ({ property: `p${index}`, from: 'x'.repeat(60_000), to: 'y'.repeat(60_000) })));
    const mediumChanges = [{ property: 'notes', from: 'm'.repeat(30_000), to: 'n'.repeat(30_000) }];
    const events = [
      ...Array.from({ length: 5 }, (_, index) => event(`big-${index}`, bigChanges)),
      ...Array.from({ length: 12 }, (_, index) => event(`medium-${index}`, mediumChanges)),
      ...Array.from({ length: 23 }, (_, index) => event(`small-${index}`, [{ property: 'dealname', from: 'a', to: 'b' }])),
    ];
    await publisher.publish(events);
    expect(published).toEqual(events.map((candidate) => candidate.id));
    expect(calls.every((call) => call.entries <= 10 && call.bytes <= PUT_EVENTS_MAX_BYTES)).toBe(true);
  });
});
