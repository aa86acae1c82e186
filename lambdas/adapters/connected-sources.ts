import type { Clock } from '#core/ports/clock.ts';
import type { DataSource, DataSources } from '#core/ports/data-source.ts';
import { sourceCipherContext, type SourceConnection, type SourceConnections } from '#core/ports/source-connections.ts';
import type { SecretCipher } from '#core/ports/totp-secrets.ts';
import { BuiltInSource, type BuiltInSourceDeps } from '#core/sources/built-in-source.ts';
import { HubSpotApi } from './hubspot/hubspot-api.ts';
import { HubSpotSource } from './hubspot/hubspot-source.ts';
import { RequestBudget, type BudgetStore } from './hubspot/request-budget.ts';

export interface ConnectedSourcesDeps {
  connections: SourceConnections;
  secrets: SecretCipher;
  builtIn: BuiltInSourceDeps;
  /** Each HubSpot portal's shared request budget. */
  budgets: BudgetStore;
  /** HubSpot's API (the stand-in's locally). */
  hubspotApiUrl: string;
  clock: Clock;
  sleep: (ms: number) => Promise<void>;
}

/**
 * Each account's one data source: the CRM it connected (its stored connection), or
 * the built-in CRM. The only place that knows which adapters exist. Each call reads
 * the connection and decrypts its token afresh (a step asks once or a few times per
 * invocation): a reconnected or disconnected portal is seen by the next step, and the
 * plain token lives only as long as the step that uses it.
 */
export class ConnectedSources implements DataSources {
  private readonly deps: ConnectedSourcesDeps;

  constructor(deps: ConnectedSourcesDeps) {
    this.deps = deps;
  }

  async forAccount(accountId: string): Promise<DataSource> {
    const connection = await this.deps.connections.get(accountId);
    if (!connection) return new BuiltInSource(accountId, this.deps.builtIn);
    return this.connect(connection);
  }

  private async connect(connection: SourceConnection): Promise<DataSource> {
    const { secrets, budgets, hubspotApiUrl, clock, sleep } = this.deps;
    const accessToken = await secrets.decrypt(connection.encryptedToken, sourceCipherContext(connection.accountId));
    const budget = new RequestBudget({ portalId: connection.portalId, timeZone: connection.timeZone, limits: connection.limits, store: budgets, clock, sleep });
    return new HubSpotSource({ api: new HubSpotApi({ accessToken, baseUrl: hubspotApiUrl, budget, sleep }), portalId: connection.portalId, baseUrl: hubspotApiUrl, limits: connection.limits });
  }
}
