import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { prepareWebAssets } from '../../infra/build-app.ts';
import type { DeploySettings } from '../../infra/settings.ts';

const settings = (webAssetsDir?: string): DeploySettings => ({ stage: 'test', senderEmail: 'b@crm.test', logRetentionDays: 30, logLevel: 'INFO', mfa: 'required', reservedConcurrency: true, webAssetsDir });

describe('prepareWebAssets', () => {
  it('builds the web page with web/build.ts into a folder to upload', async () => {
    const dir = await prepareWebAssets(settings());
    for (const file of ['index.html', 'app.js', 'styles.css']) expect(existsSync(join(dir!, file)), file).toBe(true);
    rmSync(dir!, { recursive: true, force: true });
  });

  it('uploads nothing with webAssetsDir=none', async () => {
    expect(await prepareWebAssets(settings('none'))).toBeUndefined();
  });

  it('refuses a folder without index.html', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'empty-web-'));
    await expect(prepareWebAssets(settings(empty))).rejects.toThrow(/no index\.html/);
    rmSync(empty, { recursive: true, force: true });
  });
});
