/**
 * pg-pool's public contract, as an app relies on it, run on the real PostgreSQL against three pools side by
 * side: a plain `pg.Pool` (the reference), the same instrumented with `instrumentPgPool`, and the one
 * `createPgPoolSync` builds. Where poolscope differs on purpose (docs/postgres.md), it is not asserted here.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import pg from 'pg';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createPgPoolSync, instrumentPgPool } from '../src/postgres/index.js';
import { testDatabaseUrl } from './support/database.js';

const DATABASE_URL = testDatabaseUrl();

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

interface Settings {
  max?: number;
  idleTimeoutMillis?: number;
  maxUses?: number;
  maxLifetimeSeconds?: number;
}

const quiet = { warn: () => undefined };

/** The same pg-pool settings, as each kind of pool is configured. */
const kinds: Record<string, (settings: Settings) => pg.Pool> = {
  'plain pg.Pool': (s) => own(new pg.Pool({ connectionString: DATABASE_URL, ...s })),
  instrumentPgPool: (s) => {
    const pool = own(new pg.Pool({ connectionString: DATABASE_URL, ...s }));
    instrumentPgPool(pool, { name: uniqueName(), registry: new Registry(), logger: quiet });
    return pool;
  },
  createPgPoolSync: (s) => {
    const created = createPgPoolSync(pg, {
      connectionString: DATABASE_URL,
      name: uniqueName(),
      registry: new Registry(),
      logger: quiet,
      max: s.max ?? 10,
      idleTimeoutMs: s.idleTimeoutMillis ?? 10_000,
      maxLifetimeMs: (s.maxLifetimeSeconds ?? 0) * 1000,
      ...(s.maxUses !== undefined && { pg: { maxUses: s.maxUses } }),
    });
    return own(created.pool);
  },
};

function own(pool: pg.Pool): pg.Pool {
  cleanups.push(() => (pool.ending ? Promise.resolve() : pool.end()));
  return pool;
}

function uniqueName(): string {
  return `contract_${randomBytes(4).toString('hex')}`;
}

describe.each(Object.keys(kinds))('pg-pool contract: %s', (kind) => {
  const make = kinds[kind]!;

  it('connect() and query() answer in promise and callback forms', async () => {
    const pool = make({ max: 2 });
    const client = await pool.connect();
    expect((await client.query('SELECT 1 AS n')).rows).toEqual([{ n: 1 }]);
    client.release();
    expect((await pool.query('SELECT 2 AS n')).rows).toEqual([{ n: 2 }]);
    const viaCallback = await new Promise<unknown>((resolve, reject) =>
      pool.query('SELECT $1::int AS n', [3], (error: Error | undefined, result: pg.QueryResult) =>
        error ? reject(error) : resolve(result.rows),
      ),
    );
    expect(viaCallback).toEqual([{ n: 3 }]);
    const [error, borrowed, done] = await new Promise<
      [Error | undefined, pg.PoolClient | undefined, (release?: unknown) => void]
    >((resolve) => pool.connect((e, c, d) => resolve([e, c, d])));
    expect(error).toBeUndefined();
    expect((await borrowed!.query('SELECT 4 AS n')).rows).toEqual([{ n: 4 }]);
    done();
    expect(pool.totalCount).toBe(1);
  });

  it('fires connect, acquire, release and remove, and counts totalCount, idleCount and waitingCount', async () => {
    const pool = make({ max: 1 });
    const events: string[] = [];
    for (const event of ['connect', 'acquire', 'release', 'remove'] as const) pool.on(event, () => events.push(event));
    const first = await pool.connect();
    expect([pool.totalCount, pool.idleCount, pool.waitingCount]).toEqual([1, 0, 0]);
    const waiting = pool.connect();
    expect(pool.waitingCount).toBe(1);
    first.release();
    const second = await waiting;
    expect([pool.totalCount, pool.idleCount, pool.waitingCount]).toEqual([1, 0, 0]);
    const removed = once(pool, 'remove');
    second.release(new Error('broken')); // release(err) closes the client instead of pooling it
    await removed;
    expect([pool.totalCount, pool.idleCount]).toEqual([0, 0]);
    expect(events).toEqual(['connect', 'acquire', 'release', 'acquire', 'release', 'remove']);
  });

  it('calls a waiter back inside release(), and connect(cb) back at once on an ended pool', async () => {
    const pool = make({ max: 1 });
    const holder = await pool.connect();
    let waiterCalled = false;
    let waiter: pg.PoolClient | undefined;
    pool.connect((_error, client) => {
      waiterCalled = true;
      waiter = client;
    });
    holder.release();
    expect(waiterCalled).toBe(true);
    waiter!.release();
    await pool.end();
    let endedError: Error | undefined;
    pool.connect((error) => {
      endedError = error;
    });
    expect(endedError?.message).toBe('Cannot use a pool after calling end on the pool');
  });

  it('end() with a client checked out waits for it to come back', async () => {
    const pool = make({ max: 1 });
    const client = await pool.connect();
    let ended = false;
    const ending = pool.end().then(() => (ended = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(ended).toBe(false);
    client.release();
    await ending;
    expect(pool.ended).toBe(true);
  });

  it('retires a client after maxUses checkouts', async () => {
    const pool = make({ max: 1, maxUses: 2 });
    const pids: number[] = [];
    for (let i = 0; i < 3; i++) {
      const client = await pool.connect();
      pids.push((client as unknown as { processID: number }).processID);
      client.release();
    }
    expect(pids[0]).toBe(pids[1]);
    expect(pids[2]).not.toBe(pids[1]);
  });

  it('closes an idle client after idleTimeoutMillis', async () => {
    const pool = make({ max: 1, idleTimeoutMillis: 100 });
    (await pool.connect()).release();
    expect(pool.idleCount).toBe(1);
    await once(pool, 'remove');
    expect(pool.totalCount).toBe(0);
  });

  it('retires an idle client after maxLifetimeSeconds', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0); // no variance, for createPgPoolSync
    cleanups.push(async () => vi.restoreAllMocks());
    const pool = make({ max: 1, maxLifetimeSeconds: 0.3 });
    const connected = performance.now();
    (await pool.connect()).release();
    await once(pool, 'remove');
    expect(performance.now() - connected).toBeGreaterThanOrEqual(300 - 20);
    expect(pool.totalCount).toBe(0);
  });
});

/** The listeners a client carries: pg-pool's own idle listener, the app's, poolscope's. */
function listeners(client: pg.PoolClient): { error: number; end: number } {
  return { error: client.listenerCount('error'), end: client.listenerCount('end') };
}

/** How an app checks a client out and gives it back, each way pg-pool allows. */
const checkouts: Record<string, (pool: pg.Pool) => Promise<void>> = {
  'connect() / release()': async (pool) => (await pool.connect()).release(),
  'connect(cb) / done()': (pool) =>
    new Promise((resolve, reject) =>
      pool.connect((error, _client, done) => {
        if (error) return reject(error);
        done();
        resolve();
      }),
    ),
  'query()': async (pool) => void (await pool.query('SELECT 1')),
  'query(cb)': (pool) =>
    new Promise((resolve, reject) => pool.query('SELECT 1', (error) => (error ? reject(error) : resolve()))),
};

describe.each(Object.keys(checkouts))('listeners on a client checked out 2,000 times by %s', (path) => {
  const checkout = checkouts[path]!;

  /** The one client of a `max: 1` pool: idle after `times` checkouts, then held by the app. */
  async function after(
    kind: string,
    times: number,
  ): Promise<{ idle: ReturnType<typeof listeners>; held: ReturnType<typeof listeners> }> {
    const pool = kinds[kind]!({ max: 1 });
    for (let i = 0; i < times; i++) await checkout(pool);
    const idle = listeners((pool as unknown as { _clients: pg.PoolClient[] })._clients[0]!);
    const client = await pool.connect();
    const held = listeners(client);
    client.release();
    return { idle, held };
  }

  it.each(Object.keys(kinds).filter((kind) => kind !== 'plain pg.Pool'))(
    '%s: no more than plain pg-pool leaves, plus at most one of its own while held',
    async (kind) => {
      const plain = await after('plain pg.Pool', 2_000);
      const first = await after(kind, 1);
      const many = await after(kind, 2_000);
      expect(many).toEqual(first); // nothing grows per checkout
      expect(many.idle).toEqual(plain.idle);
      expect(many.held.end).toBe(plain.held.end);
      // The hand-over guard: a connection that ends as it is handed over must not crash the process.
      expect(many.held.error).toBeLessThanOrEqual(plain.held.error + 1);
    },
  );
});

describe.each(Object.keys(kinds))('a client released with an error (%s)', (kind) => {
  it('is removed carrying no more listeners than plain pg-pool leaves on it', async () => {
    const leftOn = async (make: (settings: Settings) => pg.Pool) => {
      const pool = make({ max: 1 });
      const client = await pool.connect();
      const removed = once(pool, 'remove');
      client.release(new Error('broken'));
      await removed;
      return listeners(client);
    };
    expect(await leftOn(kinds[kind]!)).toEqual(await leftOn(kinds['plain pg.Pool']!));
  });
});
