import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

/**
 * This run's folder for the AWS calls the local runtimes record (test/support/aws-calls.ts):
 * the end-to-end suites write there, the permission check reads it afterwards.
 */
const awsCallsDir = join(import.meta.dirname, 'test-results', 'aws-calls', `${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}`);

export default defineConfig({
  test: {
    // Suites start their own local runtime (embedded DynamoDB, S3, Step Functions):
    // give them room, and run them in separate processes.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // s3rver's ListObjectsV2 continuation tokens need the legacy OpenSSL provider on Node 24.
    execArgv: ['--openssl-legacy-provider'],
    // Handlers' JSON logs are kept out of the output and checked for secrets after each file.
    setupFiles: ['test/support/log-capture.ts'],
    // Lambda bundles that `cdk synth` wrote run as Node runs them: Vite transforming 20-odd
    // minified megabytes would take minutes and test its transform, not the bundle.
    server: { deps: { external: [/\/asset\.[0-9a-f]{64}\/index\.mjs$/] } },
    provide: { awsCallsDir },
    projects: [
      {
        extends: true,
        test: {
          name: 'suites',
          include: ['test/**/*.test.ts'],
          // The slow reliability suite runs on its own: `npm run test:reliability` (vitest.reliability.config.ts).
          exclude: ['test/reliability/**', 'test/after-suites/**', '**/node_modules/**'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        // Checks over what the suites above recorded (every AWS call of every function): they run once those finished.
        extends: true,
        test: { name: 'after-suites', include: ['test/after-suites/**/*.test.ts'], sequence: { groupOrder: 1 } },
      },
    ],
  },
});
