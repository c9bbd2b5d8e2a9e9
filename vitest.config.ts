import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The package test packs and installs the tarball: `npm run test:package` (vitest.package.config.ts).
    exclude: [...configDefaults.exclude, 'test/package/**'],
    // One real PostgreSQL for the run: the local one, else an embedded one (POOLSCOPE_TEST_DATABASE_URL).
    globalSetup: ['test/support/postgres.global.ts'],
    // A process warning (a listener leak) or an unhandled rejection fails the test it happened in.
    setupFiles: ['test/support/process-warnings.setup.ts'],
    // Tests start real servers and binaries; two cores, so keep parallelism modest.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
