import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';
import { movableClock } from '../support/movable-clock.ts';
import { runCli } from './support.ts';

/** Test time: real time plus an offset the undo test moves to the next TOTP step. */
const clock = movableClock();

describe('crm-backup restore', () => {
  let runtime: TestRuntime;
  let env: Record<string, string>;
  let backupId: string;
  let planId: string;
  const renamed: Array<{ id: string; before: string }> = [];

  beforeAll(async () => {
    runtime = await startTestRuntime({ clock });
    env = { CRM_BACKUP_URL: runtime.url, CRM_BACKUP_TOKEN: await runtime.tokenFor('admin@acme.example') };
    const created = await runCli(['backup', 'create', '--json'], env);
    expect(created.code).toBe(0);
    backupId = JSON.parse(created.stdout).id;
    const deals = (await runtime.api('GET', '/v1/objects/deals/records?limit=5')).body.items as Array<{ id: string; properties: Record<string, string> }>;
    for (const deal of deals.slice(0, 2)) {
      renamed.push({ id: deal.id, before: deal.properties.dealname! });
      expect((await runtime.api('PATCH', `/v1/objects/deals/records/${deal.id}`, { body: { properties: { dealname: `Renamed, "quoted"` } } })).status).toBe(200);
    }
  });
  afterAll(async () => {
    await runtime?.destroy();
  });

  it('prints the plan as tables: counts, per property, and a sample of before → after', async () => {
    const result = await runCli(['restore', 'plan', backupId, '--object', 'deals', '--properties', 'dealname,amount'], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    planId = /^Restore plan (\S+):/.exec(result.stdout)![1]!;
    expect(result.stdout).toMatch(/in the backup\s+40\n/);
    expect(result.stdout).toMatch(/will change\s+2\n/);
    expect(result.stdout).toMatch(/already the same\s+38\n/);
    expect(result.stdout).toMatch(/no longer exist \(not re-created\)\s+0\n/);
    expect(result.stdout).toMatch(/dealname\s+2\s+0\n/);
    expect(result.stdout).toMatch(/amount\s+0\s+0\n/);
    expect(result.stdout).toContain(`${renamed[0]!.id}  dealname  "Renamed, \\"quoted\\""  ${JSON.stringify(renamed[0]!.before)}`);
    const json = JSON.parse((await runCli(['restore', 'plan', backupId, '--object', 'deals', '--properties', 'dealname', '--json'], env)).stdout);
    expect(json.recordsToChange).toBe(2);
  });

  it('refuses what the API refuses, with its sentence: conversations, read-only properties', async () => {
    const conversations = await runCli(['restore', 'plan', backupId, '--object', 'conversations', '--properties', 'subject'], env);
    expect(conversations.code).toBe(1);
    expect(conversations.stderr).toMatch(/^crm-backup: .*onversations.*\n$/);
    const readOnly = await runCli(['restore', 'plan', backupId, '--object', 'deals', '--properties', 'hs_createdate'], env);
    expect(readOnly.code).toBe(1);
    expect(readOnly.stderr).toMatch(/hs_createdate/);
  });

  it('asks for the TOTP code, then applies the plan with progress and restores the values', async () => {
    const noCode = await runCli(['restore', 'apply', planId, '--yes'], env);
    expect(noCode.code).toBe(1);
    expect(noCode.stderr).toMatch(/^crm-backup: .* \(pass --totp <code>\)\n$/);
    const badCode = await runCli(['restore', 'apply', planId, '--yes', '--totp', '12345'], env);
    expect(badCode.code).toBe(2);
    const secret = /admin@acme\.example\s+secret (\S+)/.exec(await runtime.banner())![1]!;
    const result = await runCli(['restore', 'apply', planId, '--yes', '--totp', await generate({ secret, epoch: Math.floor(clock.now().getTime() / 1000) })], env);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/Restoring \[#{30}\] 40\/40 records/);
    expect(result.stdout).toMatch(/^Restore (\S+) of deals: SUCCEEDED\. 2 updated, 38 unchanged, 0 no longer exist, 0 failed\.\nUndo it \(while backup \S+ is kept\) with: crm-backup restore undo \S+\n$/);
    for (const deal of renamed) {
      expect((await runtime.api('GET', `/v1/objects/deals/records/${deal.id}`)).body.properties.dealname).toBe(deal.before);
    }
    const restoreId = /^Restore (\S+) /.exec(result.stdout)![1]!;
    const show = JSON.parse((await runCli(['restore', 'show', restoreId, '--json'], env)).stdout);
    expect(show).toMatchObject({ id: restoreId, status: 'SUCCEEDED', counts: { updated: 2, unchanged: 38, missing: 0, failed: 0 } });
    const list = await runCli(['restore', 'list'], env);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`${restoreId}\\s+SUCCEEDED\\s+deals\\s+\\S+\\s+admin@acme.example\\s+2\\s+38\\s+0\\s+0\\n`));
    undone = restoreId;
  });

  let undone = '';
  it('plans the undo of a restore with `restore undo`, edits made since shown and kept, and applies it like a plan', async () => {
    const [kept, back] = renamed;
    expect((await runtime.api('PATCH', `/v1/objects/deals/records/${kept!.id}`, { body: { properties: { dealname: 'Edited after the restore' } } })).status).toBe(200);
    const planned = await runCli(['restore', 'undo', undone], env);
    expect(planned.stderr).toBe('');
    expect(planned.code).toBe(0);
    const undoPlanId = /^Undo plan (\S+): sets back what restore \S+ changed/.exec(planned.stdout)![1]!;
    expect(planned.stdout).toMatch(/will be set back\s+1\n/);
    expect(planned.stdout).toMatch(/edited since \(kept\)\s+1\n/);
    expect(planned.stdout).toMatch(new RegExp(`${kept!.id}\\s+dealname\\s+${JSON.stringify(kept!.before)}\\s+"Edited after the restore"`));
    const secret = /admin@acme\.example\s+secret (\S+)/.exec(await runtime.banner())![1]!;
    clock.advance(30_000); // a fresh TOTP step: the last code is spent
    const applied = await runCli(['restore', 'apply', undoPlanId, '--yes', '--totp', await generate({ secret, epoch: Math.floor(clock.now().getTime() / 1000) })], env);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toMatch(/^Undo \S+ of restore \S+ of deals: SUCCEEDED\. 1 updated, 0 unchanged, 0 no longer exist, 0 failed, 1 edited since \(kept\)\./);
    expect((await runtime.api('GET', `/v1/objects/deals/records/${back!.id}`)).body.properties.dealname).toBe('Renamed, "quoted"');
    expect((await runtime.api('GET', `/v1/objects/deals/records/${kept!.id}`)).body.properties.dealname).toBe('Edited after the restore');
    const unknown = await runCli(['restore', 'undo', 'rs_nope'], env);
    expect(unknown.code).toBe(1);
  });
});
