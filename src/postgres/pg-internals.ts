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
    host?: string;
    port?: number;
  };
  options: unknown;
}

export interface PgConnectionInternals {
  stream?: { destroy(): void };
  on(event: 'connect' | 'error' | 'end', listener: () => void): void;
  connect(port: number | string | undefined, host?: string): void;
  /** Sends PostgreSQL's CancelRequest for a backend. */
  cancel(processID: number, secretKey: number): void;
}

export interface PgClientInternals {
  /** True from `connect()` until the server is ready for queries. */
  _connecting?: boolean;
  /** The statement running now (pg 8.23+; its public `activeQuery` getter prints a DeprecationWarning). */
  _activeQuery?: unknown;
  processID?: number | null;
  secretKey?: number | null;
  connection?: PgConnectionInternals;
}

/**
 * Asks the server to cancel what `client` is running: PostgreSQL's cancel request, sent on a connection of its
 * own with the client's backend key — no login, so it works even when the server is at `max_connections`.
 * Resolves once the server has taken it (it closes that connection) or after `timeoutMs`, whichever is first.
 */
export function cancelRunning(pool: PgPoolInternals, client: PoolClient, timeoutMs: number): Promise<void> {
  const { _activeQuery, processID, secretKey } = client as unknown as PgClientInternals;
  if (!_activeQuery || !processID || secretKey === undefined || secretKey === null) return Promise.resolve();
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
    // What pg's own `Client#cancel` does, without its check of `client.activeQuery` (deprecated in pg 8.23).
    const { connection, host, port } = canceller;
    connection.on('connect', () => connection.cancel(processID, secretKey));
    try {
      if (host?.startsWith('/')) connection.connect(`${host}/.s.PGSQL.${port}`);
      else connection.connect(port, host);
    } catch {
      done();
    }
  });
}
