import { z } from 'zod';
import {
  deleteRecord,
  getRecord,
  listChangeEvents,
  listObjectTypes,
  listRecords,
  updateRecord,
  type DataPlaneDeps,
} from '#core/data-plane.ts';
import type { AppDeps } from '#runtime/deps.ts';
import { httpApi, json, noContent, pageQuery, parseInput } from '#runtime/http.ts';
import { lambdaHandler } from '#runtime/lazy-handler.ts';

const recordEdit = z.strictObject({
  properties: z.record(z.string().max(1000), z.string().max(65_536, 'must be at most 65,536 characters')),
});

const changeEventsQuery = pageQuery.extend({ recordId: z.string().min(1).max(128).optional() });

// Longer names cannot exist, and DynamoDB refuses keys over 1 KB with an error that would be a 500.
const typeParam = z.object({ type: z.string().min(1).max(128) }).loose();
const recordParams = typeParam.extend({ id: z.string().min(1).max(128) });

/** The CRM data plane over HTTP: object types, records, change events. Any user of the account. */
export function createHandler(deps: DataPlaneDeps & Pick<AppDeps, 'telemetry' | 'idempotency'>) {
  return httpApi({
    'GET /v1/objects': async ({ caller }) => json(200, await listObjectTypes(caller, deps)),
    'GET /v1/objects/{type}/records': async ({ caller, params, query }) =>
      json(200, await listRecords(caller, parseInput(typeParam, params, 'path').type, parseInput(pageQuery, query, 'query'), deps)),
    'GET /v1/objects/{type}/records/{id}': async ({ caller, params }) => {
      const { type, id } = parseInput(recordParams, params, 'path');
      return json(200, await getRecord(caller, type, id, deps));
    },
    'PATCH /v1/objects/{type}/records/{id}': async ({ caller, params, body }) => {
      const { type, id } = parseInput(recordParams, params, 'path');
      return json(200, await updateRecord(caller, type, id, parseInput(recordEdit, body).properties, deps));
    },
    'DELETE /v1/objects/{type}/records/{id}': async ({ caller, params }) => {
      const { type, id } = parseInput(recordParams, params, 'path');
      await deleteRecord(caller, type, id, deps);
      return noContent();
    },
    'GET /v1/change-events': async ({ caller, query }) =>
      json(200, await listChangeEvents(caller, parseInput(changeEventsQuery, query, 'query'), deps)),
  }, deps);
}

export const handler = lambdaHandler(createHandler);
