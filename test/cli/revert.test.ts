import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';
import { runCli } from './support.ts';

describe('crm-backup revert', () => {
  let runtime: TestRuntime;
  let env: Record<string, string>;
  let from = '';
  let to = '';
  let kept: { id: string; before: string };
  let reverted: { id: string; before: string };

  beforeAll(async () => {
    runtime = await startTestRuntime();
    // An SSO admin: the run asks for no code.
    env = { CRM_BACKUP_URL: runtime.url, CRM_BACKUP_TOKEN: await runtime.tokenFor('sso-admin@acme.example') };
    const deals = (await runtime.api('GET', '/v1/objects/deals/records?limit=5')).body.items as Array<{ id: string; properties: Record<string, string> }>;
    reverted = { id: deals[0]!.id, before: deals[0]!.properties.dealname! };
    kept = { id: deals[1]!.id, before: deals[1]!.properties.dealname! };
    from = new Date(Date.now() - 1000).toISOString();
    const edit = (id: string, as: string) => runtime.api('PATCH', `/v1/objects/deals/records/${id}`, { as, body: { properties: { dealname: `Edited by ${as}` } } });
    expect((await edit(reverted.id, 'user@acme.example')).status).toBe(200);
    expect((await edit(kept.id, 'admin@acme.example')).status).toBe(200);
    to = new Date().toISOString();
  });
  afterAll(async () => {
    await runtime?.destroy();
  });

  it('plans a revert of one person’s changes as tables, then runs it with restore apply', async () => {
    const planned = await runCli(['revert', 'plan', '--object', 'deals', '--actor', 'user@acme.example', '--from', from, '--to', to], env);
    expect(planned.stderr).toBe('');
    expect(planned.code).toBe(0);
    const planId = /^Revert plan (\S+):/.exec(planned.stdout)![1]!;
    expect(planned.stdout).toMatch(/changed in the window\s+1\n/);
    expect(planned.stdout).toMatch(/will be set back\s+1\n/);
    expect(planned.stdout).toMatch(/dealname\s+1\s+0\s+0\n/);
    expect(planned.stdout).toContain(`${reverted.id}  dealname  "Edited by user@acme.example"  ${JSON.stringify(reverted.before)}`);
    expect(planned.stdout).toContain(`crm-backup restore apply ${planId}`);

    const applied = await runCli(['restore', 'apply', planId, '--yes', '--json'], env);
    expect(applied.code, applied.stderr).toBe(0);
    expect(JSON.parse(applied.stdout)).toMatchObject({ status: 'SUCCEEDED', kind: 'REVERT', counts: { updated: 1 } });
    expect((await runtime.api('GET', `/v1/objects/deals/records/${reverted.id}`)).body.properties.dealname).toBe(reverted.before);
    expect((await runtime.api('GET', `/v1/objects/deals/records/${kept.id}`)).body.properties.dealname).toBe('Edited by admin@acme.example');
  });

  it('refuses a plan that names nobody (usage) and says what the API refuses', async () => {
    const nobody = await runCli(['revert', 'plan', '--object', 'deals', '--from', from, '--to', to], env);
    expect(nobody.code).toBe(2);
    expect(nobody.stderr).toMatch(/--actor, --source, or both/);
    const backwards = await runCli(['revert', 'plan', '--object', 'deals', '--actor', 'x', '--from', to, '--to', from], env);
    expect(backwards.code).toBe(1);
    expect(backwards.stderr).toMatch(/^crm-backup: .*before.*\n$/);
    const hubspot = await runCli(['revert', 'plan', '--object', 'contacts', '--source', 'INTEGRATION', '--from', from, '--to', to], {
      ...env,
      CRM_BACKUP_TOKEN: await runtime.tokenFor('admin@initech.example'),
    });
    expect(hubspot.code).toBe(1);
    expect(hubspot.stderr).toMatch(/cannot be reverted/);
  });
});
