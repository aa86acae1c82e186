import { SourceReconnectRequiredError, SourceScopesMissingError, ValidationError } from '#core/errors.ts';
import type { Clock } from '#core/ports/clock.ts';
import type { SourceInspection, SourceInspector } from '#core/ports/source-connections.ts';
import { HubSpotApi, HubSpotRequestError } from './hubspot-api.ts';
import { CONVERSATIONS, STANDARD_TYPES, type HubSpotTypeRef } from './hubspot-object-types.ts';
import { RequestBudget, type BudgetState, type BudgetStore, type PortalLimits } from './request-budget.ts';

/**
 * The budget a portal is paced by until HubSpot's headers say more: Free and Starter's
 * 100 requests per 10 s, the lowest tier's, so that a portal is never overrun before
 * its first answer.
 */
export const FIRST_LIMITS: PortalLimits = { perWindow: 100, windowMs: 10_000 };

export interface HubSpotInspectorOptions {
  baseUrl: string;
  clock: Clock;
  sleep: (ms: number) => Promise<void>;
}

/**
 * Checks a HubSpot token live before it is stored: which portal it opens (account info,
 * which needs `oauth`), and, per object type, whether it may read records, read
 * sensitive values and write (an empty batch update: HubSpot checks scopes before
 * input). About fifteen requests, paced on a budget of their own: the portal's is not
 * known until the first answer names it.
 */
export class HubSpotInspector implements SourceInspector {
  private readonly options: HubSpotInspectorOptions;

  constructor(options: HubSpotInspectorOptions) {
    this.options = options;
  }

  async inspect(_type: string, accessToken: string): Promise<SourceInspection> {
    const api = new HubSpotApi({
      accessToken,
      baseUrl: this.options.baseUrl,
      sleep: this.options.sleep,
      budget: new RequestBudget({ portalId: 0, timeZone: 'UTC', limits: FIRST_LIMITS, store: new OneProcessBudgetStore(), clock: this.options.clock, sleep: this.options.sleep }),
    });
    let details: { portalId: number; timeZone: string };
    try {
      details = await api.request<{ portalId: number; timeZone: string }>({ path: '/account-info/v3/details' });
    } catch (error) {
      if (error instanceof SourceReconnectRequiredError) throw new ValidationError('accessToken: HubSpot does not accept this token (revoked, expired or mistyped); copy the private app\'s current access token.', { field: 'accessToken' });
      if (error instanceof SourceScopesMissingError) throw new ValidationError('accessToken: the token lacks the "oauth" scope, which tells crm-backup which portal it opens; add it to the private app and copy the token again.', { field: 'accessToken', missingScopes: ['oauth'] });
      throw error;
    }
    const scopes: string[] = ['oauth'];
    const missingScopes: string[] = [];
    const probe = async (scope: string, call: () => Promise<unknown>) => {
      try {
        await call();
        scopes.push(scope);
      } catch (error) {
        // HubSpot names the scopes the call lacked: another one (the type's read scope, already
        // reported) says nothing of this one.
        if (error instanceof SourceScopesMissingError) {
          if (error.details.missingScopes.length === 0 || error.details.missingScopes.includes(scope)) missingScopes.push(scope);
        }
        else if (error instanceof HubSpotRequestError) scopes.push(scope); // refused for another reason: the scope was granted
        else throw error;
      }
    };
    const types: HubSpotTypeRef[] = [...STANDARD_TYPES];
    // Calls and tasks share the contacts scopes: probe each scope once.
    const probed = new Set<string>();
    for (const type of types) {
      if (!probed.has(type.scopes.read)) {
        probed.add(type.scopes.read);
        await probe(type.scopes.read, () => api.request({ path: `/crm/v3/objects/${type.pathType}`, qs: { limit: 1 } }));
      }
      if (!probed.has(type.scopes.write)) {
        probed.add(type.scopes.write);
        await probe(type.scopes.write, () => api.request({ method: 'POST', path: `/crm/v3/objects/${type.pathType}/batch/update`, body: { inputs: [] } }));
      }
      if (type.scopes.sensitiveRead && !probed.has(type.scopes.sensitiveRead)) {
        probed.add(type.scopes.sensitiveRead);
        // A sensitive value is what needs the scope: read one, if the type defines any.
        await probe(type.scopes.sensitiveRead, async () => {
          const sensitive = await api.request<{ results: Array<{ name: string }> }>({ path: `/crm/v3/properties/${type.pathType}`, qs: { dataSensitivity: 'sensitive' } });
          const name = sensitive.results[0]?.name;
          if (name) await api.request({ path: `/crm/v3/objects/${type.pathType}`, qs: { limit: 1, properties: name } });
        });
      }
    }
    await probe('crm.schemas.custom.read', () => api.request({ path: '/crm-object-schemas/v3/schemas' }));
    await probe(CONVERSATIONS.scopes.read, () => api.request({ path: '/conversations/v3/conversations/threads', qs: { limit: 1 } }));
    return { portalId: details.portalId, timeZone: details.timeZone, limits: FIRST_LIMITS, scopes, missingScopes };
  }
}

/** A budget kept in this process only: for the inspection's few requests, before the portal is known. */
export class OneProcessBudgetStore implements BudgetStore {
  private state: BudgetState | undefined;

  async read(): Promise<BudgetState | undefined> {
    return this.state;
  }

  async write(_portalId: number, state: BudgetState, fromVersion: number | undefined): Promise<boolean> {
    if ((this.state?.version ?? undefined) !== fromVersion) return false;
    this.state = state;
    return true;
  }
}
