import { fork } from 'node:child_process';
import { once } from 'node:events';
import type http from 'node:http';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createClients,
  createPgPool,
  loadConfig,
  PgAcquireTimeoutError,
  PoolAcquireTimeoutError,
  PoolClosedError,
  PoolConfigError,
  PoolFleetUnavailableError,
  type PgPool,
  type PoolOptions,
} from '../src/index.js';
import { testDatabaseUrl } from './support/database.js';
import { parkedResponses } from './support/http-server.js';
import { useCleanup } from './support/harness.js';
import { metricValue } from './support/metrics.js';
import { hasRedis, startRedis, type RedisServer } from './support/redis.js';
import { startTcpProxy } from './support/tcp-proxy.js';

/** A port nothing listens on: the Redis of the "unreachable" tests. */
const NO_REDIS = 'redis://127.0.0.1:1';

/** Waits until `check` holds, at most `ms`: for state only Redis knows (a release reaches it after the request ends). */
async function until(check: () => Promise<boolean> | boolean, ms = 2_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe.runIf(hasRedis())('fleet budget in Redis', () => {
  const cleanup = useCleanup();
  let redis: RedisServer;
  let client: Redis;
  let keys = 0;
  /** A budget key of its own for each test. */
  const freshKey = () => `test_${process.pid}_${++keys}`;
  const leasesInRedis = (key: string) => client.zcard(`semaphore:poolscope:fleet:${key}`);
  /** Processes listening for the releases of a budget. */
  const listenersOf = async (key: string) =>
    Number(((await client.pubsub('NUMSUB', `poolscope:fleet:${key}:released`)) as [string, number])[1]);

  beforeAll(async () => {
    redis = await startRedis();
    client = new Redis(redis.url);
  });
  afterAll(async () => {
    client?.disconnect();
    await redis?.close();
  });

  function fleetPool(
    origin: string,
    fleet: Partial<NonNullable<PoolOptions['fleet']>>,
    extra: Partial<PoolOptions> = {},
  ) {
    const registry = new Registry();
    const pool = cleanup.pool({
      name: extra.name ?? 'fleet_test',
      origin,
      connections: 10,
      registry,
      retry: false,
      ...extra,
      fleet: { redis: redis.url, maxConcurrent: 2, leaseMs: 3_000, logger: { warn: () => undefined }, ...fleet },
    });
    return { pool, registry };
  }

  it('holds two pools sharing a key to maxConcurrent together, whether given a URL or an ioredis client', async () => {
    let inFlight = 0;
    let peak = 0;
    let parking = true;
    const parked = parkedResponses();
    const upstream = await cleanup.upstream((req, res) => {
      peak = Math.max(peak, ++inFlight);
      res.once('finish', () => inFlight--); // before the client can read the response and free its lease
      if (parking) return parked.handler(req, res);
      res.end('ok');
    });
    cleanup.defer(async () => parked.releaseAll());
    const key = freshKey();
    const a = fleetPool(upstream.origin, { key, maxConcurrent: 6 }, { name: 'fleet_a' });
    const b = fleetPool(upstream.origin, { key, maxConcurrent: 6, redis: client }, { name: 'fleet_b' });
    const responses = Promise.all(
      Array.from({ length: 60 }, (_, i) => (i % 2 ? a : b).pool.fetch(`${upstream.origin}/`).then((r) => r.text())),
    );
    // 6 requests reach the upstream and stay there; every other one waits, for a local slot or a lease.
    await upstream.waitForRequests(6);
    await until(() => a.pool.stats().pendingRequests + b.pool.stats().pendingRequests === 54);
    expect(upstream.requests).toBe(6);
    expect(await leasesInRedis(key)).toBe(6);
    parking = false;
    parked.releaseAll();
    expect((await responses).filter((body) => body !== 'ok' && body !== 'done')).toEqual([]);
    expect(peak).toBe(6);
    await until(async () => (await leasesInRedis(key)) === 0);
  });

  it('hands a lease released in one process to a waiter in another at once, not at its next poll', async () => {
    const parked = parkedResponses();
    const arrivals: number[] = [];
    const upstream = await cleanup.upstream((req, res) => {
      arrivals.push(performance.now());
      parked.handler(req, res);
    });
    cleanup.defer(async () => parked.releaseAll());
    const key = freshKey();
    // Two pools, each with its own connection to Redis: two processes, as far as the budget can tell.
    const a = fleetPool(upstream.origin, { key, maxConcurrent: 1 }, { name: 'fleet_a' });
    const b = fleetPool(upstream.origin, { key, maxConcurrent: 1 }, { name: 'fleet_b' });
    const handoffs: number[] = [];
    for (let round = 0; round < 8; round++) {
      const held = a.pool.fetch(`${upstream.origin}/`).then((response) => response.text());
      await upstream.waitForRequests(2 * round + 1);
      const waiting = b.pool.fetch(`${upstream.origin}/`).then((response) => response.text());
      await until(() => b.pool.stats().pendingRequests === 1);
      // The first wait makes b listen for releases (after that it polls only every 50 ms).
      if (round === 0) await until(async () => (await listenersOf(key)) === 1);
      const releasedAt = performance.now();
      parked.releaseOldest();
      await upstream.waitForRequests(2 * round + 2);
      if (round > 0) handoffs.push(arrivals[2 * round + 1]! - releasedAt);
      await held;
      parked.releaseOldest();
      await waiting;
    }
    handoffs.sort((x, y) => x - y);
    // From a's response to b's request at the upstream: a's release, its announcement, b's ask. Polling alone
    // would wait up to 50 ms, 25 at the median.
    expect(handoffs[Math.floor(handoffs.length / 2)]).toBeLessThan(15);
  });

  describe('gives the lease back on every path', () => {
    /** The request's own failure is the path under test, not the test's: it settles either way. */
    const settled = (request: Promise<unknown>) =>
      request.then(
        () => 'fulfilled',
        () => 'rejected',
      );
    const paths: Array<[string, (origin: string, key: string) => Promise<unknown>]> = [
      [
        'a response read to its end',
        async (origin, key) => (await fleetPool(origin, { key }).pool.fetch(`${origin}/ok`)).text(),
      ],
      [
        'an error status',
        async (origin, key) => (await fleetPool(origin, { key }).pool.fetch(`${origin}/fail`)).text(),
      ],
      [
        'a connection refused',
        async (_origin, key) => settled(fleetPool('http://127.0.0.1:1', { key }).pool.fetch('http://127.0.0.1:1/')),
      ],
      [
        'the caller aborting while the upstream holds the request',
        async (origin, key) => {
          const controller = new AbortController();
          const pending = settled(
            fleetPool(origin, { key }).pool.fetch(`${origin}/park`, { signal: controller.signal }),
          );
          await until(async () => (await leasesInRedis(key)) === 1);
          controller.abort();
          return pending;
        },
      ],
      [
        'AbortSignal.timeout (a TimeoutError, not an AbortError)',
        async (origin, key) =>
          settled(fleetPool(origin, { key }).pool.fetch(`${origin}/park`, { signal: AbortSignal.timeout(50) })),
      ],
      [
        'the requestMs deadline',
        async (origin, key) =>
          settled(fleetPool(origin, { key }, { timeouts: { requestMs: 50 } }).pool.fetch(`${origin}/park`)),
      ],
      [
        'a body nobody reads, cut off by requestMs',
        async (origin, key) => {
          const response = await fleetPool(origin, { key }, { timeouts: { requestMs: 100 } }).pool.fetch(
            `${origin}/stall`,
          );
          return settled(response.arrayBuffer());
        },
      ],
      [
        'run() whose function throws',
        async (origin, key) =>
          settled(fleetPool(origin, { key }).pool.run('job', () => Promise.reject(new Error('job failed')))),
      ],
      [
        'close() cutting off a request at its deadline',
        async (origin, key) => {
          const { pool } = fleetPool(origin, { key });
          const pending = settled(pool.fetch(`${origin}/park`));
          await until(async () => (await leasesInRedis(key)) === 1);
          await pool.close(50);
          return pending;
        },
      ],
    ];
    it.each(paths)('%s', async (_name, request) => {
      const parked = parkedResponses();
      const upstream = await cleanup.upstream((req: http.IncomingMessage, res: http.ServerResponse) => {
        if (req.url === '/ok') return void res.end('ok');
        if (req.url === '/fail') return void res.writeHead(500).end('no');
        if (req.url === '/stall') return void res.writeHead(200).write('partial');
        return parked.handler(req, res);
      });
      cleanup.defer(async () => parked.releaseAll());
      const key = freshKey();
      await request(upstream.origin, key);
      await until(async () => (await leasesInRedis(key)) === 0);
    });
  });

  it('counts the wait for a lease as acquire wait and pending, and gives up after acquireMs', async () => {
    const parked = parkedResponses();
    const upstream = await cleanup.upstream(parked.handler);
    cleanup.defer(async () => parked.releaseAll());
    const { pool, registry } = fleetPool(
      upstream.origin,
      { key: freshKey(), maxConcurrent: 1 },
      { timeouts: { acquireMs: 150 } },
    );
    const first = pool.fetch(`${upstream.origin}/`);
    await upstream.waitForRequests(1);
    const startedAt = performance.now();
    const second = pool.fetch(`${upstream.origin}/`);
    await until(() => pool.stats().pendingRequests === 1);
    expect(pool.stats().activeRequests).toBe(1);
    await expect(second).rejects.toBeInstanceOf(PoolAcquireTimeoutError);
    expect(performance.now() - startedAt).toBeLessThan(1_000);
    expect(await metricValue(registry, 'poolscope_pool_acquire_timeouts_total', { pool: 'fleet_test' })).toBe(1);
    expect(await metricValue(registry, 'poolscope_pool_acquire_wait_seconds_count', { pool: 'fleet_test' })).toBe(2);
    expect(await metricValue(registry, 'poolscope_fleet_acquire_wait_seconds_count', { pool: 'fleet_test' })).toBe(2);
    expect(await metricValue(registry, 'poolscope_fleet_leases', { pool: 'fleet_test' })).toBe(1);
    expect(await metricValue(registry, 'poolscope_fleet_max_concurrent', { pool: 'fleet_test' })).toBe(1);
    parked.releaseAll();
    await (await first).text();
    expect(await metricValue(registry, 'poolscope_fleet_leases', { pool: 'fleet_test' })).toBe(0);
  });

  it('leaves no lease behind when the caller aborts while waiting for one', async () => {
    const parked = parkedResponses();
    const upstream = await cleanup.upstream(parked.handler);
    cleanup.defer(async () => parked.releaseAll());
    const key = freshKey();
    const { pool, registry } = fleetPool(upstream.origin, { key, maxConcurrent: 1 });
    const first = pool.fetch(`${upstream.origin}/`);
    await upstream.waitForRequests(1);
    const controller = new AbortController();
    const second = pool.fetch(`${upstream.origin}/`, { signal: controller.signal });
    await until(() => pool.stats().pendingRequests === 1);
    controller.abort(new Error('user went away'));
    await expect(second).rejects.toThrow('user went away');
    expect(
      await metricValue(registry, 'poolscope_request_failures_total', {
        pool: 'fleet_test',
        operation: 'get',
        reason: 'aborted',
      }),
    ).toBe(1);
    expect(await leasesInRedis(key)).toBe(1);
    parked.releaseAll();
    await (await first).text();
    await until(async () => (await leasesInRedis(key)) === 0);
    expect(upstream.requests).toBe(1);
  });

  it('fails a request still waiting for a lease at the close deadline with PoolClosedError, and frees its slot', async () => {
    const parked = parkedResponses();
    const upstream = await cleanup.upstream(parked.handler);
    cleanup.defer(async () => parked.releaseAll());
    const key = freshKey();
    const { pool } = fleetPool(upstream.origin, { key, maxConcurrent: 1 }, { timeouts: { acquireMs: 10_000 } });
    const first = pool.fetch(`${upstream.origin}/`).catch((e: unknown) => e);
    await upstream.waitForRequests(1);
    const second = pool.fetch(`${upstream.origin}/`).catch((e: unknown) => e);
    await until(() => pool.stats().pendingRequests === 1);
    const startedAt = performance.now();
    await pool.close(100);
    expect(await second).toBeInstanceOf(PoolClosedError);
    expect(await first).toBeInstanceOf(PoolClosedError);
    expect(performance.now() - startedAt).toBeLessThan(2_000);
    expect(pool.stats().activeRequests + pool.stats().pendingRequests).toBe(0);
    expect(upstream.requests).toBe(1);
    await until(async () => (await leasesInRedis(key)) === 0);
  });

  it.each([
    ['its caller aborted', { acquireMs: 0 }],
    ['its acquireMs ran out', { acquireMs: 300 }],
  ])(
    'gives back at once a lease Redis granted as %s, and the caller does not wait for the answer',
    async (_, { acquireMs }) => {
      const proxy = await startTcpProxy(redis.port);
      cleanup.defer(() => proxy.close());
      const upstream = await cleanup.upstream((_req, res) => res.end('ok'));
      const key = freshKey();
      // leaseMs far beyond the test: the lease must go back because it is released, never because it expired.
      const { pool } = fleetPool(
        upstream.origin,
        { key, maxConcurrent: 1, leaseMs: 60_000, redis: `redis://127.0.0.1:${proxy.port}` },
        { timeouts: { acquireMs } },
      );
      const url = `${upstream.origin}/`;
      expect(await (await pool.fetch(url)).text()).toBe('ok'); // connected, its script loaded
      await until(async () => (await leasesInRedis(key)) === 0);

      proxy.holdReplies();
      const controller = new AbortController();
      const reason = new Error('the user left');
      const startedAt = performance.now();
      const call = pool.fetch(url, { signal: controller.signal }).catch((e: unknown) => e);
      // Redis has run the acquire and granted the lease; its answer waits in the proxy.
      await until(async () => (await leasesInRedis(key)) === 1);
      if (acquireMs === 0) controller.abort(reason);
      const error = await call;
      if (acquireMs === 0) expect(error).toBe(reason);
      else {
        expect(error).toBeInstanceOf(PoolAcquireTimeoutError);
        expect(performance.now() - startedAt).toBeLessThan(acquireMs + 500);
      }
      expect(upstream.requests).toBe(1);

      proxy.releaseReplies(); // the grant arrives after its caller gave up
      await until(async () => (await leasesInRedis(key)) === 0);
      // The cap is whole: the next request takes the fleet's one lease.
      expect(await (await pool.fetch(url)).text()).toBe('ok');
      expect(upstream.requests).toBe(2);
    },
  );

  it("leaves an app's own ioredis client with the listeners it had once the pool is closed", async () => {
    const upstream = await cleanup.upstream((_req, res) => res.end('ok'));
    const own = new Redis(redis.url);
    cleanup.defer(async () => void own.disconnect());
    await once(own, 'ready');
    const before = own.eventNames().map((name) => [name, own.listenerCount(name)]);
    for (let i = 0; i < 12; i++) {
      const { pool } = fleetPool(upstream.origin, { key: freshKey(), redis: own }, { name: `fleet_own_${i}` });
      await (await pool.fetch(`${upstream.origin}/`)).text();
      await pool.close();
    }
    expect(own.eventNames().map((name) => [name, own.listenerCount(name)])).toEqual(before);
  });

  it('lets 30 requests wait for one lease without a listener-leak warning', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    cleanup.defer(async () => void process.off('warning', onWarning));
    const upstream = await cleanup.upstream((_req, res) => res.end('ok'));
    const { pool } = fleetPool(upstream.origin, { key: freshKey(), maxConcurrent: 1 }, { connections: 30 });
    const bodies = await Promise.all(
      Array.from({ length: 30 }, async () => (await pool.fetch(`${upstream.origin}/`)).text()),
    );
    expect(bodies.filter((b) => b !== 'ok')).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
    expect(warnings).toEqual([]);
  });

  it("fails fast with PoolFleetUnavailableError under onUnavailable 'reject' while Redis is unreachable", async () => {
    const upstream = await cleanup.upstream((_req, res) => res.end('ok'));
    const { pool, registry } = fleetPool(upstream.origin, { redis: NO_REDIS, onUnavailable: 'reject' });
    const startedAt = performance.now();
    const error = await pool.fetch(`${upstream.origin}/`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PoolFleetUnavailableError);
    expect(error).toMatchObject({ code: 'POOLSCOPE_FLEET_UNAVAILABLE', pool: 'fleet_test', key: 'fleet_test' });
    expect((error as Error).cause).toBeInstanceOf(Error); // what Redis' client said, for the logs
    // Fast: no wait for acquireMs (5 s by default) nor for ioredis' reconnect attempts.
    expect(performance.now() - startedAt).toBeLessThan(1_000);
    expect(upstream.requests).toBe(0);
    expect(
      await metricValue(registry, 'poolscope_fleet_errors_total', { pool: 'fleet_test', reason: 'unavailable' }),
    ).toBe(1);
    expect(
      await metricValue(registry, 'poolscope_request_failures_total', {
        pool: 'fleet_test',
        operation: 'get',
        reason: 'fleet_unavailable',
      }),
    ).toBe(1);
  });

  it("runs requests under the local bound under onUnavailable 'local', counted each time and logged once", async () => {
    const upstream = await cleanup.upstream((_req, res) => res.end('ok'));
    const warnings: string[] = [];
    const { pool, registry } = fleetPool(upstream.origin, {
      redis: NO_REDIS,
      logger: { warn: (_o, msg) => warnings.push(msg) },
    });
    for (let i = 0; i < 3; i++) expect(await (await pool.fetch(`${upstream.origin}/`)).text()).toBe('ok');
    expect(
      await metricValue(registry, 'poolscope_fleet_errors_total', { pool: 'fleet_test', reason: 'unavailable' }),
    ).toBe(3);
    expect(warnings).toEqual([
      'Pool "fleet_test" cannot reach Redis for fleet budget "fleet_test": requests run under the local bound only until it answers again',
    ]);
    for (const reason of ['renewal_failed', 'lease_lost', 'release_failed']) {
      expect(await metricValue(registry, 'poolscope_fleet_errors_total', { pool: 'fleet_test', reason })).toBe(0);
    }
  });

  it('refuses fleet options it cannot honour, naming the option and never the URL', () => {
    const origin = 'http://127.0.0.1:1';
    const build = (fleet: unknown) => () =>
      cleanup.pool({ name: 'bad_fleet', origin, fleet: fleet as PoolOptions['fleet'] });
    expect(build({ redis: NO_REDIS })).toThrow(expect.objectContaining({ option: 'fleet.maxConcurrent' }));
    expect(build({ redis: NO_REDIS, maxConcurrent: 0 })).toThrow(
      expect.objectContaining({ option: 'fleet.maxConcurrent' }),
    );
    expect(build({ redis: NO_REDIS, maxConcurrent: 1, maxConcurent: 2 })).toThrow(
      expect.objectContaining({ option: 'fleet.maxConcurent' }),
    );
    expect(build({ redis: NO_REDIS, maxConcurrent: 1, onUnavailable: 'ignore' })).toThrow(
      expect.objectContaining({ option: 'fleet.onUnavailable' }),
    );
    expect(build({ redis: NO_REDIS, maxConcurrent: 1, leaseMs: 10 })).toThrow(
      expect.objectContaining({ option: 'fleet.leaseMs' }),
    );
    const badUrl = build({ redis: 'http://user:s3cret@redis:6379', maxConcurrent: 1 });
    expect(badUrl).toThrow(PoolConfigError);
    expect(badUrl).toThrow(/^(?!.*s3cret)/s);
  });

  it("shows why poolscope renews leases itself: redis-semaphore's own refresh ends the process when Redis goes away", async () => {
    const own = await startRedis();
    cleanup.defer(() => own.close());
    const child = fork(fileURLToPath(new URL('./support/semaphore-refresh-crash.mjs', import.meta.url)), [own.url], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    cleanup.defer(async () => void child.kill('SIGKILL'));
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await Promise.race([
      once(child, 'message'),
      exited.then((c) => Promise.reject(new Error(`exited with ${c} before acquiring: ${stderr}`))),
    ]);
    await own.stop();
    const code = await Promise.race([exited, new Promise<'alive'>((resolve) => setTimeout(resolve, 5_000, 'alive'))]);
    expect(code).not.toBe('alive');
    expect(code).not.toBe(0);
    // Nothing else runs in that process once the lease is held: the failed refresh is what ends it, as an
    // unhandled rejection of ioredis' error (which one depends on where the refresh was when Redis went away).
    expect(stderr).toMatch(
      /_processRefresh|refreshSemaphore|MaxRetriesPerRequestError|Stream isn't writeable|Connection is closed/,
    );
  });

  it('keeps the process up and counts renewal_failed when Redis goes away under a held lease', async () => {
    const own = await startRedis();
    cleanup.defer(() => own.close());
    const parked = parkedResponses();
    const upstream = await cleanup.upstream(parked.handler);
    cleanup.defer(async () => parked.releaseAll());
    const { pool, registry } = fleetPool(upstream.origin, { redis: own.url, leaseMs: 60 });
    const pending = pool.fetch(`${upstream.origin}/`);
    await upstream.waitForRequests(1);
    await own.stop();
    await until(
      async () =>
        (await metricValue(registry, 'poolscope_fleet_errors_total', {
          pool: 'fleet_test',
          reason: 'renewal_failed',
        })) >= 1,
    );
    parked.releaseAll();
    expect(await (await pending).text()).toBe('done');
    expect(
      await metricValue(registry, 'poolscope_fleet_errors_total', { pool: 'fleet_test', reason: 'release_failed' }),
    ).toBe(1);
  });

  it("keeps a long request's lease in Redis for as long as it runs, renewing it within leaseMs", async () => {
    const parked = parkedResponses();
    const upstream = await cleanup.upstream(parked.handler);
    cleanup.defer(async () => parked.releaseAll());
    const key = freshKey();
    const { pool } = fleetPool(upstream.origin, { key, maxConcurrent: 1, leaseMs: 300 });
    const pending = pool.fetch(`${upstream.origin}/`);
    await upstream.waitForRequests(1);
    // Four lease lifetimes: renewed every leaseMs / 3, the lease never expires while the request runs.
    const until4Lives = performance.now() + 4 * 300;
    while (performance.now() < until4Lives) {
      expect(await leasesInRedis(key)).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    parked.releaseAll();
    await (await pending).text();
    await until(async () => (await leasesInRedis(key)) === 0);
  });

  it('times the wait for a lease in seconds, in poolscope_fleet_acquire_wait_seconds', async () => {
    const parked = parkedResponses();
    const upstream = await cleanup.upstream(parked.handler);
    cleanup.defer(async () => parked.releaseAll());
    const { pool, registry } = fleetPool(upstream.origin, { key: freshKey(), maxConcurrent: 1 });
    const first = pool.fetch(`${upstream.origin}/`);
    await upstream.waitForRequests(1);
    const second = pool.fetch(`${upstream.origin}/`);
    await until(() => pool.stats().pendingRequests === 1);
    const waitStarted = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 200));
    parked.releaseOldest();
    await (await first).text();
    await upstream.waitForRequests(2);
    const waitedS = (performance.now() - waitStarted) / 1000;
    parked.releaseAll();
    await (await second).text();
    const sum = await metricValue(registry, 'poolscope_fleet_acquire_wait_seconds_sum', { pool: 'fleet_test' });
    expect(await metricValue(registry, 'poolscope_fleet_acquire_wait_seconds_count', { pool: 'fleet_test' })).toBe(2);
    expect(sum).toBeGreaterThanOrEqual(0.2);
    expect(sum).toBeLessThan(waitedS + 0.5);
  });

  it('counts lease_lost when Redis comes back without the leases it held, and says so in the log', async () => {
    const own = await startRedis();
    cleanup.defer(() => own.close());
    const parked = parkedResponses();
    const upstream = await cleanup.upstream(parked.handler);
    cleanup.defer(async () => parked.releaseAll());
    const logged: Array<[string, string]> = [];
    const { pool, registry } = fleetPool(upstream.origin, {
      redis: own.url,
      leaseMs: 90,
      logger: { warn: (_o, msg) => logged.push(['warn', msg]), info: (_o, msg) => logged.push(['info', msg]) },
    });
    const pending = pool.fetch(`${upstream.origin}/`);
    await upstream.waitForRequests(1);
    await own.stop();
    await own.start();
    await until(
      async () =>
        (await metricValue(registry, 'poolscope_fleet_errors_total', { pool: 'fleet_test', reason: 'lease_lost' })) ===
        1,
      5_000,
    );
    expect(await metricValue(registry, 'poolscope_fleet_leases', { pool: 'fleet_test' })).toBe(0);
    await until(() => logged.some(([, msg]) => msg.includes('lost 1 fleet lease')));
    expect(logged).toContainEqual([
      'warn',
      'Pool "fleet_test" lost 1 fleet lease(s) of budget "fleet_test": Redis no longer held them; those requests run on outside the fleet cap',
    ]);
    parked.releaseAll();
    await (await pending).text();
  });

  it('logs Redis going away once and coming back once, naming what the budget enforces again', async () => {
    const own = await startRedis();
    cleanup.defer(() => own.close());
    const upstream = await cleanup.upstream((_req, res) => res.end('ok'));
    const logged: Array<[string, string]> = [];
    const { pool } = fleetPool(upstream.origin, {
      redis: own.url,
      maxConcurrent: 3,
      logger: { warn: (_o, msg) => logged.push(['warn', msg]), info: (_o, msg) => logged.push(['info', msg]) },
    });
    await (await pool.fetch(`${upstream.origin}/`)).text();
    await own.stop();
    for (let i = 0; i < 3; i++) await (await pool.fetch(`${upstream.origin}/`)).text(); // the local bound only
    await own.start();
    await until(async () => {
      await (await pool.fetch(`${upstream.origin}/`)).text();
      return logged.some(([level]) => level === 'info');
    }, 10_000);
    expect(logged).toEqual([
      [
        'warn',
        'Pool "fleet_test" cannot reach Redis for fleet budget "fleet_test": requests run under the local bound only until it answers again',
      ],
      ['info', 'Pool "fleet_test" reaches Redis again: fleet budget "fleet_test" enforced (maxConcurrent=3)'],
    ]);
  });

  it('gives the pools of createClients their fleet budgets from the environment, keyed by pool name', async () => {
    const registry = new Registry();
    const clients = createClients(
      loadConfig({
        OPENAI_API_KEY: 'sk-test',
        OPENAI_BASE_URL: 'http://127.0.0.1:1/v1',
        DATABASE_URL: testDatabaseUrl(),
        FLEET_REDIS_URL: redis.url,
        OPENAI_FLEET_MAX_CONCURRENT: '7',
        DATABASE_FLEET_MAX_CONCURRENT: '3',
        FLEET_ON_UNAVAILABLE: 'reject',
      }),
      { registry },
    );
    cleanup.defer(() => clients.close());
    expect(clients.handles.openai?.pool.options.fleet).toMatchObject({
      key: 'openai',
      maxConcurrent: 7,
      onUnavailable: 'reject',
    });
    expect(await metricValue(registry, 'poolscope_fleet_max_concurrent', { pool: 'openai' })).toBe(7);
    expect(await metricValue(registry, 'poolscope_fleet_max_concurrent', { pool: 'postgres' })).toBe(3);
    expect(
      await metricValue(registry, 'poolscope_fleet_errors_total', { pool: 'postgres', reason: 'unavailable' }),
    ).toBe(0);
  });

  it("logs createClients' fleet transitions to the logger it is given", async () => {
    const warnings: string[] = [];
    const clients = createClients(
      loadConfig({
        OPENAI_API_KEY: 'sk-test',
        OPENAI_BASE_URL: 'http://127.0.0.1:1/v1',
        FLEET_REDIS_URL: NO_REDIS,
        OPENAI_FLEET_MAX_CONCURRENT: '7',
      }),
      { registry: new Registry(), logger: { warn: (_obj, msg) => warnings.push(msg) } },
    );
    cleanup.defer(() => clients.close());
    await clients.handles.openai!.pool.fetch('http://127.0.0.1:1/v1/models').catch(() => undefined);
    expect(warnings).toEqual([
      'Pool "openai" cannot reach Redis for fleet budget "openai": requests run under the local bound only until it answers again',
    ]);
  });

  describe('on a Postgres pool', () => {
    async function fleetPgPool(
      name: string,
      key: string,
      maxConcurrent: number,
      connectionTimeoutMs = 5_000,
    ): Promise<{ pool: PgPool; registry: Registry }> {
      const registry = new Registry();
      const pool = await createPgPool({
        name,
        connectionString: testDatabaseUrl(),
        max: 4,
        connectionTimeoutMs,
        registry,
        logger: { warn: () => undefined },
        fleet: { redis: redis.url, key, maxConcurrent, leaseMs: 3_000, logger: { warn: () => undefined } },
      });
      cleanup.defer(() => pool.close(1_000));
      return { pool, registry };
    }

    it('holds the checkouts of two pools sharing a key to maxConcurrent, and gives each lease back with its client', async () => {
      const key = freshKey();
      const pools = [await fleetPgPool('fleet_pg_a', key, 3), await fleetPgPool('fleet_pg_b', key, 3)];
      let running = 0;
      let peak = 0;
      await Promise.all(
        Array.from({ length: 16 }, (_, i) =>
          pools[i % 2]!.pool.run('sleep', async (client) => {
            peak = Math.max(peak, ++running);
            await client.query('select pg_sleep(0.01)');
            running--;
          }),
        ),
      );
      expect(peak).toBe(3);
      await until(async () => (await leasesInRedis(key)) === 0);
    });

    it('fails a checkout that gets no lease within connectionTimeoutMs with PgAcquireTimeoutError, counted', async () => {
      const { pool, registry } = await fleetPgPool('fleet_pg_wait', freshKey(), 1, 150);
      let finish!: () => void;
      const holding = pool.run('hold', () => new Promise<void>((resolve) => (finish = resolve)));
      await until(() => pool.stats().activeRequests === 1);
      const error = await pool.query('select 1').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PgAcquireTimeoutError);
      expect(await metricValue(registry, 'poolscope_pool_acquire_timeouts_total', { pool: 'fleet_pg_wait' })).toBe(1);
      finish();
      await holding;
      expect((await pool.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
    });
  });
});
