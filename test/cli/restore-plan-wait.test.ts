import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppDeps } from '#runtime/deps.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';
import { runCli } from './support.ts';

/** No planning budget in the API: every plan answers 202 PLANNING and goes on in the restore-plan state machine. */
function planInBackground(deps: AppDeps): AppDeps {
  return { ...deps, config: { ...deps.config, restoreTuning: { segmentRecords: 15, planBudgetMs: 0, planSegmentsPerInvocation: 1 } } };
}

describe('crm-backup restore plan (a plan computed in the background)', () => {
  let runtime: TestRuntime;
  let env: Record<string, string>;
  let backupId: string;

  beforeAll(async () => {
    runtime = await startTestRuntime({ wrapDeps: planInBackground });
    env = { CRM_BACKUP_URL: runtime.url, CRM_BACKUP_TOKEN: await runtime.tokenFor('admin@acme.example') };
    const created = await runCli(['backup', 'create', '--json'], env);
    expect(created.code).toBe(0);
    backupId = JSON.parse(created.stdout).id;
  });
  afterAll(async () => {
    await runtime?.destroy();
  });

  it('waits with progress until the plan is ready, then prints it', async () => {
    const result = await runCli(['restore', 'plan', backupId, '--object', 'deals', '--properties', 'dealname'], env);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/^Planning \[.*\] \d+\/40 records compared\n/);
    expect(result.stdout).toMatch(/^Restore plan \S+:/);
    expect(result.stdout).toMatch(/in the backup\s+40\n/);
  });

  it('with --no-wait answers at once; plan-show shows the progress, then the plan', async () => {
    const started = await runCli(['restore', 'plan', backupId, '--object', 'deals', '--properties', 'dealname', '--no-wait', '--json'], env);
    expect(started.code, started.stderr).toBe(0);
    const plan = JSON.parse(started.stdout);
    expect(plan).toMatchObject({ status: 'PLANNING', progress: { done: 0, total: 40 } });
    await runtime.idle();
    const shown = await runCli(['restore', 'plan-show', plan.id], env);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/in the backup\s+40\n/);
  });
});
