import { z } from 'zod';
import type { BackupDeps } from '#core/backups/backup-deps.ts';
import { getBackupQuota } from '#core/backups/backup-quota.ts';
import { getBackupSchedule, putBackupSchedule } from '#core/backups/backup-schedule.ts';
import { downloadBackup, type DownloadBackupDeps } from '#core/backups/download-backup.ts';
import { getBackup, listBackups } from '#core/backups/get-backups.ts';
import { requestBackup } from '#core/backups/request-backup.ts';
import type { AppDeps } from '#runtime/deps.ts';
import { httpApi, json, pageQuery, parseInput, redirect } from '#runtime/http.ts';
import { lambdaHandler } from '#runtime/lazy-handler.ts';

const backupId = z.string().regex(/^bk_[a-z0-9]{1,64}$/, 'is not a backup id');
// `totp`: a code from the authenticator app, when downloads re-authenticate (Cognito MFA optional).
const downloadQuery = z.object({ redirect: z.enum(['true', 'false']).default('true'), totp: z.string().max(16).optional() }).loose();
const scheduleBody = z.strictObject({ enabled: z.boolean() });

/** The backup API: request, history, one backup, download, quota, schedule. Super admins only. */
export function createHandler(deps: BackupDeps & DownloadBackupDeps & Pick<AppDeps, 'telemetry' | 'idempotency'>) {
  return httpApi({
    'POST /v1/backups': async ({ caller }) => json(202, await requestBackup(caller, deps)),
    'GET /v1/backups': async ({ caller, query }) => json(200, await listBackups(caller, parseInput(pageQuery, query, 'query'), deps)),
    'GET /v1/backups/{id}': async ({ caller, params }) => json(200, await getBackup(caller, parseInput(backupId, params.id, 'path'), deps)),
    'GET /v1/backups/{id}/download': async ({ caller, params, query }) => {
      const { redirect: follow, totp } = parseInput(downloadQuery, query, 'query');
      const download = await downloadBackup(caller, parseInput(backupId, params.id, 'path'), totp, deps);
      return follow === 'false' ? json(200, download) : redirect(download.url);
    },
    'GET /v1/backup-quota': async ({ caller }) => json(200, await getBackupQuota(caller, deps)),
    'GET /v1/backup-schedule': async ({ caller }) => json(200, await getBackupSchedule(caller, deps)),
    'PUT /v1/backup-schedule': async ({ caller, body }) => json(200, await putBackupSchedule(caller, parseInput(scheduleBody, body).enabled, deps)),
  }, deps);
}

export const handler = lambdaHandler(createHandler);
