import type { PoolClient } from 'pg';

export type PgConnect = (callback: (error: Error | undefined, client: PoolClient | undefined) => void) => void;

export interface ConnectingClient {
  connect(callback?: (error: Error | null | undefined) => void): Promise<void> | undefined;
}

/** What `close()` needs of pg-pool and pg that their types do not declare (stable across pg 8). */
export interface PgPoolInternals {
  _clients?: PoolClient[];
  /** Clients past `maxLifetimeSeconds`, retired at their next release. */
  _expired?: WeakSet<PoolClient>;
  Client: new (config: unknown) => {
    connection: PgConnectionInternals;
    cancel(client: PoolClient, query: unknown): void;
  };
  options: unknown;
}

export interface PgConnectionInternals {
  stream?: { destroy(): void };
  on(event: 'error' | 'end', listener: () => void): void;
}

export interface PgClientInternals {
  /** True from `connect()` until the server is ready for queries. */
  _connecting?: boolean;
  activeQuery?: unknown;
  processID?: number | null;
  connection?: PgConnectionInternals;
}

/**
 * Asks the server to cancel what `client` is running: PostgreSQL's cancel request, sent on a connection of its
 * own with the client's backend key — no login, so it works even when the server is at `max_connections`.
 * Resolves once the server has taken it (it closes that connection) or after `timeoutMs`, whichever is first.
 */
export function cancelRunning(pool: PgPoolInternals, client: PoolClient, timeoutMs: number): Promise<void> {
  const { activeQuery, processID } = client as unknown as PgClientInternals;
  if (!activeQuery || !processID) return Promise.resolve();
  const canceller = new pool.Client(pool.options);
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      canceller.connection.stream?.destroy();
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    canceller.connection.on('error', done);
    canceller.connection.on('end', done);
    try {
      canceller.cancel(client, activeQuery);
    } catch {
      done();
    }
  });
}
