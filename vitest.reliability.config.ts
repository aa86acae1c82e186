import { defineConfig } from 'vitest/config';

/**
 * The reliability suite: concurrency, injected faults, hostile input, damaged
 * archives, exact round trips. Slow, so `npm test` (vitest.config.ts) leaves it out and
 * CI runs it next with `npm run test:reliability`.
 */
export default defineConfig({
  test: {
    include: ['test/reliability/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two cores: at most two suites (each with its own local runtime) at once.
    maxWorkers: 2,
    // s3rver's ListObjectsV2 continuation tokens need the legacy OpenSSL provider on Node 24.
    execArgv: ['--openssl-legacy-provider'],
    // Handlers' JSON logs are kept out of the output and checked for secrets after each file.
    setupFiles: ['test/support/log-capture.ts'],
  },
});
