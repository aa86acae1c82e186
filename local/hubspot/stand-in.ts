import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { systemClock, type Clock } from '#core/ports/clock.ts';
import { errorReply, expiredAuthentication, invalidAuthentication, rateLimited, type HubSpotReply } from './errors.ts';
import type { HubSpotObjectType, HubSpotThread, PortalSettings, RateLimits, StoredRecord, TokenGrant } from './model.ts';
import { PortalApi, type InjectedFailure, type RequestContext } from './portal-api.ts';
import { PortalRateLimiter } from './rate-limits.ts';
import { allScopes } from './scopes.ts';
import { HubSpotStore } from './store.ts';

/** A LocalRoute of the local HTTP server (kept structural so this folder does not import the server). */
type Route = (request: IncomingMessage, response: ServerResponse, body: Buffer) => Promise<boolean>;

export interface HubSpotStandInOptions {
  /** Time for rate-limit windows, daily resets, token expiry and record dates (tests move it). */
  clock?: Clock;
  /**
   * Longest request target (path and query) answered before 414. HubSpot documents 414
   * for over-long URLs without a number; 8,192 bytes is the common default of HTTP
   * servers and proxies (nginx, Apache), below Node's 16 KB header limit.
   */
  maxUrlBytes?: number;
}

/** Counts of what the stand-in answered for a portal (benchmarks report failed requests from it). */
export interface PortalStats {
  requests: number;
  byStatus: Record<number, number>;
  rateLimited: { TEN_SECONDLY_ROLLING: number; DAILY: number };
}

/** The path prefix the stand-in answers under, on the local runtime's port. */
export const HUBSPOT_PATH_PREFIX = '/hubspot';

interface Endpoint {
  method: string;
  pattern: RegExp;
  handle(context: RequestContext, params: string[]): HubSpotReply;
}

/**
 * A HubSpot portal on this machine: the part of HubSpot's public API that a backup and
 * restore adapter on `@hubspot/api-client` calls, answering with HubSpot's JSON, status
 * codes, headers and limits (docs/hubspot-stand-in.md). State is kept in DATA_DIR.
 *
 * Tests and the local runtime drive it with the methods below: create portals and
 * object types, put records, issue, revoke and expire tokens, change limits, make
 * chosen records fail, and read what it answered.
 */
export class HubSpotStandIn {
  readonly store: HubSpotStore;
  private readonly clock: Clock;
  private readonly limiter: PortalRateLimiter;
  private readonly api: PortalApi;
  private readonly maxUrlBytes: number;
  private readonly stats = new Map<number, PortalStats>();
  private readonly endpoints: Endpoint[];
  private readonly serverErrors = new Map<number, InjectedServerError[]>();

  private constructor(store: HubSpotStore, options: HubSpotStandInOptions) {
    this.store = store;
    this.clock = options.clock ?? systemClock;
    this.maxUrlBytes = options.maxUrlBytes ?? 8192;
    this.limiter = new PortalRateLimiter(store, this.clock);
    this.api = new PortalApi(store, this.limiter);
    const api = this.api;
    const objects = '/crm/v3/objects/([^/]+)';
    this.endpoints = [
      { method: 'GET', pattern: new RegExp(`^${objects}$`), handle: (c, [type]) => api.listRecords(c, type!) },
      { method: 'POST', pattern: new RegExp(`^${objects}/batch/read$`), handle: (c, [type]) => api.batchRead(c, type!) },
      { method: 'POST', pattern: new RegExp(`^${objects}/batch/update$`), handle: (c, [type]) => api.batchUpdate(c, type!) },
      { method: 'GET', pattern: new RegExp(`^${objects}/([^/]+)$`), handle: (c, [type, id]) => api.getRecord(c, type!, id!) },
      { method: 'PATCH', pattern: new RegExp(`^${objects}/([^/]+)$`), handle: (c, [type, id]) => api.updateRecord(c, type!, id!) },
      { method: 'DELETE', pattern: new RegExp(`^${objects}/([^/]+)$`), handle: (c, [type, id]) => api.archiveRecord(c, type!, id!) },
      { method: 'GET', pattern: /^\/crm\/v3\/properties\/([^/]+)$/, handle: (c, [type]) => api.listProperties(c, type!) },
      // The client calls /crm-object-schemas/v3/schemas; HubSpot's docs say /crm/v3/schemas. Both answer.
      { method: 'GET', pattern: /^\/(?:crm-object-schemas|crm)\/v3\/schemas$/, handle: (c) => api.listSchemas(c) },
      { method: 'GET', pattern: /^\/(?:crm-object-schemas|crm)\/v3\/schemas\/([^/]+)$/, handle: (c, [type]) => api.getSchema(c, type!) },
      { method: 'GET', pattern: /^\/conversations\/v3\/conversations\/threads$/, handle: (c) => api.listThreads(c) },
      { method: 'GET', pattern: /^\/account-info\/v3\/details$/, handle: (c) => api.accountDetails(c) },
      { method: 'GET', pattern: /^\/account-info\/v3\/api-usage\/daily\/private-apps$/, handle: (c) => api.dailyApiUsage(c) },
    ];
  }

  /** Opens (or creates) the stand-in's state in `directory`. */
  static open(directory: string, options: HubSpotStandInOptions = {}): HubSpotStandIn {
    return new HubSpotStandIn(new HubSpotStore(join(directory, 'portals.sqlite')), options);
  }

  close(): void {
    this.store.close();
  }

  // Setting up portals --------------------------------------------------------------

  getPortal(portalId: number): PortalSettings | undefined {
    return this.store.getPortal(portalId);
  }

  /** Creates or replaces a portal's settings (its records stay). */
  putPortal(settings: PortalSettings): void {
    this.store.putPortal(settings);
  }

  /** Defines an object type of a portal (standard or custom), replacing one with the same id. */
  putObjectType(portalId: number, type: HubSpotObjectType): void {
    this.store.putObjectType(portalId, type);
  }

  objectTypes(portalId: number): HubSpotObjectType[] {
    return this.store.objectTypes(portalId);
  }

  /**
   * Adds records to an object type in one transaction, with fresh ids in order, and
   * answers the ids. Values that are `""` are left out (HubSpot keeps no blank values).
   */
  addRecords(portalId: number, objectTypeId: string, records: Array<{ values: Record<string, string>; createdAt?: number; archived?: boolean }>): number[] {
    const now = this.clock.now().getTime();
    return this.store.transaction(() => {
      const first = this.store.reserveIds(portalId, records.length);
      return records.map((record, index) => {
        const stored: StoredRecord = {
          id: first + index,
          createdAt: record.createdAt ?? now,
          updatedAt: record.createdAt ?? now,
          ...(record.archived ? { archivedAt: now } : {}),
          values: Object.fromEntries(Object.entries(record.values).filter(([, value]) => value !== '')),
        };
        this.store.insertRecord(portalId, objectTypeId, stored);
        return stored.id;
      });
    });
  }

  addThreads(portalId: number, threads: HubSpotThread[]): void {
    this.store.transaction(() => threads.forEach((thread) => this.store.insertThread(portalId, thread)));
  }

  /** A record as stored (tests compare backups with it), or undefined. */
  record(portalId: number, objectTypeId: string, id: string): (StoredRecord & { archived: boolean }) | undefined {
    return /^\d+$/.test(id) ? this.store.getRecord(portalId, objectTypeId, Number(id)) : undefined;
  }

  // Tokens --------------------------------------------------------------------------

  /** Issues a private-app token (`pat-na1-...`) for a portal; by default with every scope the portal's types need. */
  issueToken(portalId: number, options: { scopes?: string[]; token?: string; expiresAt?: Date } = {}): string {
    if (!this.store.getPortal(portalId)) throw new Error(`No HubSpot portal ${portalId} in the stand-in`);
    const grant: TokenGrant = {
      token: options.token ?? `pat-na1-${randomUUID()}`,
      portalId,
      scopes: options.scopes ?? allScopes(this.store.objectTypes(portalId)),
      ...(options.expiresAt ? { expiresAt: options.expiresAt.getTime() } : {}),
      revoked: false,
    };
    this.store.putToken(grant);
    return grant.token;
  }

  /** Makes a token unknown to HubSpot (app deleted or token rotated): 401 INVALID_AUTHENTICATION. */
  revokeToken(token: string): void {
    const grant = this.requireToken(token);
    this.store.putToken({ ...grant, revoked: true });
  }

  /** Makes a token expire at `at` (default now): 401 EXPIRED_AUTHENTICATION afterwards. */
  expireToken(token: string, at: Date = this.clock.now()): void {
    const grant = this.requireToken(token);
    this.store.putToken({ ...grant, expiresAt: at.getTime() });
  }

  /** Replaces a token's scopes (to test MISSING_SCOPES). */
  setTokenScopes(token: string, scopes: string[]): void {
    this.store.putToken({ ...this.requireToken(token), scopes });
  }

  // Limits, faults and statistics ---------------------------------------------------

  /** Changes a portal's budget (tests use a 10-requests-per-10-s window; the bench Professional's 190). Starts a fresh window. */
  setRateLimits(portalId: number, limits: Partial<RateLimits>): void {
    const portal = this.requirePortal(portalId);
    this.store.putPortal({ ...portal, limits: { ...portal.limits, ...limits } });
    this.limiter.reset(portalId);
  }

  /**
   * Makes chosen records fail in batch updates and single updates (`operation: 'update'`),
   * or in batch and single reads (`'read'`), with a category and message of your choice:
   * a batch then answers 207 with them in `errors`, as HubSpot does for partial failures.
   */
  failRecords(portalId: number, objectTypeId: string, ids: string[], failure: Partial<InjectedFailure> & Pick<InjectedFailure, 'operation'>): void {
    this.api.failRecords(portalId, objectTypeId, ids, {
      category: 'VALIDATION_ERROR',
      message: 'The record could not be updated.',
      ...failure,
    });
  }

  clearFailures(): void {
    this.api.clearFailures();
    this.serverErrors.clear();
  }

  /**
   * Makes a portal's next `count` admitted requests fail with a 5xx whose body is JSON,
   * a gateway's HTML page, or nothing at all. The client retries the first two
   * (200 ms × attempt); on a body without a content type it throws an Error without
   * `code` and never retries (HUBSPOT.md §7).
   */
  failNextRequests(portalId: number, options: { count: number; status?: number; body?: InjectedServerError['body'] }): void {
    const queue = this.serverErrors.get(portalId) ?? [];
    for (let i = 0; i < options.count; i += 1) queue.push({ status: options.status ?? 502, body: options.body ?? 'json' });
    this.serverErrors.set(portalId, queue);
  }

  /** What the stand-in answered for a portal since start (or `resetStats`). */
  statsFor(portalId: number): PortalStats {
    return structuredClone(this.stats.get(portalId) ?? emptyStats());
  }

  resetStats(portalId: number): void {
    this.stats.delete(portalId);
  }

  // The demo portal -----------------------------------------------------------------

  /** Remembers which portal and token `GET /local/hubspot` hands out. */
  setDemoPortal(portalId: number, accessToken: string): void {
    this.store.putMeta('demo', JSON.stringify({ portalId, accessToken }));
  }

  demoPortal(): { portalId: number; accessToken: string } | undefined {
    const value = this.store.getMeta('demo');
    return value ? (JSON.parse(value) as { portalId: number; accessToken: string }) : undefined;
  }

  // HTTP ----------------------------------------------------------------------------

  /**
   * The local runtime's route: HubSpot's API under `/hubspot`, and `GET /local/hubspot`
   * answering `{baseUrl, accessToken, portalId}` of the demo portal.
   */
  route(): Route {
    return async (request, response, body) => {
      const target = request.url ?? '/';
      const path = target.split('?')[0]!;
      if (path === '/local/hubspot' && request.method === 'GET') {
        const demo = this.demoPortal();
        if (!demo) write(response, errorReply(503, 'SERVICE_UNAVAILABLE', 'The demo HubSpot portal is not seeded yet. Try again in a few seconds.'));
        else write(response, { status: 200, body: { baseUrl: `http://${request.headers.host ?? 'localhost'}${HUBSPOT_PATH_PREFIX}`, ...demo } });
        return true;
      }
      if (path !== HUBSPOT_PATH_PREFIX && !path.startsWith(`${HUBSPOT_PATH_PREFIX}/`)) return false;
      write(response, this.answer(request, target.slice(HUBSPOT_PATH_PREFIX.length) || '/', body));
      return true;
    };
  }

  /**
   * One request, in HubSpot's order: URL length, then the token, then the portal's
   * budget, then the endpoint (which checks scopes and input). Every answer to a known
   * portal carries the rate-limit headers.
   */
  private answer(request: IncomingMessage, target: string, body: Buffer): HubSpotReply {
    if (Buffer.byteLength(target) > this.maxUrlBytes) return errorReply(414, 'URI_TOO_LONG', 'Request-URI Too Long');
    const now = this.clock.now();
    const token = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
    const grant = token ? this.store.getToken(token) : undefined;
    if (!grant || grant.revoked) return invalidAuthentication();
    if (grant.expiresAt !== undefined && grant.expiresAt <= now.getTime()) return expiredAuthentication(new Date(grant.expiresAt), now);
    const portal = this.store.getPortal(grant.portalId);
    if (!portal) return invalidAuthentication();

    const admission = this.limiter.admit(portal);
    const serverError = admission.admitted ? this.serverErrors.get(portal.portalId)?.shift() : undefined;
    const reply = !admission.admitted
      ? rateLimited(admission.policy, {})
      : serverError
        ? injectedServerError(serverError)
        : this.dispatch({ portal, grant, now, url: new URL(target, 'http://hubspot.local'), method: request.method ?? 'GET', body });
    const headers = admission.admitted ? this.limiter.headers(portal) : admission.headers;
    this.count(portal.portalId, reply.status, admission.admitted ? undefined : admission.policy);
    return { ...reply, headers: { ...headers, ...reply.headers } };
  }

  private dispatch(context: RequestContext): HubSpotReply {
    let pathMatched = false;
    for (const endpoint of this.endpoints) {
      const match = endpoint.pattern.exec(context.url.pathname);
      if (!match) continue;
      pathMatched = true;
      if (endpoint.method !== context.method) continue;
      let params: string[];
      try {
        params = match.slice(1).map((part) => decodeURIComponent(part));
      } catch {
        return errorReply(400, 'VALIDATION_ERROR', 'The path is not valid percent-encoding.');
      }
      try {
        return endpoint.handle(context, params);
      } catch (error) {
        // A bug or a broken store: answer as HubSpot's 5xx do (JSON, so the client can retry it).
        console.error('[hubspot stand-in] request failed:', error);
        return errorReply(500, 'INTERNAL_ERROR', 'Internal error. Retry the request.');
      }
    }
    return pathMatched
      ? errorReply(405, 'METHOD_NOT_ALLOWED', `HTTP method ${context.method} is not supported by this resource.`)
      : errorReply(404, 'OBJECT_NOT_FOUND', `No endpoint at ${context.url.pathname}.`);
  }

  private count(portalId: number, status: number, policy?: 'TEN_SECONDLY_ROLLING' | 'DAILY') {
    let stats = this.stats.get(portalId);
    if (!stats) this.stats.set(portalId, (stats = emptyStats()));
    stats.requests += 1;
    stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1;
    if (policy) stats.rateLimited[policy] += 1;
  }

  private requireToken(token: string): TokenGrant {
    const grant = this.store.getToken(token);
    if (!grant) throw new Error('No such token in the HubSpot stand-in');
    return grant;
  }

  private requirePortal(portalId: number): PortalSettings {
    const portal = this.store.getPortal(portalId);
    if (!portal) throw new Error(`No HubSpot portal ${portalId} in the stand-in`);
    return portal;
  }
}

interface InjectedServerError {
  status: number;
  body: 'json' | 'html' | 'none';
}

function injectedServerError({ status, body }: InjectedServerError): HubSpotReply {
  if (body === 'json') return errorReply(status, 'INTERNAL_ERROR', 'Internal error. Retry the request.');
  if (body === 'none') return { status };
  return { status, body: `<html><head><title>${status} Bad Gateway</title></head><body><h1>${status} Bad Gateway</h1></body></html>`, headers: { 'Content-Type': 'text/html' } };
}

function emptyStats(): PortalStats {
  return { requests: 0, byStatus: {}, rateLimited: { TEN_SECONDLY_ROLLING: 0, DAILY: 0 } };
}

function write(response: ServerResponse, reply: HubSpotReply): void {
  const headers = { ...reply.headers };
  if (reply.status === 204 || reply.body === undefined) {
    response.writeHead(reply.status, headers);
    response.end();
    return;
  }
  response.writeHead(reply.status, { 'Content-Type': 'application/json;charset=utf-8', ...headers });
  response.end(typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body));
}
