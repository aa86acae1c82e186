import { z } from 'zod';
import { connectSource, disconnectSource, getSource } from '#core/sources/source-settings.ts';
import type { AppDeps } from '#runtime/deps.ts';
import { httpApi, json, parseInput } from '#runtime/http.ts';
import { lambdaHandler } from '#runtime/lazy-handler.ts';

const connectBody = z.strictObject({
  type: z.string().min(1).max(32),
  // HubSpot's private-app tokens are ~44 characters, Service Keys and OAuth tokens longer; never echoed back.
  accessToken: z.string().min(8, 'paste the whole access token').max(2048),
  totp: z.string().max(16).optional(),
});

const disconnectBody = z.strictObject({ totp: z.string().max(16).optional() }).optional();

/** The account's data source over HTTP: which CRM backups read and restores write. Super admins only (checked in core). */
export function createHandler(deps: AppDeps) {
  return httpApi({
    'GET /v1/source': async ({ caller }) => json(200, await getSource(caller, deps)),
    'PUT /v1/source': async ({ caller, body }) => json(200, await connectSource(caller, parseInput(connectBody, body), deps)),
    'DELETE /v1/source': async ({ caller, body }) => json(200, await disconnectSource(caller, parseInput(disconnectBody, body) ?? {}, deps)),
  }, deps);
}

export const handler = lambdaHandler(createHandler);
