/** The PostgreSQL the tests use: set by the global setup (test/support/postgres.global.ts) before any test runs. */
export function testDatabaseUrl(): string {
  const url = process.env.POOLSCOPE_TEST_DATABASE_URL;
  if (!url)
    throw new Error(
      'POOLSCOPE_TEST_DATABASE_URL is not set: run the tests through vitest (its global setup provides the database)',
    );
  return url;
}
