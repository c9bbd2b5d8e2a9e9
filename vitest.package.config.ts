import { defineConfig } from 'vitest/config';

// `npm run test:package`: packs the package and installs it into temporary apps (test/package). Kept out of
// `npm test` (vitest.config.ts excludes it); .ci/run runs both.
export default defineConfig({
  test: {
    include: ['test/package/**/*.test.ts'],
    // One real PostgreSQL for the run: the local one, else an embedded one (POOLSCOPE_TEST_DATABASE_URL).
    globalSetup: ['test/support/postgres.global.ts'],
    setupFiles: ['test/support/process-warnings.setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 180_000,
  },
});
