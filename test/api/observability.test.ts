import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUSINESS_METRICS } from '#core/ports/metrics.ts';
import { restoreOneEditedDeal } from '../support/data-plane.ts';
import { capturedLogs } from '../support/log-capture.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';

const ADMIN = 'admin@acme.example';
const BACKUP_STEPS = ['list-backup-objects', 'export-object', 'zip-backup', 'finalize-backup'];

/** Embedded-metric-format lines: metric name → {value, dimensions}. */
function emittedMetrics(): Array<{ name: string; value: number; dimensions: string[][]; values: Record<string, any> }> {
  return capturedLogs()
    .filter((line) => line._aws)
    .flatMap((line) =>
      (line._aws.CloudWatchMetrics as Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string }> }>).flatMap((block) =>
        block.Metrics.map((metric) => ({ name: metric.Name, value: Number(line[metric.Name]), dimensions: block.Dimensions, values: line })),
      ),
    );
}

describe('logs, metrics and traces of a backup', () => {
  let runtime: TestRuntime;
  let backupId: string;

  beforeAll(async () => {
    runtime = await startTestRuntime();
    const requested = await runtime.api('POST', '/v1/backups', { as: ADMIN });
    expect(requested.status).toBe(202);
    backupId = requested.body.id;
    await runtime.idle();
  });
  afterAll(async () => {
    await runtime?.destroy();
  });

  it('logs every line of the backup as JSON with the request id, the account and the backup as keys, and the object type of each export', async () => {
    const lines = capturedLogs().filter((line) => line.message && BACKUP_STEPS.includes(line.function_name));
    expect(new Set(lines.map((line) => line.function_name))).toEqual(new Set(BACKUP_STEPS));
    for (const line of lines) {
      expect(line, JSON.stringify(line)).toMatchObject({ service: 'crm-backup', stage: 'local', accountId: 'acme', backupId });
      expect(line.function_request_id, JSON.stringify(line)).toMatch(/^[0-9a-f-]{36}$/);
      expect(['DEBUG', 'INFO', 'WARN', 'ERROR']).toContain(line.level);
    }
    // Which object type an export worked on: the one that was slow or failed.
    const exports = lines.filter((line) => line.function_name === 'export-object');
    const { body: backup } = await runtime.api('GET', `/v1/backups/${backupId}`, { as: ADMIN });
    expect(new Set(exports.map((line) => line.objectType))).toEqual(new Set(backup.objects.map((object: { objectType: string }) => object.objectType)));
    const request = capturedLogs().find((line) => line.route === 'POST /v1/backups' && line.message === 'Request');
    expect(request).toMatchObject({ function_name: 'backups-api', accountId: 'acme', backupId, status: 202 });
    // The closing note quotes these: what an engineer sees for one backup.
    console.info([request, ...lines].map((line) => JSON.stringify(line)).join('\n'));
  });

  it('counts the backup in CloudWatch embedded metrics, by service and stage only', () => {
    const metrics = emittedMetrics();
    const named = (name: string) => metrics.filter((metric) => metric.name === name);
    expect(named('BackupsSucceeded').map((metric) => metric.value)).toEqual([1]);
    expect(named('RecordsExported')[0]!.value).toBeGreaterThan(300);
    expect(named('BytesExported')[0]!.value).toBeGreaterThan(1000);
    expect(named('BackupDuration')[0]!.value).toBeGreaterThanOrEqual(0);
    expect(named('BackupExportDuration').length).toBeGreaterThan(0);
    expect(named('BackupZipDuration')).toHaveLength(1);
    for (const metric of metrics) {
      expect(Object.keys(BUSINESS_METRICS), metric.name).toContain(metric.name);
      expect(metric.dimensions, metric.name).toEqual([['service', 'stage']]);
      expect(metric.values).toMatchObject({ service: 'crm-backup', stage: 'local' });
      expect(metric.values._aws.CloudWatchMetrics[0].Namespace).toBe('CrmBackup');
    }
  });

  it('counts a quota refusal and a refused TOTP code', async () => {
    expect((await runtime.api('POST', '/v1/backups', { as: ADMIN })).status).toBe(429);
    const plan = await runtime.api('POST', `/v1/backups/${backupId}/restore-plans`, { as: ADMIN, body: { objectType: 'deals', properties: ['dealname'] } });
    expect(plan.status).toBe(201);
    const refused = await runtime.api('POST', '/v1/restores', { as: ADMIN, body: { planId: plan.body.id, acknowledge: { changesData: true, cannotBeUndone: true }, totp: '000000' } });
    expect(refused.status).toBe(401);
    const names = emittedMetrics().map((metric) => metric.name);
    expect(names.filter((name) => name === 'QuotaRefusals')).toHaveLength(1);
    expect(names.filter((name) => name === 'ReauthenticationFailures')).toHaveLength(1);
  });

  it('counts a restore that succeeded and the records it changed', async () => {
    const { restoreId } = await restoreOneEditedDeal(runtime, backupId);
    const named = (name: string) => emittedMetrics().filter((metric) => metric.name === name).map((metric) => metric.value);
    expect(named('RestoresSucceeded')).toEqual([1]);
    expect(named('RecordsRestored')).toEqual([1]);
    expect(named('RestoresFailed')).toEqual([]);
    const restoreLines = capturedLogs().filter((line) => line.message && ['apply-restore-batch', 'finalize-restore'].includes(line.function_name));
    expect(new Set(restoreLines.map((line) => line.function_name))).toEqual(new Set(['apply-restore-batch', 'finalize-restore']));
    for (const line of restoreLines) expect(line, JSON.stringify(line)).toMatchObject({ accountId: 'acme', restoreId });
  });
});
