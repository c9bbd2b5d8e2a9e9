import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { inspect } from 'node:util';
import pg from 'pg';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createPgPool,
  createPgPoolSync,
  createPostgresFacade,
  instrumentPgPool,
  pgPoolOptionsFromConfig,
  sqlVerb,
  type PgPool,
  type PgPoolLogger,
  type PgPoolOptions,
} from '../src/postgres/index.js';
import {
  PgAcquireTimeoutError,
  PoolAcquireTimeoutError,
  PoolConfigError,
  PoolConnectError,
} from '../src/errors/index.js';
import type { DatabaseConfig } from '../src/config/types.js';
import { metricValue, metricValueOrAbsent } from './support/metrics.js';
import { startSilentListener } from './support/silent-listener.js';
import { testDatabaseUrl } from './support/database.js';

/** The real PostgreSQL of this machine and CI: trust auth, database `test`. */
const DATABASE_URL = testDatabaseUrl();

let admin: pg.Client;
beforeAll(async () => {
  admin = new pg.Client({ connectionString: DATABASE_URL, application_name: 'poolscope_test_admin' });
  await admin.connect();
});
afterAll(async () => {
  await admin?.end();
});

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function uniqueName(): string {
  return `pgtest_${randomBytes(4).toString('hex')}`;
}

interface Logged {
  level: 'warn' | 'info';
  obj: Record<string, unknown>;
  msg: string;
}

function captureLogger(): PgPoolLogger & { lines: Logged[] } {
  const lines: Logged[] = [];
  return {
    lines,
    warn: (obj, msg) => lines.push({ level: 'warn', obj, msg }),
    info: (obj, msg) => lines.push({ level: 'info', obj, msg }),
  };
}

async function pool(options: PgPoolOptions): Promise<PgPool> {
  const created = await createPgPool({ connectionString: DATABASE_URL, logger: captureLogger(), ...options });
  cleanups.push(() => created.close(2_000));
  return created;
}

/** Server connections carrying this application_name right now, from a separate client. */
async function serverConnections(applicationName: string): Promise<number> {
  const { rows } = await admin.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1',
    [applicationName],
  );
  return rows[0]!.n;
}

/** Resolves once `event` has fired `count` times. */
function nthEvent(emitter: PgPool, event: 'request:start' | 'disconnect' | 'connect', count: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    const listener = () => {
      if (++seen === count) {
        emitter.off(event, listener);
        resolve();
      }
    };
    emitter.on(event, listener);
  });
}

/** A promise and its resolve function: the test decides when a held client goes back. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

describe('a pg pool bounded to max connections', () => {
  it('runs 200 concurrent queries on at most 5 server connections and reports the other 195 as pending', async () => {
    const registry = new Registry();
    const name = uniqueName();
    const p = await pool({ name, max: 5, registry });

    const load = Promise.all(Array.from({ length: 200 }, () => p.query('SELECT pg_sleep(0.01)')));
    const pendingAtStart = p.stats().pendingRequests;
    const pendingGauge = await metricValue(registry, 'poolscope_pool_pending_requests', { pool: name });

    let done = false;
    const finished = load.finally(() => (done = true));
    let peak = 0;
    let samples = 0;
    while (!done) {
      peak = Math.max(peak, await serverConnections(`poolscope:${name}`));
      samples++;
    }
    const results = await finished;

    expect(results).toHaveLength(200);
    expect(pendingAtStart).toBe(195);
    expect(pendingGauge).toBeGreaterThan(100);
    expect(samples).toBeGreaterThan(3);
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(5);
    expect(await metricValue(registry, 'poolscope_pool_connections_created_total', { pool: name })).toBeLessThanOrEqual(
      5,
    );
    expect(
      await metricValue(registry, 'poolscope_request_duration_seconds_count', {
        pool: name,
        operation: 'select',
        outcome: 'success',
      }),
    ).toBe(200);
    expect(await metricValue(registry, 'poolscope_pool_acquire_wait_seconds_count', { pool: name })).toBe(200);
    const stats = p.stats();
    expect(stats).toMatchObject({
      maxConnections: 5,
      maxConcurrent: 5,
      pendingRequests: 0,
      totalRequests: 200,
      successfulRequests: 200,
      failedRequests: 0,
    });
    expect(stats.totalConnections).toBeLessThanOrEqual(5);
    console.info(
      `[postgres.test] peak server connections ${peak} over ${samples} samples; pending at start ${pendingAtStart}`,
    );
  });

  it('computes the connection gauges from pg at scrape time: a held client is active, the rest idle', async () => {
    const registry = new Registry();
    const name = uniqueName();
    const p = await pool({ name, max: 4, min: 2, registry });
    const held = gate();
    const started = nthEvent(p, 'request:start', 1);
    const holding = p.run('hold', () => held.opened);
    await started;

    expect(await metricValue(registry, 'poolscope_pool_connections', { pool: name, state: 'active' })).toBe(1);
    expect(await metricValue(registry, 'poolscope_pool_connections', { pool: name, state: 'idle' })).toBe(1);
    expect(await metricValue(registry, 'poolscope_pool_connections_max', { pool: name })).toBe(4);
    expect(await metricValue(registry, 'poolscope_pool_utilization_ratio', { pool: name })).toBe(0.25);
    expect(await metricValue(registry, 'poolscope_pool_max_queued', { pool: name })).toBe(1000);
    held.open();
    await holding;
    expect(await metricValue(registry, 'poolscope_pool_connection_usage_seconds_count', { pool: name })).toBe(1);
  });
});

describe('min connections', () => {
  it('opens min connections before createPgPool resolves and keeps them when the idle ones above min are closed', async () => {
    const name = uniqueName();
    const registry = new Registry();
    const p = await pool({ name, max: 4, min: 2, idleTimeoutMs: 50, registry });
    expect(await serverConnections(`poolscope:${name}`)).toBe(2);
    expect(await metricValue(registry, 'poolscope_pool_connections_min', { pool: name })).toBe(2);
    expect(await metricValue(registry, 'poolscope_pool_connections', { pool: name, state: 'connecting' })).toBe(0);
    expect(await metricValue(registry, 'poolscope_pool_connection_create_seconds_count', { pool: name })).toBe(2);
    expect(p.stats()).toMatchObject({ idleConnections: 2, totalConnections: 2 });

    const twoClosed = nthEvent(p, 'disconnect', 2);
    await Promise.all(Array.from({ length: 4 }, () => p.query('SELECT pg_sleep(0.02)')));
    await twoClosed;
    expect(p.live().idleConnections).toBe(2);
    expect(await serverConnections(`poolscope:${name}`)).toBe(2);
  });
});

describe('pg options poolscope sets itself', () => {
  it.each([
    [{ pg: { max: 20 } }, 'pg.max'],
    [{ pg: { poolSize: 20 } }, 'pg.poolSize'],
    [{ pg: { idleTimeoutMillis: 1 } }, 'pg.idleTimeoutMillis'],
    [{ connectionString: DATABASE_URL, pg: { connectionString: DATABASE_URL } }, 'pg.connectionString'],
    [{ statementTimeoutMs: 100, pg: { statement_timeout: 200 } }, 'pg.statement_timeout'],
    [{ pg: { maxLifetimeSeconds: 60 } }, 'pg.maxLifetimeSeconds'],
    [{ pg: { keepAlive: false } }, 'pg.keepAlive'],
  ])('refuses %j, which would be silently overridden, naming %s', (options, option) => {
    expect(() => createPgPoolSync(pg, options as PgPoolOptions)).toThrow(
      expect.objectContaining({ code: 'POOLSCOPE_CONFIG_INVALID', option }),
    );
  });

  it('still takes pg options it does not set: ssl, maxUses, a connectionString given only under pg', async () => {
    const p = createPgPoolSync(pg, {
      name: uniqueName(),
      pg: { connectionString: DATABASE_URL, maxUses: 5 },
      registry: new Registry(),
      logger: captureLogger(),
    });
    cleanups.push(() => p.close(2_000));
    await expect(p.query('SELECT 1 AS one')).resolves.toMatchObject({ rows: [{ one: 1 }] });
    expect(p.pool.options.maxUses).toBe(5);
  });
});

describe('connection lifetime and keep-alive', () => {
  it('retires a connection after maxLifetimeMs, up to 2.5% sooner, and refills to min without counting a use', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(1); // the most variance: 2.5% off
    cleanups.push(async () => void vi.restoreAllMocks());
    const name = uniqueName();
    const registry = new Registry();
    const p = createPgPoolSync(pg, {
      connectionString: DATABASE_URL,
      name,
      min: 1,
      maxLifetimeMs: 1_000,
      registry,
      logger: captureLogger(),
    });
    cleanups.push(() => p.close(2_000));
    await nthEvent(p, 'connect', 1);
    const openedAt = performance.now();
    // pg-pool reads the lifetime as each connection opens: this one got 2.5% off.
    expect(p.pool.options.maxLifetimeSeconds).toBe(0.975);
    await nthEvent(p, 'disconnect', 1);
    expect(performance.now() - openedAt).toBeGreaterThanOrEqual(975 - 20);
    await nthEvent(p, 'connect', 1); // back to min
    // pg-pool retires an idle client by checking it out and back: that is not a use of the pool.
    expect(
      await metricValueOrAbsent(registry, 'poolscope_pool_connection_usage_seconds_count', { pool: name }),
    ).toBeUndefined();
  });

  it('turns TCP keep-alive on, probing after keepAliveIntervalMs of silence', async () => {
    const setKeepAlive = vi.spyOn(net.Socket.prototype, 'setKeepAlive');
    cleanups.push(async () => void vi.restoreAllMocks());
    const p = await pool({ name: uniqueName(), keepAliveIntervalMs: 30_000, registry: new Registry() });
    await p.query('SELECT 1');
    expect(setKeepAlive).toHaveBeenCalledWith(true, 30_000);
  });
});

describe("min with pg's maxUses", () => {
  const created = (registry: Registry, name: string) =>
    metricValue(registry, 'poolscope_pool_connections_created_total', { pool: name });
  /** Watches for `ms`: the absence of new connections is the behaviour under test, so it takes a window. */
  const quietFor = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('does not spend a use on warming: max 1, min 1, maxUses 1 serves two callers and then sits still', async () => {
    const name = uniqueName();
    const registry = new Registry();
    const p = createPgPoolSync(pg, {
      connectionString: DATABASE_URL,
      name,
      max: 1,
      min: 1,
      pg: { maxUses: 1 },
      registry,
      logger: captureLogger(),
    });
    cleanups.push(() => p.close(2_000));
    await nthEvent(p, 'connect', 1);
    // Two callers for one client: the second waits, and must be served before any refill.
    const answers = await Promise.all([p.query('SELECT 1 AS n'), p.query('SELECT 2 AS n')]);
    expect(answers.map((a) => a.rows[0])).toEqual([{ n: 1 }, { n: 2 }]);
    // warm-up, the two callers' (each retired after its one use), and one refill back to min.
    await vi.waitFor(async () => expect(await created(registry, name)).toBe(3), { timeout: 5_000, interval: 10 });
    await quietFor(300);
    expect(await created(registry, name)).toBe(3);
    expect(p.live().idleConnections).toBe(1);
  });

  it('opens one connection, not a stream of them, for min 1 with maxUses 1 and no traffic', async () => {
    const name = uniqueName();
    const registry = new Registry();
    await pool({ name, max: 2, min: 1, pg: { maxUses: 1 }, registry });
    await quietFor(300);
    expect(await created(registry, name)).toBe(1);
    expect(await serverConnections(`poolscope:${name}`)).toBe(1);
  });

  it('backs off refilling while the database kills every connection it opens', async () => {
    const name = uniqueName();
    const registry = new Registry();
    await pool({ name, max: 2, min: 1, registry });
    const until = performance.now() + 1_500;
    while (performance.now() < until) {
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [
        `poolscope:${name}`,
      ]);
    }
    // The first refill at once, the next after 1 s, the one after that not before 3 s.
    expect(await created(registry, name)).toBeLessThanOrEqual(3);
  });
});

describe('createPgPoolSync', () => {
  it('returns the pool at once and opens min connections in the background', async () => {
    const name = uniqueName();
    const p = createPgPoolSync(pg, {
      connectionString: DATABASE_URL,
      name,
      min: 2,
      registry: new Registry(),
      logger: captureLogger(),
    });
    cleanups.push(() => p.close(2_000));
    const opened = nthEvent(p, 'connect', 2);
    await opened;
    expect(await serverConnections(`poolscope:${name}`)).toBe(2);
  });
});

describe('timeouts', () => {
  it("fails a statement beyond statementTimeoutMs with pg's 57014, counted as reason=timeout", async () => {
    const registry = new Registry();
    const name = uniqueName();
    const p = await pool({ name, statementTimeoutMs: 200, registry });
    await expect(p.query('SELECT pg_sleep(2)')).rejects.toMatchObject({ code: '57014' });
    expect(
      await metricValue(registry, 'poolscope_request_failures_total', {
        pool: name,
        operation: 'select',
        reason: 'timeout',
      }),
    ).toBe(1);
    expect(
      await metricValue(registry, 'poolscope_request_duration_seconds_count', {
        pool: name,
        operation: 'select',
        outcome: 'error',
      }),
    ).toBe(1);
    // The pool goes on: the timed-out client was replaced.
    await expect(p.query('SELECT 1 AS one')).resolves.toMatchObject({ rows: [{ one: 1 }] });
  });

  it('throws a typed PgAcquireTimeoutError when no client frees up within connectionTimeoutMs, counted as acquire_timeout', async () => {
    const registry = new Registry();
    const name = uniqueName();
    const p = await pool({ name, max: 1, connectionTimeoutMs: 200, registry });
    const held = gate();
    const started = nthEvent(p, 'request:start', 1);
    const holding = p.run('hold', () => held.opened);
    await started;

    const error = await p.query('SELECT 1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PgAcquireTimeoutError);
    expect(error).toBeInstanceOf(PoolAcquireTimeoutError);
    expect(error).toMatchObject({
      code: 'POOLSCOPE_ACQUIRE_TIMEOUT',
      reason: 'acquire_timeout',
      pool: name,
      limitMs: 200,
    });
    expect((error as Error).message).toContain('connectionTimeoutMs=200');
    expect(((error as Error).cause as Error).message).toBe('timeout exceeded when trying to connect');
    expect(
      await metricValue(registry, 'poolscope_request_failures_total', {
        pool: name,
        operation: 'select',
        reason: 'acquire_timeout',
      }),
    ).toBe(1);
    expect(
      await metricValue(registry, 'poolscope_pool_acquire_wait_seconds_sum', { pool: name }),
    ).toBeGreaterThanOrEqual(0.2);
    expect(p.stats()).toMatchObject({ failedRequests: 1, failedConnections: 0 });
    expect(await metricValue(registry, 'poolscope_pool_acquire_timeouts_total', { pool: name })).toBe(1);
    // The app's own checkouts time out the same way, with pg's error unchanged, and count too.
    await expect(p.pool.connect()).rejects.toThrow('timeout exceeded when trying to connect');
    await expect(p.pool.query('SELECT 1')).rejects.toThrow('timeout exceeded when trying to connect');
    expect(await metricValue(registry, 'poolscope_pool_acquire_timeouts_total', { pool: name })).toBe(3);
    held.open();
    await holding;
  });
});

describe('connections lost', () => {
  it("counts the failures when pg_terminate_backend kills the pool's connections mid-load, then recovers", async () => {
    const registry = new Registry();
    const name = uniqueName();
    const logger = captureLogger();
    const p = await pool({ name, max: 5, registry, logger });
    const fiveRunning = nthEvent(p, 'request:start', 5);
    const load = Promise.allSettled(Array.from({ length: 40 }, () => p.query('SELECT pg_sleep(0.05)')));
    await fiveRunning;
    const { rows } = await admin.query<{ killed: boolean }>(
      'SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE application_name = $1',
      [`poolscope:${name}`],
    );
    const results = await load;
    const failed = results.filter((r) => r.status === 'rejected').length;
    console.info(
      `[postgres.test] terminated ${rows.length} backends mid-load: ${failed} of 40 queries failed, ${logger.lines.length} log lines`,
    );

    expect(rows.length).toBeGreaterThan(0);
    expect(failed).toBeGreaterThan(0);
    expect(
      await metricValue(registry, 'poolscope_request_failures_total', {
        pool: name,
        operation: 'select',
        reason: 'other',
      }),
    ).toBe(failed);
    expect(p.stats().failedRequests).toBe(failed);
    expect(
      await metricValue(registry, 'poolscope_pool_connections_closed_total', { pool: name }),
    ).toBeGreaterThanOrEqual(rows.length);

    const after = await Promise.all(Array.from({ length: 10 }, () => p.query('SELECT 1 AS one')));
    expect(after.every((r) => r.rows[0]?.one === 1)).toBe(true);
    expect(p.stats().successfulRequests).toBe(40 - failed + 10);
  });

  it('counts a refused connection as connection error reason=refused and throws PoolConnectError', async () => {
    const registry = new Registry();
    const name = uniqueName();
    const p = await pool({ name, connectionString: 'postgres://postgres@127.0.0.1:1/test', registry });
    const error = await p.query('SELECT 1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PoolConnectError);
    expect(error).toMatchObject({
      code: 'POOLSCOPE_CONNECT_FAILED',
      reason: 'connect_error',
      connectionReason: 'refused',
    });
    expect(
      await metricValue(registry, 'poolscope_pool_connection_errors_total', { pool: name, reason: 'refused' }),
    ).toBe(1);
    expect(
      await metricValue(registry, 'poolscope_request_failures_total', {
        pool: name,
        operation: 'select',
        reason: 'connect_error',
      }),
    ).toBe(1);
    expect(p.stats()).toMatchObject({ failedConnections: 1, connectionErrorsLastMinute: 1 });
  });
});

describe('idle connections and closing', () => {
  it('drops an idle connection the server killed without crashing, logs it, and reopens up to min', async () => {
    const name = uniqueName();
    const logger = captureLogger();
    const p = await pool({ name, max: 4, min: 2, registry: new Registry(), logger });
    const reopened = nthEvent(p, 'connect', 2);
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [
      `poolscope:${name}`,
    ]);
    await reopened;
    expect(logger.lines.filter((l) => l.msg.includes('lost an idle connection'))).toHaveLength(2);
    expect(await serverConnections(`poolscope:${name}`)).toBe(2);
    await expect(p.query('SELECT 1 AS one')).resolves.toMatchObject({ rows: [{ one: 1 }] });
  });

  it('rejects a checkout at once with PoolQueueFullError when maxQueued are already waiting', async () => {
    const registry = new Registry();
    const name = uniqueName();
    const p = await pool({ name, max: 1, maxQueued: 1, registry });
    const held = gate();
    const started = nthEvent(p, 'request:start', 1);
    const holding = p.run('hold', () => held.opened);
    await started;
    const waiting = p.query('SELECT 1');
    await expect(p.query('SELECT 2')).rejects.toMatchObject({ code: 'POOLSCOPE_QUEUE_FULL', limit: 1 });
    expect(
      await metricValue(registry, 'poolscope_request_failures_total', {
        pool: name,
        operation: 'select',
        reason: 'queue_full',
      }),
    ).toBe(1);
    held.open();
    await Promise.all([holding, waiting]);
  });

  it('closes within deadlineMs even when a client is never given back', async () => {
    const p = await createPgPool({
      connectionString: DATABASE_URL,
      name: uniqueName(),
      registry: new Registry(),
      logger: captureLogger(),
    });
    const never = gate();
    const started = nthEvent(p, 'request:start', 1);
    const stuck = p.run('stuck', () => never.opened);
    await started;
    await p.close(100);
    expect(p.pool.ended).toBe(true);
    await expect(p.query('SELECT 1')).rejects.toMatchObject({ code: 'POOLSCOPE_POOL_CLOSED' });
    never.open();
    await stuck;
  });
});

describe('close(deadlineMs) returns by its deadline, whatever the database does', () => {
  /** A database that accepts connections and never says a word. */
  async function blackholedDatabase(): Promise<{ url: string; accepted: () => number }> {
    const listener = await startSilentListener();
    cleanups.push(() => listener.close());
    return { url: `postgres://postgres@127.0.0.1:${listener.port}/test`, accepted: listener.accepted };
  }

  it.each([0, 5_000])(
    'with a client still connecting to a database that never answers (connectionTimeoutMs %i)',
    async (connectionTimeoutMs) => {
      const db = await blackholedDatabase();
      const p = createPgPoolSync(pg, {
        connectionString: db.url,
        name: uniqueName(),
        connectionTimeoutMs,
        registry: new Registry(),
        logger: captureLogger(),
      });
      const query = p.query('SELECT 1').catch((e: unknown) => e);
      await vi.waitFor(() => expect(db.accepted()).toBe(1), { timeout: 5_000, interval: 5 });
      // A client still connecting carries no work: it is neither active nor idle.
      expect(p.live()).toMatchObject({ connectingConnections: 1, activeConnections: 0, idleConnections: 0 });
      const started = performance.now();
      await p.close(500);
      expect(performance.now() - started).toBeLessThan(500 + 100);
      expect(p.pool.totalCount).toBe(0);
      expect(await query).toMatchObject({ code: expect.stringMatching(/^POOLSCOPE_/) });
    },
  );

  it('cancels a statement still running at the deadline on the server, not only on the client', async () => {
    const name = uniqueName();
    const p = await createPgPool({
      connectionString: DATABASE_URL,
      name,
      registry: new Registry(),
      logger: captureLogger(),
    });
    const sleeping = p.query('SELECT pg_sleep(600)').catch((e: unknown) => e);
    const running = async () => {
      const { rows } = await admin.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND state = 'active' AND query LIKE '%pg_sleep(600)%'",
        [`poolscope:${name}`],
      );
      return rows[0]!.n;
    };
    await vi.waitFor(async () => expect(await running()).toBe(1), { timeout: 5_000, interval: 20 });
    const started = performance.now();
    await p.close(400);
    expect(performance.now() - started).toBeLessThan(400 + 100);
    expect(await sleeping).toBeInstanceOf(Error);
    await vi.waitFor(async () => expect(await running()).toBe(0), { timeout: 5_000, interval: 20 });
  });
});

describe('leak detection', () => {
  it('warns once, with the acquiring stack, about a client held past leakDetectionThresholdMs and counts the leak', async () => {
    const registry = new Registry();
    const name = uniqueName();
    const logger = captureLogger();
    const p = await pool({ name, registry, logger, leakDetectionThresholdMs: 100 });
    const leakReported = new Promise<void>((resolve) => p.once('leak', () => resolve()));

    await p.run('leaky_handler', async (client) => {
      await client.query('SELECT 1');
      await leakReported; // held until the pool notices
    });

    const warnings = logger.lines.filter((l) => l.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toContain('Possible connection leak');
    expect(warnings[0]!.obj).toMatchObject({ pool: name, thresholdMs: 100 });
    expect(String(warnings[0]!.obj.stack)).toMatch(/^\s+at .*postgres\.test\.ts/); // the caller first, not poolscope's frames
    expect(await metricValue(registry, 'poolscope_pool_leaks_total', { pool: name })).toBe(1);
    expect(
      await metricValue(registry, 'poolscope_pool_connection_usage_seconds_sum', { pool: name }),
    ).toBeGreaterThanOrEqual(0.1);
    expect(logger.lines.filter((l) => l.level === 'info').map((l) => l.msg)).toEqual([
      expect.stringContaining('was returned'),
    ]);
  });

  it('stays quiet for clients returned within the threshold', async () => {
    const registry = new Registry();
    const name = uniqueName();
    const logger = captureLogger();
    const p = await pool({ name, registry, logger, leakDetectionThresholdMs: 5_000 });
    await Promise.all(Array.from({ length: 20 }, () => p.query('SELECT 1')));
    expect(logger.lines).toEqual([]);
    expect(await metricValue(registry, 'poolscope_pool_leaks_total', { pool: name })).toBe(0);
  });
});

describe('operation names', () => {
  it("labels queries by SQL verb and run() by the caller's name, never by the SQL text", async () => {
    const registry = new Registry();
    const name = uniqueName();
    const p = await pool({ name, registry, maxOperations: 2 });
    await p.query("SELECT 'secret-literal' AS s");
    await p.query({ text: 'WITH x AS (SELECT 1) SELECT * FROM x' });
    await p.run('list_uploads', (c) => c.query('SELECT 1'));
    await p.run('second', () => 1);
    await p.run('third_folds_into_other', () => 1);
    const text = await registry.metrics();
    const operations = new Set(
      [...text.matchAll(/poolscope_request_duration_seconds_count\{[^}]*operation="([^"]+)"/g)].map((m) => m[1]),
    );
    expect([...operations].sort()).toEqual(['list_uploads', 'other', 'second', 'select', 'with']);
    expect(text).not.toContain('secret-literal');
  });

  it('reads the verb past comments and parentheses and folds unknown statements into other', () => {
    expect(sqlVerb('  /* app=api */ -- note\n (SELECT 1)')).toBe('select');
    expect(sqlVerb('insert into t values (1)')).toBe('insert');
    expect(sqlVerb('BEGIN')).toBe('begin');
    expect(sqlVerb("frobnicate 'x'")).toBe('other');
    expect(sqlVerb('/* unterminated')).toBe('other');
  });
});

describe('secrets', () => {
  it('never outputs the password of the connection string: metrics, stats, facade JSON, logs, errors', async () => {
    const secret = `Pw${randomBytes(8).toString('hex')}Zz`;
    const registry = new Registry();
    const name = uniqueName();
    const logger = captureLogger();
    const url = new URL(DATABASE_URL);
    url.password = secret; // trust auth ignores it; pg still sends it along
    const p = await pool({
      name,
      connectionString: url.href,
      max: 1,
      min: 1,
      connectionTimeoutMs: 100,
      registry,
      logger,
      leakDetectionThresholdMs: 50,
    });
    expect(p.pool.options.connectionString).toContain(secret); // it is in there, so the checks below mean something
    const facade = createPostgresFacade(p);

    const outputs: string[] = [];
    const held = gate();
    const leaked = new Promise<void>((resolve) => p.once('leak', () => resolve()));
    const holding = p.run('hold', async (client) => {
      await client.query('SELECT 1');
      await held.opened;
    });
    await leaked;
    const timeout = await p.query('SELECT 1').catch((e: unknown) => e);
    expect(timeout).toBeInstanceOf(PgAcquireTimeoutError);
    outputs.push(String(timeout), (timeout as Error).stack ?? '', inspect(timeout, { depth: 5 }));
    held.open();
    await holding;

    const refusedUrl = new URL(url.href);
    refusedUrl.port = '1';
    const refusedPool = await pool({ name: uniqueName(), connectionString: refusedUrl.href, min: 1, registry, logger });
    const refused = await refusedPool.query('SELECT 1').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(PoolConnectError);
    outputs.push(String(refused), (refused as Error).stack ?? '', inspect(refused, { depth: 5 }));

    const badUrl = await createPgPool({ connectionString: `postgres://postgres:${secret}@[bad/test`, registry }).catch(
      (e: unknown) => e,
    );
    expect(badUrl).toBeInstanceOf(PoolConfigError);
    outputs.push(String(badUrl), inspect(badUrl));

    outputs.push(
      await registry.metrics(),
      JSON.stringify(p.stats()),
      JSON.stringify(p.options),
      JSON.stringify(p),
      inspect(p, { depth: 3 }),
      JSON.stringify(facade.getStats()),
      JSON.stringify(facade.getPoolConfig()),
      JSON.stringify(await facade.healthCheck()),
      JSON.stringify(logger.lines),
    );
    expect(logger.lines.length).toBeGreaterThanOrEqual(2); // the leak, and the warm-up refused
    expect(p.options.target).toBe(`${url.protocol}//${url.username}:***@${url.host}${url.pathname}`);
    for (const output of outputs) expect(output).not.toContain(secret);
  });
});

describe('instrumentPgPool', () => {
  it('measures an existing pg.Pool in place: its query() and connect(), errors unchanged, application_name set', async () => {
    const registry = new Registry();
    const name = uniqueName();
    const existing = new pg.Pool({ connectionString: DATABASE_URL, max: 3 });
    const p = instrumentPgPool(existing, { name, registry, logger: captureLogger() });
    cleanups.push(() => p.close(2_000));

    await existing.query('SELECT 1');
    const viaCallback = await new Promise<number>((resolve, reject) =>
      existing.query('SELECT $1::int AS n', [7], (error, result) =>
        error ? reject(error) : resolve(result.rows[0].n as number),
      ),
    );
    expect(viaCallback).toBe(7);
    const client = await existing.connect();
    await client.query('BEGIN');
    await client.query('ROLLBACK');
    expect(await metricValue(registry, 'poolscope_pool_connections', { pool: name, state: 'active' })).toBe(1);
    expect(await serverConnections(`poolscope:${name}`)).toBeGreaterThanOrEqual(1);
    client.release();
    await p.run('list_uploads', (c) => c.query('SELECT 1'));
    const sqlError = await existing.query('SELECT no_such_column').catch((e: unknown) => e);

    expect(sqlError).toBeInstanceOf(pg.DatabaseError);
    expect(sqlError).toMatchObject({ code: '42703' });
    expect(
      await metricValue(registry, 'poolscope_request_duration_seconds_count', {
        pool: name,
        operation: 'select',
        outcome: 'success',
      }),
    ).toBe(2);
    expect(
      await metricValue(registry, 'poolscope_request_duration_seconds_count', {
        pool: name,
        operation: 'list_uploads',
        outcome: 'success',
      }),
    ).toBe(1);
    expect(
      await metricValue(registry, 'poolscope_request_failures_total', {
        pool: name,
        operation: 'select',
        reason: 'other',
      }),
    ).toBe(1);
    expect(await metricValue(registry, 'poolscope_pool_acquire_wait_seconds_count', { pool: name })).toBe(5);
    expect(await metricValue(registry, 'poolscope_pool_connection_usage_seconds_count', { pool: name })).toBe(5);
    expect(await metricValue(registry, 'poolscope_pool_connections_max', { pool: name })).toBe(3);
    expect(
      await metricValue(registry, 'poolscope_pool_connections_created_total', { pool: name }),
    ).toBeGreaterThanOrEqual(1);
    expect(() => instrumentPgPool(existing, { name: 'again', registry })).toThrow(PoolConfigError);
    // Another pg.Pool under a name already live in this registry would overwrite its gauges: refused.
    const other = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
    cleanups.push(() => other.end());
    expect(() => instrumentPgPool(other, { name, registry })).toThrow(
      expect.objectContaining({ code: 'POOLSCOPE_CONFIG_INVALID', option: 'name' }),
    );
    expect(await metricValue(registry, 'poolscope_pool_connections_max', { pool: name })).toBe(3);
  });
});

describe('a connection that ends as it is handed over', () => {
  /** Makes every checkout's client emit `error` after pg-pool hands it over, before its caller's code runs. */
  function endOnHandover(pool: pg.Pool, error: Error): void {
    pool.on('acquire', (client) => process.nextTick(() => client.emit('error', error)));
  }

  it('fails the query with the error, closes the client, and never leaves the error unhandled', async () => {
    const name = uniqueName();
    const p = await pool({ name, registry: new Registry() });
    const ended = new Error('terminating connection due to administrator command');
    endOnHandover(p.pool, ended);
    await expect(p.query('SELECT 1')).rejects.toBe(ended);
    await vi.waitFor(() => expect(p.pool.totalCount).toBe(0), { timeout: 5_000, interval: 10 });
  });

  it("the app's own pool.connect() survives it, and its guard goes with the release", async () => {
    const name = uniqueName();
    const p = await pool({ name, registry: new Registry() });
    endOnHandover(p.pool, new Error('terminating connection due to administrator command'));
    const client = await p.pool.connect(); // an uncaught 'error' here would fail the run
    expect(client.listenerCount('error')).toBe(1); // the guard, nothing else of poolscope's
    client.release();
    expect(client.listenerCount('error')).toBe(1); // pg-pool's idle listener, as on a plain pg.Pool
  });

  it('warming to min survives it: the client is closed and counted, not thrown at the process', async () => {
    const name = uniqueName();
    const logger = captureLogger();
    const p = createPgPoolSync(pg, { connectionString: DATABASE_URL, name, min: 1, registry: new Registry(), logger });
    cleanups.push(() => p.close(2_000));
    endOnHandover(p.pool, new Error('terminating connection due to administrator command'));
    await vi.waitFor(
      () => expect(logger.lines.map((l) => l.msg)).toContainEqual(expect.stringContaining('could not open 1 of 1')),
      {
        timeout: 5_000,
        interval: 10,
      },
    );
  });
});

describe("pool.query keeps pg-pool's semantics", () => {
  /** Active statements of an application_name, from the admin connection. */
  async function activeStatements(applicationName: string): Promise<number> {
    const { rows } = await admin.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND state = 'active'",
      [applicationName],
    );
    return rows[0]!.n;
  }

  it.each(['plain pg-pool', 'instrumented'])(
    '%s: a query config carrying a callback holds its client until the statement ends',
    async (kind) => {
      const name = uniqueName();
      const raw = new pg.Pool({ connectionString: DATABASE_URL, max: 1, application_name: name });
      cleanups.push(() => raw.end());
      if (kind === 'instrumented') instrumentPgPool(raw, { name, registry: new Registry() });
      const callback = vi.fn();
      const result = raw.query({ text: 'SELECT pg_sleep(0.3), 1 AS one', callback } as unknown as string);
      await vi.waitFor(async () => expect(await activeStatements(name)).toBe(1), { timeout: 5_000, interval: 10 });
      expect(raw.idleCount).toBe(0);
      expect(raw.totalCount).toBe(1);
      expect(await result).toMatchObject({ rows: [{ one: 1 }] });
      expect(callback).not.toHaveBeenCalled(); // pg-pool replaces it with its own
    },
  );

  it.each(['plain pg-pool', 'instrumented', 'PgPool.query'])(
    '%s: an error on the checked-out client fails the query at once',
    async (kind) => {
      const name = uniqueName();
      const raw = new pg.Pool({ connectionString: DATABASE_URL, max: 1, application_name: name });
      cleanups.push(() => raw.end());
      const instrumented =
        kind === 'plain pg-pool' ? undefined : instrumentPgPool(raw, { name, registry: new Registry() });
      const acquired = once(raw, 'acquire') as Promise<[pg.PoolClient]>;
      const query = (
        kind === 'PgPool.query' ? instrumented!.query('SELECT pg_sleep(30)') : raw.query('SELECT pg_sleep(30)')
      ).catch((e: unknown) => e);
      const [client] = await acquired;
      await vi.waitFor(async () => expect(await activeStatements(name)).toBe(1), { timeout: 5_000, interval: 10 });
      const started = performance.now();
      client.emit('error', new Error('expected'));
      expect(await query).toMatchObject({ message: 'expected' });
      expect(performance.now() - started).toBeLessThan(1_000);
      await vi.waitFor(() => expect(raw.totalCount).toBe(0), { timeout: 5_000, interval: 10 });
    },
  );
});

describe('the reference 004 database facade', () => {
  it('answers getStats, getPoolConfig, getQueueStatus and a SELECT 1 health check from the pool', async () => {
    const name = uniqueName();
    const registry = new Registry();
    const p = await pool({ name, max: 3, min: 1, idleTimeoutMs: 30_000, connectionTimeoutMs: 4_000, registry });
    const facade = createPostgresFacade(p);
    await p.query('SELECT 1');

    const health = await facade.healthCheck();
    expect(health).toMatchObject({
      status: 'healthy',
      healthy: true,
      stats: { totalQueries: 2, successfulQueries: 2, failedQueries: 0 },
    });
    expect(health.message).toMatch(/^Database healthy \(response time: \d+ms\)$/);
    expect(await metricValue(registry, 'poolscope_upstream_up', { pool: name })).toBe(1);
    expect(
      await metricValue(registry, 'poolscope_request_duration_seconds_count', {
        pool: name,
        operation: 'health_check',
        outcome: 'success',
      }),
    ).toBe(1);
    expect(facade.getStats()).toMatchObject({ totalConnections: 1, activeConnections: 0, idleConnections: 1 });
    expect(facade.getPoolConfig()).toEqual({
      maxConnections: 3,
      minConnections: 1,
      connectionTimeout: 4_000,
      idleTimeout: 30_000,
      maxRetries: 0,
      retryDelay: 0,
    });
    expect(facade.getQueueStatus()).toEqual({ queueLength: 0, activeRequests: 0, maxConcurrent: 3 });
    facade.resetStats();
    expect(facade.getStats()).toMatchObject({ totalQueries: 0, lastQueryTime: null });
  });

  it('reports unhealthy, without throwing, when the database refuses connections', async () => {
    const registry = new Registry();
    const p = await pool({ name: uniqueName(), connectionString: 'postgres://postgres@127.0.0.1:1/test', registry });
    const health = await createPostgresFacade(p).healthCheck();
    expect(health).toMatchObject({ status: 'unhealthy', healthy: false });
    expect(health.message).toContain('refused');
    expect(await metricValue(registry, 'poolscope_upstream_up', { pool: p.name })).toBe(0);
  });

  it('maps the DATABASE_* configuration onto pool options, reading the non-enumerable url by name', () => {
    const database = {
      poolSize: 7,
      min: 2,
      idleTimeoutMs: 1_000,
      connectionTimeoutMs: 2_000,
      statementTimeoutMs: 3_000,
    } as DatabaseConfig;
    Object.defineProperty(database, 'url', { value: DATABASE_URL, enumerable: false });
    expect(pgPoolOptionsFromConfig(database)).toEqual({
      name: 'postgres',
      connectionString: DATABASE_URL,
      max: 7,
      min: 2,
      idleTimeoutMs: 1_000,
      connectionTimeoutMs: 2_000,
      statementTimeoutMs: 3_000,
      leakDetectionThresholdMs: 30_000,
    });
  });
});
