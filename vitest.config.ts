import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The slow reliability suite runs on its own: `npm run test:reliability` (vitest.reliability.config.ts).
    exclude: ['test/reliability/**', '**/node_modules/**'],
    // Suites start their own local runtime (embedded DynamoDB, S3, Step Functions):
    // give them room, and run them in separate processes.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // s3rver's ListObjectsV2 continuation tokens need the legacy OpenSSL provider on Node 24.
    execArgv: ['--openssl-legacy-provider'],
  },
});
