import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChangeEvent } from '#core/model.ts';
import type { AppDeps } from '#runtime/deps.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';
import { ACKNOWLEDGE, ACME_SSO_ADMIN, allRecords, movableClock } from './support.ts';

/**
 * Exactly one change event per changed record, however the apply step dies. A Lambda
 * killed by a timeout, its memory or its host stops at once: nothing it started runs on,
 * and Step Functions sees `Lambda.Unknown` and runs the step again, which resumes from
 * the saved progress. Here the kill is injected at each point of one record's life in
 * the apply step (before its write, between its write and its change event, after its
 * event and before the progress), at the first and at a later record, through the
 * whole local runtime: the same handlers, the same state machine, dynalite and s3rver.
 */

type KillPoint = 'before the record write' | 'between the record write and its event' | 'after the event write';

/** The kill in force: which write (a restore's, or a person's edit) it waits for, and whether the invocation is dead. */
const kill: { point?: KillPoint; of: 'restore' | 'edit'; atWrite: number; writes: number; target?: string; dead: boolean; fired: number } = {
  of: 'restore',
  atWrite: 0,
  writes: 0,
  dead: false,
  fired: 0,
};

/** What a killed invocation's calls see: Step Functions reports a killed Lambda as `Lambda.Unknown`. */
function killed(): Error {
  const error = new Error('The Lambda was killed (injected)');
  error.name = 'Lambda.Unknown';
  return error;
}

/** Kills the invocation in progress, once per scenario (the retry must live to resume). */
function die(): never {
  kill.point = undefined;
  kill.dead = true;
  kill.fired += 1;
  throw killed();
}

/** Every method of `port` fails once the invocation is dead, before and after reaching the real adapter. */
function mortal<T extends object>(port: T, overrides: Partial<Record<keyof T, (...args: any[]) => Promise<unknown>>> = {}): T {
  return new Proxy(port, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      const call = (overrides as Record<string | symbol, (...args: unknown[]) => Promise<unknown>>)[property] ?? ((...args: unknown[]) => value.apply(target, args));
      return (...args: unknown[]) => {
        if (kill.dead) return Promise.reject(killed());
        let result: unknown;
        try {
          result = call(...args);
        } catch (error) {
          return Promise.reject(error);
        }
        // An async iterable (blobs.listKeys, read by an undo's planning) is the caller's to read.
        if (!(result instanceof Promise)) return result;
        return result.then((value) => {
          if (kill.dead) throw killed();
          return value;
        });
      };
    },
  });
}

function withKills(deps: AppDeps): AppDeps {
  const records = deps.records;
  const killableRecords = mortal(records, {
    updateRecord: async (...args: Parameters<typeof records.updateRecord>) => {
      const counted = Boolean(args[4]?.stamp?.restoreId) === (kill.of === 'restore');
      const write = counted ? ++kill.writes : 0;
      const point = kill.point;
      const targeted = point !== undefined && write === kill.atWrite;
      if (targeted) kill.target = args[2];
      if (targeted && point === 'before the record write') die();
      const outcome = await records.updateRecord(...args);
      if (targeted && point === 'between the record write and its event') die();
      return outcome;
    },
    appendChangeEvents: async (events: ChangeEvent[]) => {
      await records.appendChangeEvents(events);
      if (kill.point === 'after the event write' && events.some((event) => event.recordId === kill.target)) die();
    },
  });
  return {
    ...deps,
    records: killableRecords,
    restores: mortal(deps.restores),
    lock: mortal(deps.lock),
    blobs: mortal(deps.blobs),
    events: mortal(deps.events),
    // One segment, applied in rounds of 5 that overlap (one writing while the one before
    // saves its progress): the kill lands among writes in flight and rounds unsaved.
    config: { ...deps.config, restoreTuning: { segmentRecords: 1000, batchRecords: 1000, roundRecords: 5 } },
  };
}

const clock = movableClock();

describe('exactly one change event per changed record when the apply step is killed', () => {
  let runtime: TestRuntime;
  let backupId: string;
  let backedUp: Map<string, string>;
  let ids: string[];
  let scenario = 0;

  beforeAll(async () => {
    runtime = await startTestRuntime({
      clock,
      wrapDeps: withKills,
      // The killed invocation has ended: the next one (Step Functions' retry) lives.
      onInvoke: (name) => {
        if (name === 'apply-restore-batch' || name === 'data-plane-api') kill.dead = false;
      },
    });
    const requested = await runtime.api('POST', '/v1/backups', { as: ACME_SSO_ADMIN });
    expect(requested.status).toBe(202);
    backupId = requested.body.id;
    await runtime.idle();
    backedUp = new Map([...(await allRecords(runtime, 'acme', 'tasks'))].map(([id, record]) => [id, record.properties.hs_task_status!]));
    ids = [...backedUp.keys()].sort();
  });
  afterAll(async () => {
    await runtime?.destroy();
  });

  /** Edits `count` tasks' status, plans restoring it, runs the restore with `point` armed at the `atWrite`-th write. */
  async function restoreKilled(point: KillPoint, atWrite: number, count = 12) {
    scenario += 1;
    const changed = ids.slice(0, count);
    const edited = new Map(changed.map((id) => [id, `edited in scenario ${scenario}`]));
    for (const [id, value] of edited) {
      const response = await runtime.api('PATCH', `/v1/objects/tasks/records/${id}`, { as: ACME_SSO_ADMIN, body: { properties: { hs_task_status: value } } });
      expect(response.status).toBe(200);
    }
    const planned = await runtime.api('POST', `/v1/backups/${backupId}/restore-plans`, { as: ACME_SSO_ADMIN, body: { objectType: 'tasks', properties: ['hs_task_status'] } });
    expect(planned.status, JSON.stringify(planned.body)).toBe(201);
    expect(planned.body.recordsToChange).toBe(count);
    return { restore: await runKilled(planned.body.id, point, atWrite), changed, edited };
  }

  /** Runs the restore of `planId` (a restore, or an undo) with `point` armed at its `atWrite`-th write, or unharmed. */
  async function runKilled(planId: string, point: KillPoint | undefined, atWrite: number) {
    Object.assign(kill, { point, of: 'restore', atWrite, writes: 0, target: undefined, dead: false });
    const firedBefore = kill.fired;
    let restore;
    try {
      const started = await runtime.api('POST', '/v1/restores', { as: ACME_SSO_ADMIN, body: { planId, acknowledge: ACKNOWLEDGE } });
      expect(started.status, JSON.stringify(started.body)).toBe(202);
      await runtime.idle();
      restore = (await runtime.api('GET', `/v1/restores/${started.body.id}`, { as: ACME_SSO_ADMIN })).body;
    } finally {
      kill.point = undefined;
      kill.dead = false;
    }
    expect(kill.fired - firedBefore, point ? 'the kill fired once' : 'no kill').toBe(point ? 1 : 0);
    return restore;
  }

  /** This restore's change events, from the account's feed (all 16 index partitions) and from each record's own list. */
  async function eventsOf(restoreId: string): Promise<{ feed: ChangeEvent[]; perRecord: Map<string, ChangeEvent[]> }> {
    const feed: ChangeEvent[] = [];
    let cursor: string | undefined;
    do {
      const page = await runtime.deps.records.listChangeEvents('acme', { limit: 100, cursor });
      feed.push(...page.items.filter((event) => event.restoreId === restoreId));
      cursor = page.nextCursor;
    } while (cursor);
    const perRecord = new Map<string, ChangeEvent[]>();
    for (const id of ids) {
      const events = (await runtime.deps.records.listChangeEvents('acme', { recordId: id, limit: 100 })).items.filter((event) => event.restoreId === restoreId);
      if (events.length) perRecord.set(id, events);
    }
    return { feed, perRecord };
  }

  const points: KillPoint[] = ['before the record write', 'between the record write and its event', 'after the event write'];
  describe.each(points)('killed %s', (point) => {
    it.each([1, 7])('at the restore\'s write number %i: resumed, every changed record has exactly one event, unchanged ones none, counts exact', async (atWrite) => {
      const { restore, changed, edited } = await restoreKilled(point, atWrite);
      expect(restore, JSON.stringify(restore)).toMatchObject({ status: 'SUCCEEDED', counts: { updated: 12, unchanged: 28, missing: 0, failed: 0 }, progress: { done: 40, total: 40 } });

      const today = await allRecords(runtime, 'acme', 'tasks');
      for (const [id, status] of backedUp) expect(today.get(id)!.properties.hs_task_status, id).toBe(status);

      const { feed, perRecord } = await eventsOf(restore.id);
      expect([...perRecord.keys()].sort()).toEqual(changed);
      for (const id of changed) {
        const events = perRecord.get(id)!;
        expect(events, id).toHaveLength(1);
        // The event says exactly what changed, for the record the kill hit too.
        expect(events[0], id).toMatchObject({ source: 'RESTORE', kind: 'UPDATED', changes: [{ property: 'hs_task_status', from: edited.get(id), to: backedUp.get(id) }] });
      }
      expect(feed.map((event) => event.recordId).sort()).toEqual(changed);
      expect(new Set(feed.map((event) => event.id)).size).toBe(12);
    });
  });
  // An undo is a restore too: its writes carry its own stamp, and a retry rebuilds their events from it.
  it.each(points)('an undo killed %s at its write number 7: resumed, every record set back has exactly one event of the undo, counts exact', async (point) => {
    const { restore, changed, edited } = await restoreKilled(point, 1);
    const planned = await runtime.api('POST', `/v1/restores/${restore.id}/undo-plan`, { as: ACME_SSO_ADMIN });
    expect(planned.status, JSON.stringify(planned.body)).toBe(201);
    const undo = await runKilled(planned.body.id, point, 7);
    expect(undo, JSON.stringify(undo)).toMatchObject({ status: 'SUCCEEDED', counts: { updated: 12, missing: 0, failed: 0, conflicting: 0 } });

    const today = await allRecords(runtime, 'acme', 'tasks');
    for (const id of changed) expect(today.get(id)!.properties.hs_task_status, id).toBe(edited.get(id));
    const { feed, perRecord } = await eventsOf(undo.id);
    expect([...perRecord.keys()].sort()).toEqual(changed);
    for (const id of changed) {
      const events = perRecord.get(id)!;
      expect(events, id).toHaveLength(1);
      expect(events[0], id).toMatchObject({ source: 'RESTORE', kind: 'UPDATED', undoOf: restore.id, changes: [{ property: 'hs_task_status', from: backedUp.get(id), to: edited.get(id) }] });
    }
    expect(new Set(feed.map((event) => event.id)).size).toBe(12);

    // Set the tasks back as backed up, through the API, for the scenarios after this one.
    for (const id of changed) {
      const response = await runtime.api('PATCH', `/v1/objects/tasks/records/${id}`, { as: ACME_SSO_ADMIN, body: { properties: { hs_task_status: backedUp.get(id) } } });
      expect(response.status).toBe(200);
    }
  });

  describe.each(points.filter((point) => point !== 'before the record write'))('a person\'s edit (PATCH) killed %s', (point) => {
    it('is retried by its client: the edit has exactly one USER event, with what it changed', async () => {
      const id = ids.at(-1)!;
      const before = (await allRecords(runtime, 'acme', 'tasks')).get(id)!.properties.hs_task_status;
      const value = `edit killed ${point}`;
      Object.assign(kill, { point, of: 'edit', atWrite: 1, writes: 0, target: undefined, dead: false });
      const firedBefore = kill.fired;
      const edit = () => runtime.api('PATCH', `/v1/objects/tasks/records/${id}`, { as: ACME_SSO_ADMIN, body: { properties: { hs_task_status: value } } });
      try {
        expect((await edit()).status).toBe(500);
      } finally {
        kill.point = undefined;
        kill.dead = false;
      }
      expect(kill.fired - firedBefore, 'the kill fired once').toBe(1);
      // The client does not know whether the edit happened, and sends it again.
      expect((await edit()).status).toBe(200);
      expect((await edit()).status).toBe(200);
      const events = (await runtime.deps.records.listChangeEvents('acme', { recordId: id, limit: 100 })).items.filter((event) => event.source === 'USER' && event.changes.some((change) => change.to === value));
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ actor: ACME_SSO_ADMIN, kind: 'UPDATED', changes: [{ property: 'hs_task_status', from: before, to: value }] });
    });
  });
});
