import { listAuditLog, listImports } from '#core/restores/restore-queries.ts';
import type { AppDeps } from '#runtime/deps.ts';
import { httpApi, json, pageQuery, parseInput } from '#runtime/http.ts';
import { lambdaHandler } from '#runtime/lazy-handler.ts';

/** What happened in the account: completed imports (restores among them) and the audit log. */
export function createHandler(deps: AppDeps) {
  return httpApi({
    'GET /v1/imports': async ({ caller, query }) => json(200, await listImports(caller, parseInput(pageQuery, query, 'query'), deps)),
    'GET /v1/audit-log': async ({ caller, query }) => json(200, await listAuditLog(caller, parseInput(pageQuery, query, 'query'), deps)),
  }, deps);
}

export const handler = lambdaHandler(createHandler);
