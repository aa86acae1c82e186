import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { confirmTotpEnrolment } from '#core/totp/confirm-totp-enrolment.ts';
import { enrolTotp } from '#core/totp/enrol-totp.ts';
import { totpEnrolmentStatus } from '#core/totp/totp-enrolment-status.ts';
import { planRestore } from '#core/restores/plan-restore.ts';
import { planUndo } from '#core/restores/plan-undo.ts';
import { planRevert } from '#core/reverts/plan-revert.ts';
import { CHANGE_SOURCES } from '#core/model.ts';
import { tuningOf } from '#core/restores/restore-policy.ts';
import { readRestorePlan } from '#core/restores/read-restore-plan.ts';
import { getRestore, listRestores } from '#core/restores/restore-queries.ts';
import { startRestore } from '#core/restores/start-restore.ts';
import type { AppDeps } from '#runtime/deps.ts';
import { httpApi, json, pageQuery, parseInput, safeName } from '#runtime/http.ts';
import { lambdaHandler } from '#runtime/lazy-handler.ts';

const planBody = z.strictObject({
  objectType: safeName.min(1).max(128),
  properties: z
    .array(safeName.min(1).max(256))
    .min(1, 'choose at least one property')
    .max(500)
    .refine((names) => new Set(names).size === names.length, 'must not name a property twice'),
});

const revertBody = z.strictObject({
  objectType: safeName.min(1).max(128),
  // An email or a user id, as change events name people.
  actor: z.string().trim().min(1).max(256).optional(),
  source: z.enum(CHANGE_SOURCES, { error: `must be one of ${CHANGE_SOURCES.join(', ')}` }).optional(),
  from: z.iso.datetime({ offset: true, error: 'must be a date and time such as 2026-12-06T22:00:00Z' }),
  to: z.iso.datetime({ offset: true, error: 'must be a date and time such as 2026-12-07T06:00:00Z' }),
});

/**
 * Time kept after a stop (API Gateway gives up at 29 s): the checkpoint and the state
 * machine start take well under a second, a slow one a few.
 */
const API_RESERVE_MS = 8_000;

// Ids in paths: longer ones cannot exist, and DynamoDB refuses keys over 1 KB with an error that would be a 500.
const idParam = z.string().min(1).max(128);

const restoreBody = z.strictObject({
  planId: z.string().min(1).max(128),
  // Checked in startRestore, which explains what each acknowledgement means.
  acknowledge: z.object({ changesData: z.unknown().optional(), cannotBeUndone: z.unknown().optional() }).optional(),
  totp: z.string().max(16).optional(),
});

// No body enrols; `replace` resets a confirmed enrolment (its emailed link confirms the new app).
const enrolmentBody = z.strictObject({ replace: z.boolean().optional() }).optional();

const confirmationBody = z.strictObject({
  token: z.string().min(1).max(128),
  totp: z.string().max(16),
});

/**
 * Restores over HTTP: plans, execution, the restore history, and TOTP enrolment (and its
 * emailed confirmation) for the re-authentication a restore asks for. Super admins only (checked in core).
 */
export function createHandler(deps: AppDeps) {
  /**
   * Plans within the API call while there is time (201, as for most object types); a big
   * plan answers 202 PLANNING and the restore-plan state machine goes on.
   */
  const planned = async (context: Context, plan: (run: Parameters<typeof planRestore>[4]) => Promise<{ ready: boolean; plan: unknown }>) => {
    const stopBelowMs = Math.max(API_RESERVE_MS, context.getRemainingTimeInMillis() - tuningOf(deps.config).planBudgetMs);
    const outcome = await plan({ keepGoing: () => context.getRemainingTimeInMillis() > stopBelowMs });
    return json(outcome.ready ? 201 : 202, outcome.plan);
  };
  return httpApi({
    'POST /v1/backups/{id}/restore-plans': async ({ caller, params, body, context }) =>
      planned(context, (run) => planRestore(caller, parseInput(idParam, params.id, 'path'), parseInput(planBody, body), deps, run)),
    'POST /v1/restores/{id}/undo-plan': async ({ caller, params, context }) => planned(context, (run) => planUndo(caller, parseInput(idParam, params.id, 'path'), deps, run)),
    'POST /v1/revert-plans': async ({ caller, body, context }) => planned(context, (run) => planRevert(caller, parseInput(revertBody, body), deps, run)),
    'GET /v1/restore-plans/{planId}': async ({ caller, params }) => json(200, await readRestorePlan(caller, parseInput(idParam, params.planId, 'path'), deps)),
    'POST /v1/restores': async ({ caller, body }) => {
      const request = parseInput(restoreBody, body);
      return json(
        202,
        await startRestore(
          caller,
          { planId: request.planId, totp: request.totp, acknowledge: request.acknowledge as { changesData?: boolean; cannotBeUndone?: boolean } },
          deps,
        ),
      );
    },
    'GET /v1/restores': async ({ caller, query }) => json(200, await listRestores(caller, parseInput(pageQuery, query, 'query'), deps)),
    'GET /v1/restores/{id}': async ({ caller, params }) => json(200, await getRestore(caller, parseInput(idParam, params.id, 'path'), deps)),
    'GET /v1/me/totp-enrolment': async ({ caller }) => json(200, await totpEnrolmentStatus(caller, deps)),
    'POST /v1/me/totp-enrolment': async ({ caller, body }) => json(201, await enrolTotp(caller, parseInput(enrolmentBody, body) ?? {}, deps)),
    'POST /v1/me/totp-enrolment/confirmation': async ({ caller, body }) => json(200, await confirmTotpEnrolment(caller, parseInput(confirmationBody, body), deps)),
  }, deps);
}

export const handler = lambdaHandler(createHandler);
