import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Annotations, Aspects, CfnResource, type App, type Environment, type IAspect } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type { DeploySettings } from './settings.ts';
import { StatefulStack } from './stacks/stateful-stack.ts';
import { StatelessStack } from './stacks/stateless-stack.ts';

export interface CrmBackupStacks {
  stateful: StatefulStack;
  stateless: StatelessStack;
}

/**
 * The two stacks of one stage. Stateful first (data, identity, the web page's front
 * door); stateless reads from it, never the other way round, so code can be
 * redeployed or destroyed without touching data.
 */
export function buildStacks(app: App, settings: DeploySettings, options: { webAssetsDir?: string; env?: Environment } = {}): CrmBackupStacks {
  const prefix = `CrmBackup-${settings.stage}`;
  const tags = { project: 'crm-backup', stage: settings.stage };
  const stateful = new StatefulStack(app, `${prefix}-Stateful`, {
    settings,
    env: options.env,
    tags,
    description: 'crm-backup: tables, backup bucket, KMS keys, user pool, event bus, web front door (RETAIN data)',
  });
  const stateless = new StatelessStack(app, `${prefix}-Stateless`, {
    settings,
    stateful,
    env: options.env,
    tags,
    webAssetsDir: options.webAssetsDir,
    description: 'crm-backup: Lambda functions, HTTP API, state machines, rules, alarms, web page files',
  });
  stateless.addStackDependency(stateful);
  for (const stack of [stateful, stateless]) Aspects.of(stack).add(new JsonLogs());
  if (settings.senderEmail.endsWith('@example.com'))
    Annotations.of(stateful).addWarningV2(
      'crm-backup:placeholder-sender',
      `senderEmail is the placeholder ${settings.senderEmail}: deploy with -c senderEmail=<an address you can verify in SES>`,
    );
  return { stateful, stateless };
}

/**
 * Lambda's JSON log format on every function of the app, aws-cdk-lib's own too (the web
 * page's deployment, the API's CORS call): one query language for every log group. The
 * service's functions set it themselves, with their log level.
 */
class JsonLogs implements IAspect {
  visit(node: IConstruct): void {
    if (node instanceof CfnResource && node.cfnResourceType === 'AWS::Lambda::Function') node.addPropertyOverride('LoggingConfig.LogFormat', 'JSON');
  }
}

/**
 * The built web page to upload. `-c webAssetsDir=<dir>` uploads a folder built
 * elsewhere; `-c webAssetsDir=none` uploads nothing. By default the page is built
 * now with the web page's own builder (web/build.ts, about 50 ms), so a deploy never
 * ships a stale web/dist. Fails with a sentence rather than deploying an empty site.
 */
export async function prepareWebAssets(settings: DeploySettings): Promise<string | undefined> {
  if (settings.webAssetsDir === 'none') return undefined;
  if (settings.webAssetsDir) {
    const dir = resolve(settings.webAssetsDir);
    if (!existsSync(join(dir, 'index.html'))) throw new Error(`-c webAssetsDir=${settings.webAssetsDir}: no index.html in ${dir}`);
    return dir;
  }
  const builder = join(dirname(import.meta.dirname), 'web', 'build.ts');
  if (!existsSync(builder)) throw new Error('web/build.ts is missing: the web page cannot be built (pass -c webAssetsDir=<built folder> or -c webAssetsDir=none)');
  const { buildWebAssets } = (await import(builder)) as {
    buildWebAssets: () => Promise<Array<{ path: string; body: Uint8Array }>>;
  };
  let assets: Array<{ path: string; body: Uint8Array }>;
  try {
    assets = await buildWebAssets();
  } catch (error) {
    throw new Error(`Building the web page (web/build.ts) failed: ${(error as Error).message}. Fix web/, or pass -c webAssetsDir=none to deploy without it`, { cause: error });
  }
  const dir = mkdtempSync(join(tmpdir(), 'crm-backup-web-'));
  for (const asset of assets) {
    const file = join(dir, asset.path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, asset.body);
  }
  return dir;
}
