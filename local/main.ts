import { envFlag } from '#runtime/config.ts';
import { DEMO_USERS } from './identity.ts';
import { startLocalRuntime } from './runtime.ts';

/**
 * `npm start`: the whole service on this machine, with demo data.
 * PORT (default 3000) and DATA_DIR (default ./.local-data) say where;
 * REAUTHENTICATE_DOWNLOADS=true makes downloads ask for a TOTP code, as a deployment
 * with `-c mfa=optional` does.
 */
const port = Number(process.env.PORT ?? 3000);
const dataDir = process.env.DATA_DIR ?? './.local-data';
const recordsPerType = process.env.DEMO_RECORDS_PER_TYPE ? Number(process.env.DEMO_RECORDS_PER_TYPE) : undefined;
const reauthenticateDownloads = envFlag(process.env, 'REAUTHENTICATE_DOWNLOADS');

const started = Date.now();
console.log(`Starting crm-backup locally (data in ${dataDir}); the first start seeds demo data and takes a little longer...`);
const runtime = await startLocalRuntime({
  dataDir,
  port,
  recordsPerType,
  runSchedules: true,
  reauthenticateDownloads,
  // The handlers' JSON log lines on stdout, as in Lambda: LOG_LEVEL=WARN keeps them quiet.
  logLevel: process.env.LOG_LEVEL,
  onListening: (url) => console.log(`Listening at ${url}; the API answers 503 "starting" until the demo data is ready.`),
});

const banner = await runtime.banner();
console.log(`
crm-backup is running at ${runtime.url}  (ready in ${((Date.now() - started) / 1000).toFixed(1)} s)

  Web page        ${runtime.url}/
  API             ${runtime.url}/v1/...   (see docs/API.md)
  Sent emails     ${runtime.url}/local/outbox
  HubSpot portal  ${runtime.url}/hubspot   (its token: ${runtime.url}/local/hubspot; docs/hubspot-stand-in.md)

Sign in as a demo user (or pick one on the web page):
  curl -s -X POST ${runtime.url}/local/sign-in -H 'content-type: application/json' -d '{"email":"admin@acme.example"}'

${DEMO_USERS.map((user) => `  ${user.email.padEnd(24)} ${user.superAdmin ? 'super admin' : 'user       '} of ${user.accountId}${user.sso ? ' (signed in through SSO)' : ''}`).join('\n')}
${banner}${reauthenticateDownloads ? '\nDownloads ask for a TOTP code too (REAUTHENTICATE_DOWNLOADS=true), as with -c mfa=optional in AWS.\n' : ''}
Press Ctrl-C to stop.`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  console.log('\nStopping...');
  await runtime.stop();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
