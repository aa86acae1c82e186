import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildStacks, type CrmBackupStacks } from '../../infra/build-app.ts';
import { readSettings } from '../../infra/settings.ts';

export interface SynthesizedApp extends CrmBackupStacks {
  app: App;
  stateful$: Template;
  stateless$: Template;
}

/**
 * The real app, synthesized in-process without bundling: the `aws:cdk:bundling-stacks`
 * context (what `cdk synth --exclusively` uses) tells every asset to skip esbuild, so
 * the templates are exactly the deployed ones minus the code zips. test/infra/synth.test.ts
 * does the bundled synth through the CLI.
 */
const folders: string[] = [];

/** Removes the temporary folders of every app synthesized so far. */
export function removeSynthesizedApps(): void {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
}

export function synthesizeApp(context: Record<string, unknown> = {}): SynthesizedApp {
  const webAssetsDir = mkdtempSync(join(tmpdir(), 'crm-backup-web-test-'));
  folders.push(webAssetsDir);
  writeFileSync(join(webAssetsDir, 'index.html'), '<!doctype html><title>test</title>');
  const app = new App({
    outdir: folders[folders.push(mkdtempSync(join(tmpdir(), 'crm-backup-cdk-test-'))) - 1],
    context: {
      'aws:cdk:bundling-stacks': [],
      '@aws-cdk/core:defaultCrossStackReferences': 'strong',
      stage: 'test',
      senderEmail: 'backups@crm.test',
      ...context,
    },
  });
  const stacks = buildStacks(app, readSettings(app.node), { webAssetsDir });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  app.synth();
  return { ...stacks, app, stateful$: Template.fromStack(stacks.stateful), stateless$: Template.fromStack(stacks.stateless) };
}

/** The one resource of `type` whose logical id starts with `prefix` (construct path order). */
export function resourceStartingWith(template: Template, type: string, prefix: string): { id: string; resource: Record<string, any> } {
  const matches = Object.entries(template.findResources(type)).filter(([id]) => id.startsWith(prefix));
  if (matches.length !== 1) throw new Error(`Expected one ${type} starting with ${prefix}, found ${matches.map(([id]) => id).join(', ') || 'none'}`);
  const [id, resource] = matches[0]!;
  return { id, resource };
}
