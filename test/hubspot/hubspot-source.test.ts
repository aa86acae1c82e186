import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SourceLimitReachedError, SourceReconnectRequiredError, SourceScopesMissingError } from '#core/errors.ts';
import type { CrmRecord } from '#core/model.ts';
import { HubSpotApi } from '#adapters/hubspot/hubspot-api.ts';
import { OneProcessBudgetStore } from '#adapters/hubspot/hubspot-inspector.ts';
import { HubSpotSource } from '#adapters/hubspot/hubspot-source.ts';
import { RequestBudget, type BudgetStore, type PortalLimits } from '#adapters/hubspot/request-budget.ts';
import { PROFESSIONAL_LIMITS } from '../../local/hubspot/demo-portal.ts';
import { startHubSpotStandIn, type StandInUnderTest } from '../support/hubspot-stand-in.ts';

/**
 * The HubSpot adapter against the stand-in, on the official client: shared budget under
 * a 429 storm, the daily limit, refused tokens, 207s, and URLs too long for every
 * property. Time is the stand-in's movable clock: a back-off takes no wall time.
 */

let hub: StandInUnderTest;
beforeAll(async () => {
  hub = await startHubSpotStandIn({ recordsPerType: 250 });
});
afterAll(() => hub.stop());
afterEach(() => {
  hub.standIn.setRateLimits(hub.portalId, PROFESSIONAL_LIMITS);
  hub.standIn.clearFailures();
  hub.standIn.resetStats(hub.portalId);
});

/** One "Lambda": a source on the shared budget store, with waits that move the clock. */
function sourceOn(store: BudgetStore, options: { accessToken?: string; maxListUrlBytes?: number; limits?: PortalLimits } = {}): HubSpotSource {
  const sleep = async (ms: number) => hub.clock.advance(ms);
  const limits = options.limits ?? { perWindow: 190, windowMs: 10_000 };
  const budget = new RequestBudget({ portalId: hub.portalId, timeZone: 'US/Eastern', limits, store, clock: hub.clock, sleep });
  const api = new HubSpotApi({ accessToken: options.accessToken ?? hub.accessToken, baseUrl: hub.baseUrl, budget, sleep });
  return new HubSpotSource({ api, portalId: hub.portalId, baseUrl: hub.baseUrl, limits, ...(options.maxListUrlBytes ? { maxListUrlBytes: options.maxListUrlBytes } : {}) });
}

async function readAll(source: HubSpotSource, objectType: string): Promise<CrmRecord[]> {
  const type = (await source.getObjectType(objectType))!;
  const names = type.properties.map((property) => property.name);
  const records: CrmRecord[] = [];
  let resumeAfter: string | undefined;
  do {
    const page = await source.readPage(objectType, names, { stream: 0, resumeAfter });
    records.push(...page.records);
    resumeAfter = page.resumeAfter;
  } while (resumeAfter);
  return records;
}

const liveCount = (objectTypeId: string) => hub.standIn.store.countRecords(hub.portalId, objectTypeId);

describe('the HubSpot source', () => {
  it('finishes under a 429 storm (10 requests per 10 s), two steps sharing the portal\'s budget, without failing a request', async () => {
    hub.standIn.setRateLimits(hub.portalId, { perWindow: 10, windowMs: 10_000 });
    hub.standIn.resetStats(hub.portalId);
    // Another integration of the portal has just spent the whole window.
    for (let i = 0; i < 10; i += 1) expect((await hub.fetch('/crm/v3/objects/contacts?limit=1')).status).toBe(200);
    hub.standIn.resetStats(hub.portalId);
    const shared = new OneProcessBudgetStore();
    const started = hub.clock.now().getTime();
    const [contacts, companies] = await Promise.all([readAll(sourceOn(shared), 'contacts'), readAll(sourceOn(shared), 'companies')]);
    expect(contacts).toHaveLength(liveCount('0-1'));
    expect(companies).toHaveLength(liveCount('0-2'));
    const stats = hub.standIn.statsFor(hub.portalId);
    // 429s while the window is spent and while the budget learns it from the answers' headers, backed off and sent again.
    expect(stats.rateLimited.TEN_SECONDLY_ROLLING).toBeGreaterThan(0);
    expect(stats.rateLimited.TEN_SECONDLY_ROLLING).toBeLessThanOrEqual(12);
    expect(stats.byStatus[200]).toBeGreaterThan(10);
    expect(Object.keys(stats.byStatus).filter((status) => Number(status) >= 400 && Number(status) !== 429)).toEqual([]);
    // Paced: the requests that succeeded took at least their windows.
    expect(hub.clock.now().getTime() - started).toBeGreaterThanOrEqual(((stats.byStatus[200]! - 10) / 10) * 10_000 * 0.9);
  });

  it('stops at the daily limit with a sentence that says when it resets, and asks HubSpot nothing more that day', async () => {
    hub.standIn.setRateLimits(hub.portalId, { daily: 3 });
    const source = sourceOn(new OneProcessBudgetStore());
    const error = await readAll(source, 'contacts').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SourceLimitReachedError);
    expect((error as Error).message).toMatch(/daily API limit for portal \d+ is used up .* resets at midnight US\/Eastern/);
    const asked = hub.standIn.statsFor(hub.portalId).requests;
    await expect(readAll(source, 'companies')).rejects.toBeInstanceOf(SourceLimitReachedError);
    expect(hub.standIn.statsFor(hub.portalId).requests).toBe(asked);
  });

  it('asks to reconnect HubSpot when the token is revoked or expired, and names missing scopes', async () => {
    const revoked = hub.standIn.issueToken(hub.portalId);
    hub.standIn.revokeToken(revoked);
    const refused = await readAll(sourceOn(new OneProcessBudgetStore(), { accessToken: revoked }), 'contacts').catch((caught: unknown) => caught);
    expect(refused).toBeInstanceOf(SourceReconnectRequiredError);
    expect((refused as Error).message).toContain('reconnect HubSpot');
    const expired = hub.standIn.issueToken(hub.portalId);
    hub.standIn.expireToken(expired);
    expect(((await readAll(sourceOn(new OneProcessBudgetStore(), { accessToken: expired }), 'deals').catch((caught: unknown) => caught)) as Error).message).toContain('expired');
    const narrow = hub.standIn.issueToken(hub.portalId, { scopes: ['crm.objects.deals.read'] });
    const scopes = await readAll(sourceOn(new OneProcessBudgetStore(), { accessToken: narrow }), 'tickets').catch((caught: unknown) => caught);
    expect(scopes).toBeInstanceOf(SourceScopesMissingError);
    expect((scopes as SourceScopesMissingError).details.missingScopes).toContain('tickets');
  });

  it('reads properties that do not fit in a list URL with a batch read, giving the same records', async () => {
    const whole = await readAll(sourceOn(new OneProcessBudgetStore()), 'contacts');
    const split = await readAll(sourceOn(new OneProcessBudgetStore(), { maxListUrlBytes: 200 }), 'contacts');
    expect(split).toEqual(whole);
  });

  it('takes as many restore segments at once as keep the portal\'s budget busy', () => {
    const store = new OneProcessBudgetStore();
    // Professional, 190 per 10 s: 18 requests/s at ~300 ms each, 2 in flight per apply invocation.
    expect(sourceOn(store).applyConcurrency).toBe(3);
    expect(sourceOn(store, { limits: { perWindow: 100, windowMs: 10_000 } }).applyConcurrency).toBe(2); // Starter
  });

  it('writes only records that differ, in batch updates, and reports each: updated, unchanged, missing, or failed with HubSpot\'s reason', async () => {
    const source = sourceOn(new OneProcessBudgetStore());
    const [a, b, c, d] = (await readAll(source, 'deals')).slice(0, 4);
    hub.standIn.failRecords(hub.portalId, '0-3', [c!.id], { operation: 'update', category: 'VALIDATION_ERROR', message: 'Property values were not valid' });
    const applied = await source.applyChanges({
      objectType: 'deals',
      restoreId: 'rs_1',
      batchId: '0:0',
      actor: 'admin@initech.example',
      records: [
        { id: a!.id, values: { dealname: 'Restored name', description: '' } },
        { id: b!.id, values: { dealname: b!.properties.dealname ?? '' } },
        { id: c!.id, values: { dealname: 'Refused' } },
        { id: '999999999', values: { dealname: 'Gone' } },
        { id: d!.id, values: { dealname: 'Also restored' } },
      ],
    });
    expect(applied).toEqual([
      { id: a!.id, outcome: 'updated', changes: expect.arrayContaining([{ property: 'dealname', from: a!.properties.dealname ?? '', to: 'Restored name' }]) },
      { id: b!.id, outcome: 'unchanged' },
      { id: c!.id, outcome: 'failed', reason: expect.stringContaining('Property values were not valid') },
      { id: '999999999', outcome: 'missing' },
      { id: d!.id, outcome: 'updated', changes: [{ property: 'dealname', from: d!.properties.dealname ?? '', to: 'Also restored' }] },
    ]);
    const stored = hub.standIn.record(hub.portalId, '0-3', a!.id)!;
    expect(stored.values.dealname).toBe('Restored name');
    expect(stored.values.description).toBeUndefined(); // "" cleared it
    expect(hub.standIn.record(hub.portalId, '0-3', c!.id)!.values.dealname).toBe(c!.properties.dealname);
  });
});
