import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';
import { runCli } from './support.ts';

/** `crm-backup source show | connect | disconnect`, and initech's backup from the CLI. */

let runtime: TestRuntime;
let dir: string;
const env = async (email: string) => ({ CRM_BACKUP_URL: runtime.url, CRM_BACKUP_TOKEN: await runtime.tokenFor(email) });

beforeAll(async () => {
  runtime = await startTestRuntime({ recordsPerType: 10 });
  dir = await mkdtemp(join(tmpdir(), 'cli-source-'));
});
afterAll(async () => {
  await runtime?.destroy();
  await rm(dir, { recursive: true, force: true });
});

describe('crm-backup source', () => {
  it('shows initech\'s portal, and backs it up', async () => {
    const shown = await runCli(['source', 'show'], await env('sso-admin@initech.example'));
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/Data source: HubSpot portal 7301234 \(US\/Eastern\)/);
    const backup = await runCli(['backup', 'create', '--json'], await env('sso-admin@initech.example'));
    expect(backup.code, backup.stderr).toBe(0);
    expect(JSON.parse(backup.stdout)).toMatchObject({ status: 'SUCCEEDED' });
  });

  it('connects a portal from a token file (never from the command line) and disconnects it with --yes', async () => {
    const acme = await env('sso-admin@acme.example');
    const noToken = await runCli(['source', 'connect'], acme);
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain('HUBSPOT_ACCESS_TOKEN');
    const tokenFile = join(dir, 'hubspot-token');
    const token = runtime.hubspot.issueToken(7301234);
    await writeFile(tokenFile, `${token}\n`, { mode: 0o600 });
    const connected = await runCli(['source', 'connect', '--hubspot-token-file', tokenFile], acme);
    expect(connected.code, connected.stderr).toBe(0);
    expect(connected.stdout).toContain('Connected.');
    expect(connected.stdout).toContain('every scope');
    expect(connected.stdout).not.toContain(token);
    expect(JSON.parse((await runCli(['source', 'show', '--json'], acme)).stdout)).toMatchObject({ type: 'hubspot', portalId: 7301234 });
    expect((await runCli(['source', 'disconnect'], acme)).code).toBe(2);
    const disconnected = await runCli(['source', 'disconnect', '--yes'], acme);
    expect(disconnected.code, disconnected.stderr).toBe(0);
    expect(disconnected.stdout).toContain('the built-in CRM');
  });

  it('says what HubSpot refused', async () => {
    const revoked = runtime.hubspot.issueToken(7301234);
    runtime.hubspot.revokeToken(revoked);
    const refused = await runCli(['source', 'connect', '--json'], { ...(await env('sso-admin@acme.example')), HUBSPOT_ACCESS_TOKEN: revoked });
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout).error).toMatchObject({ code: 'VALIDATION_ERROR', message: expect.stringContaining('HubSpot does not accept this token') });
  });
});
