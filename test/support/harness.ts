import { afterEach } from 'vitest';
import { createPool, type PoolOptions, type UpstreamPool } from '../../src/index.js';
import { startCountingServer, type CountingServer } from './http-server.js';

/** Per-test resources (servers, pools) closed after each test, newest first. */
export function useCleanup() {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });
  return {
    defer(cleanup: () => Promise<void>): void {
      cleanups.push(cleanup);
    },
    /** A counting node:http server on 127.0.0.1:0, closed after the test. */
    async upstream(handler: Parameters<typeof startCountingServer>[0]): Promise<CountingServer> {
      const server = await startCountingServer(handler);
      cleanups.push(() => server.close());
      return server;
    },
    /** A pool closed after the test (in-flight work gets `closeDeadlineMs`). */
    pool(options: PoolOptions, closeDeadlineMs = 500): UpstreamPool {
      const created = createPool(options);
      cleanups.push(() => created.close(closeDeadlineMs));
      return created;
    },
  };
}
