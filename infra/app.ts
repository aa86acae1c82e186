import { rmSync } from 'node:fs';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildStacks, prepareWebAssets } from './build-app.ts';
import { readSettings } from './settings.ts';

/**
 * `npx cdk synth|deploy` runs this (cdk.json). Context: stage, senderEmail, and the
 * optional domainName/certificateArn, authDomainPrefix, sso, alarmEmail,
 * logRetentionDays, webAssetsDir (infra/settings.ts). cdk-nag's AwsSolutions pack
 * runs on every synth: an unacknowledged finding fails it, so nothing gets deployed
 * that the tests would refuse.
 */
const app = new App();
const settings = readSettings(app.node);
const webAssetsDir = await prepareWebAssets(settings);
buildStacks(app, settings, {
  webAssetsDir,
  // Account and region from the CLI's profile when there is one; env-agnostic offline.
  env: process.env.CDK_DEFAULT_ACCOUNT ? { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION } : undefined,
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
// The page built for this synth is now staged in cdk.out; a folder passed in stays.
if (webAssetsDir && !settings.webAssetsDir) rmSync(webAssetsDir, { recursive: true, force: true });
