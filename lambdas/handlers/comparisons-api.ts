import { z } from 'zod';
import { changeAlertSettings, readAlertSettings } from '#core/alerts/alert-settings.ts';
import { compareBackup } from '#core/compare/compare-backup.ts';
import { downloadCompareExport, getCompareExport } from '#core/compare/compare-export-queries.ts';
import { compareTuningOf } from '#core/compare/compare-policy.ts';
import { exportComparison } from '#core/compare/export-comparison.ts';
import { LIVE } from '#core/compare-model.ts';
import type { AppDeps } from '#runtime/deps.ts';
import { httpApi, json, parseInput, redirect, safeName, type ApiRequest } from '#runtime/http.ts';
import { lambdaHandler } from '#runtime/lazy-handler.ts';

const backupId = z.string().regex(/^bk_[a-z0-9]{1,64}$/, 'is not a backup id');
const exportId = z.string().regex(/^cmp_[a-z0-9]{1,64}$/, 'is not an export id');
/** `live` (today's data, the default) or another backup's id. */
const otherSide = z.union([z.literal(LIVE), backupId], { error: 'must be "live" or a backup id' });
const compareQuery = z
  .object({
    with: otherSide.default(LIVE),
    objectType: safeName.min(1).max(128),
    refresh: z.enum(['true', 'false']).default('false'),
  })
  .loose();
const exportBody = z.strictObject({ with: otherSide.default(LIVE), objectType: safeName.min(1).max(128) });
const downloadQuery = z.object({ redirect: z.enum(['true', 'false']).default('true') }).loose();
const threshold = z.strictObject({ percent: z.number().min(0).max(100), atLeast: z.number().int().min(0).max(1_000_000_000) });
const settingsBody = z.strictObject({ enabled: z.boolean(), removedRecords: threshold, changedProperty: threshold, emptiedType: z.boolean() });

/**
 * Time kept after a stop (API Gateway gives up at 29 s): the checkpoint and the state
 * machine start take well under a second, a slow one a few.
 */
const API_RESERVE_MS = 8_000;

/** Comparisons, their exports, and the anomaly alert settings. Super admins only (checked in core). */
export function createHandler(deps: AppDeps) {
  /** Compare within the API call while there is time (200/201); a big type answers 202 and a state machine goes on. */
  const budget = ({ context }: ApiRequest) => {
    const stopBelowMs = Math.max(API_RESERVE_MS, context.getRemainingTimeInMillis() - compareTuningOf(deps.config).budgetMs);
    return { keepGoing: () => context.getRemainingTimeInMillis() > stopBelowMs };
  };
  return httpApi({
    'GET /v1/backups/{id}/compare': async (request) => {
      const query = parseInput(compareQuery, request.query, 'query');
      const outcome = await compareBackup(
        request.caller,
        parseInput(backupId, request.params.id, 'path'),
        { with: query.with, objectType: query.objectType, refresh: query.refresh === 'true' },
        deps,
        budget(request),
      );
      return json(outcome.ready ? 200 : 202, outcome.comparison);
    },
    'POST /v1/backups/{id}/compare-exports': async (request) => {
      const outcome = await exportComparison(request.caller, parseInput(backupId, request.params.id, 'path'), parseInput(exportBody, request.body ?? {}), deps, budget(request));
      return json(outcome.ready ? 201 : 202, outcome.comparison);
    },
    'GET /v1/compare-exports/{id}': async ({ caller, params }) => json(200, await getCompareExport(caller, parseInput(exportId, params.id, 'path'), deps)),
    'GET /v1/compare-exports/{id}/download': async ({ caller, params, query }) => {
      const { redirect: follow } = parseInput(downloadQuery, query, 'query');
      const download = await downloadCompareExport(caller, parseInput(exportId, params.id, 'path'), deps);
      return follow === 'false' ? json(200, download) : redirect(download.url);
    },
    'GET /v1/alert-settings': async ({ caller }) => json(200, await readAlertSettings(caller, deps)),
    'PUT /v1/alert-settings': async ({ caller, body }) => json(200, await changeAlertSettings(caller, parseInput(settingsBody, body), deps)),
  }, deps);
}

export const handler = lambdaHandler(createHandler);
