import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vi } from 'vitest';
import { Client } from '@hubspot/api-client';
import RetryDecoratorModule from '@hubspot/api-client/lib/src/services/decorators/RetryDecorator.js';
import { seedDemoPortal, type DemoPortalOptions } from '../../local/hubspot/demo-portal.ts';
import { serveStandInAlone } from '../../local/hubspot/serve-alone.ts';
import { HubSpotStandIn } from '../../local/hubspot/stand-in.ts';
import { movableClock } from './movable-clock.ts';

export interface StandInUnderTest {
  standIn: HubSpotStandIn;
  clock: ReturnType<typeof movableClock>;
  baseUrl: string;
  portalId: number;
  accessToken: string;
  /** The official client pointed at the stand-in (a new `Client` resets the process-wide retry settings). */
  client(options?: { accessToken?: string; numberOfApiCallRetries?: number }): Client;
  /** A raw request, for what the client hides (comma-separated parameters, headers). */
  fetch(path: string, init?: RequestInit & { token?: string | null }): Promise<Response>;
  stop(): Promise<void>;
}

/**
 * The HubSpot stand-in with a seeded demo portal on a free port, in a fresh directory,
 * with time the test moves.
 */
export async function startHubSpotStandIn(options: Partial<DemoPortalOptions> & { dataDir?: string } = {}): Promise<StandInUnderTest> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'hubspot-stand-in-')));
  const clock = movableClock();
  const standIn = HubSpotStandIn.open(dataDir, { clock });
  const { portalId, accessToken } = seedDemoPortal(standIn, { recordsPerType: options.recordsPerType ?? 30, limits: options.limits });
  const { baseUrl, close } = await serveStandInAlone(standIn);
  return {
    standIn,
    clock,
    baseUrl,
    portalId,
    accessToken,
    client: ({ accessToken: token = accessToken, numberOfApiCallRetries } = {}) => new Client({ accessToken: token, basePath: baseUrl, numberOfApiCallRetries }),
    fetch: (path, { token = accessToken, headers, ...init } = {}) =>
      fetch(`${baseUrl}${path}`, { ...init, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(headers as Record<string, string>) } }),
    async stop() {
      await close();
      standIn.close();
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

// A CommonJS module with `exports.default`: Node's ESM loader gives the exports object, vitest the class.
type RetryDecoratorClass = { prototype: Record<string, unknown> };
const RetryDecorator: RetryDecoratorClass =
  (RetryDecoratorModule as unknown as { default?: RetryDecoratorClass }).default ?? (RetryDecoratorModule as unknown as RetryDecoratorClass);

/**
 * Makes the client's retry waits (10 s × attempt after a TEN_SECONDLY_ROLLING 429,
 * 200 ms × attempt after a 5xx) pass on the stand-in's clock instead of the wall clock,
 * and records them: the client behaves as it would over real time, in milliseconds.
 */
export function clientWaitsOnClock(clock: ReturnType<typeof movableClock>): { waits: number[]; restore(): void } {
  const waits: number[] = [];
  const spy = vi.spyOn(RetryDecorator.prototype as { _waitAfterRequestFailure(status: number, attempt: number, timeout: number): Promise<void> }, '_waitAfterRequestFailure');
  spy.mockImplementation(async (_status: number, attempt: number, timeout: number) => {
    waits.push(timeout * attempt);
    clock.advance(timeout * attempt);
  });
  return { waits, restore: () => spy.mockRestore() };
}
