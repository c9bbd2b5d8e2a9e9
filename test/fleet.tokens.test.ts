import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createClients,
  createPgPool,
  loadConfig,
  PoolAcquireTimeoutError,
  PoolClosedError,
  PoolConfigError,
  PoolFleetUnavailableError,
  type Clients,
  type PoolOptions,
} from '../src/index.js';
import { parseResetDuration } from '../src/fleet/token-window.js';
import { startOpenAISimulator, type OpenAISimulator } from '../src/simulators/index.js';
import { testDatabaseUrl } from './support/database.js';
import { useCleanup } from './support/harness.js';
import { metricValue } from './support/metrics.js';
import { hasRedis, startRedis, type RedisServer } from './support/redis.js';

const NO_REDIS = 'redis://127.0.0.1:1';
const quiet = { warn: () => undefined };

/** Waits until `check` holds, at most `ms`: for state only Redis knows (a count reaches it after the response). */
async function until(check: () => Promise<boolean> | boolean, ms = 3_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe("the upstream's reset durations (x-ratelimit-reset-tokens)", () => {
  it.each([
    ['1s', 1_000],
    ['6m0s', 360_000],
    ['1m30.5s', 90_500],
    ['250ms', 250],
    ['1h2m', 3_720_000],
    ['0s', 0],
  ])('reads %s as %i ms', (text, ms) => expect(parseResetDuration(text)).toBe(ms));
  it.each([null, '', '10', 'soon', '1d', '-1s'])('reads %j as nothing', (text) =>
    expect(parseResetDuration(text)).toBeUndefined(),
  );
});

describe.runIf(hasRedis())('fleet tokens-per-minute budget in Redis', () => {
  const cleanup = useCleanup();
  let redis: RedisServer;
  let client: Redis;
  let sim: OpenAISimulator;
  let keys = 0;
  const freshKey = () => `tokens_${process.pid}_${++keys}`;
  /** Tokens the fleet has counted in its current minute, as Redis holds them. */
  const spentInRedis = async (key: string) => Number((await client.get(`poolscope:fleet-tokens:${key}`)) ?? 0);

  beforeAll(async () => {
    redis = await startRedis();
    client = new Redis(redis.url);
    sim = await startOpenAISimulator({ apiKey: 'sk-test' });
  });
  afterEach(() => {
    sim.resetStats();
    sim.setRateLimits({ remainingTokens: 2_000_000, resetTokens: '0s' });
  });
  afterAll(async () => {
    client?.disconnect();
    await sim?.close();
    await redis?.close();
  });

  /** One replica's OpenAI clients: the official SDK on pool "openai" with the fleet budget given. */
  function replica(fleet: NonNullable<PoolOptions['fleet']>, pool: Partial<PoolOptions> = {}) {
    const registry = new Registry();
    const clients: Clients = createClients(loadConfig({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: sim.baseURL }), {
      registry,
      poolOptions: { openai: { ...pool, fleet: { logger: quiet, ...fleet } } },
    });
    cleanup.defer(() => clients.close());
    const ask = (content = 'hello') =>
      clients.sdk.openai!.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] });
    return { clients, registry, ask, pool: clients.handles.openai!.pool };
  }

  it("counts every response's usage, streamed or not, against one minute shared by the replicas", async () => {
    const key = freshKey();
    const a = replica({ redis: redis.url, key, tokensPerMinute: 100_000, maxConcurrent: 4 });
    const b = replica({ redis: client, key, tokensPerMinute: 100_000, maxConcurrent: 4 });
    await Promise.all([a.ask('one'), a.ask('two'), b.ask('three')]);
    const stream = await b.clients.sdk.openai!.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'streamed' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    for await (const chunk of stream) void chunk;
    const { responses, totalTokens } = sim.usageSent.total;
    expect(responses).toBe(4);
    await until(async () => (await spentInRedis(key)) === totalTokens);
    expect(await metricValue(a.registry, 'poolscope_fleet_tokens_per_minute', { pool: 'openai' })).toBe(100_000);
    // The next request reads the window before it goes: what the whole fleet left, not what this replica spent.
    await a.ask('after');
    expect(await metricValue(a.registry, 'poolscope_fleet_tokens_remaining', { pool: 'openai' })).toBe(
      100_000 - totalTokens,
    );
    expect(await metricValue(a.registry, 'poolscope_fleet_max_concurrent', { pool: 'openai' })).toBe(4);
  });

  it('counts only whole positive token counts, and nothing once the pool is closed', async () => {
    const key = freshKey();
    const a = replica({ redis: redis.url, key, tokensPerMinute: 100_000, maxConcurrent: 4 });
    await a.ask('connects');
    await until(async () => (await spentInRedis(key)) > 0);
    const spent = await spentInRedis(key);
    for (const tokens of [0, -5, 1.5, Number.NaN]) a.pool.recordTokens(tokens);
    a.pool.recordTokens(7);
    await until(async () => (await spentInRedis(key)) === spent + 7);
    await a.clients.close();
    a.pool.recordTokens(1_000); // after close: neither counted nor thrown
    await a.clients.close();
    expect(await spentInRedis(key)).toBe(spent + 7);
  });

  it("holds a replica's requests while the fleet's minute is spent, and lets them go when it ends", async () => {
    const key = freshKey();
    const a = replica({ redis: redis.url, key, tokensPerMinute: 30 });
    const b = replica({ redis: redis.url, key, tokensPerMinute: 30 });
    while ((await spentInRedis(key)) < 30) await a.ask('spend the minute');
    const requestsBefore = sim.stats.requests;
    const startedAt = performance.now();
    const held = b.ask('held');
    await until(() => b.pool.stats().pendingRequests === 1);
    expect(sim.stats.requests).toBe(requestsBefore);
    // The minute ends (here: sooner than 60 s, as when an operator clears the key); the held request goes within 1 s.
    await client.pexpire(`poolscope:fleet-tokens:${key}`, 1);
    await expect(held).resolves.toMatchObject({ object: 'chat.completion' });
    expect(performance.now() - startedAt).toBeLessThan(5_000);
    expect(await metricValue(b.registry, 'poolscope_fleet_acquire_wait_seconds_count', { pool: 'openai' })).toBe(1);
    expect(
      await metricValue(b.registry, 'poolscope_fleet_acquire_wait_seconds_bucket', { pool: 'openai', le: '0.005' }),
    ).toBe(0);
  });

  describe('bounds the wait for a spent minute', () => {
    async function spentPool(extra: Partial<PoolOptions> = {}) {
      const key = freshKey();
      const registry = new Registry();
      const pool = cleanup.pool({
        name: 'tokens_test',
        origin: sim.origin,
        registry,
        retry: false,
        ...extra,
        fleet: { redis: redis.url, key, tokensPerMinute: 10, logger: quiet },
      });
      // An app that wires its own client to pool.fetch counts tokens itself.
      pool.recordTokens(10);
      await until(async () => (await spentInRedis(key)) === 10);
      return { pool, registry };
    }
    const models = (origin: string) => `${origin}/v1/models`;

    it('by acquireMs: PoolAcquireTimeoutError, counted, and the local slot freed', async () => {
      const { pool, registry } = await spentPool({ timeouts: { acquireMs: 200 } });
      await expect(
        pool.fetch(models(sim.origin), { headers: { authorization: 'Bearer sk-test' } }),
      ).rejects.toBeInstanceOf(PoolAcquireTimeoutError);
      expect(await metricValue(registry, 'poolscope_pool_acquire_timeouts_total', { pool: 'tokens_test' })).toBe(1);
      expect(pool.stats()).toMatchObject({ activeRequests: 0, pendingRequests: 0 });
      expect(sim.stats.requests).toBe(0);
    });

    it('by the close deadline: PoolClosedError, the slot freed, nothing sent', async () => {
      const { pool } = await spentPool({ timeouts: { acquireMs: 10_000 } });
      const request = pool.fetch(models(sim.origin)).catch((e: unknown) => e);
      await until(() => pool.stats().pendingRequests === 1);
      const startedAt = performance.now();
      await pool.close(100);
      expect(await request).toBeInstanceOf(PoolClosedError);
      expect(performance.now() - startedAt).toBeLessThan(2_000);
      expect(pool.stats()).toMatchObject({ activeRequests: 0, pendingRequests: 0 });
      expect(sim.stats.requests).toBe(0);
    });

    it('without spinning on a spent minute that has no expiry (set by hand): asked about once a second', async () => {
      const key = freshKey();
      const pool = cleanup.pool({
        name: 'tokens_test',
        origin: sim.origin,
        registry: new Registry(),
        timeouts: { acquireMs: 500 },
        fleet: { redis: redis.url, key, tokensPerMinute: 10, logger: quiet },
      });
      await client.set(`poolscope:fleet-tokens:${key}`, '10');
      await client.config('RESETSTAT');
      await expect(pool.fetch(models(sim.origin))).rejects.toBeInstanceOf(PoolAcquireTimeoutError);
      const reads = /cmdstat_get:calls=(\d+)/.exec(await client.info('commandstats'))?.[1];
      // One read at once, one a second later at most; spinning on msBeforeNext = -1 made hundreds.
      expect(Number(reads)).toBeLessThanOrEqual(2);
    });

    it.each([
      ['AbortError', () => new DOMException('caller left', 'AbortError')],
      ['TimeoutError', () => new DOMException('caller deadline', 'TimeoutError')],
      ['a custom reason', () => new Error('user went away')],
    ])('by the caller aborting with %s: rejected with that reason, counted aborted', async (_name, reason) => {
      const { pool, registry } = await spentPool();
      const controller = new AbortController();
      const request = pool.fetch(models(sim.origin), { signal: controller.signal });
      await until(() => pool.stats().pendingRequests === 1);
      const why = reason();
      controller.abort(why);
      await expect(request).rejects.toBe(why);
      expect(
        await metricValue(registry, 'poolscope_request_failures_total', {
          pool: 'tokens_test',
          operation: 'get',
          reason: 'aborted',
        }),
      ).toBe(1);
      expect(pool.stats()).toMatchObject({ activeRequests: 0, pendingRequests: 0 });
    });
  });

  it('lets a caller abort at once while Redis is slow to answer the read of the minute', async () => {
    const registry = new Registry();
    const pool = cleanup.pool({
      name: 'tokens_test',
      origin: sim.origin,
      registry,
      fleet: { redis: redis.url, key: freshKey(), tokensPerMinute: 1_000, logger: quiet },
    });
    const models = `${sim.origin}/v1/models`;
    await (await pool.fetch(models, { headers: { authorization: 'Bearer sk-test' } })).text();
    // Redis holds every command for 1.5 s: longer than the abort, and than poolscope's 1 s command timeout.
    await client.client('PAUSE', 1_500, 'ALL');
    const startedAt = performance.now();
    const error = await pool.fetch(models, { signal: AbortSignal.timeout(100) }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'TimeoutError' });
    expect(performance.now() - startedAt).toBeLessThan(800);
    expect(pool.stats()).toMatchObject({ activeRequests: 0, pendingRequests: 0 });
  });

  it('pauses every replica when the upstream answers x-ratelimit-remaining-tokens: 0, until its reset', async () => {
    const key = freshKey();
    const a = replica({ redis: redis.url, key, tokensPerMinute: 1_000_000 });
    const b = replica({ redis: redis.url, key, tokensPerMinute: 1_000_000 });
    sim.setRateLimits({ remainingTokens: 0, resetTokens: '1.5s' });
    await a.ask('the last tokens of the organisation');
    // Rounded up to whole seconds: never a block without expiry.
    await until(async () => (await client.pttl(`poolscope:fleet-tokens:${key}`)) > 0);
    expect(await client.pttl(`poolscope:fleet-tokens:${key}`)).toBeLessThanOrEqual(2_000);
    sim.setRateLimits({ remainingTokens: 2_000_000, resetTokens: '0s' });
    const startedAt = performance.now();
    await b.ask('held until the reset');
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(1_000);
    expect(await metricValue(b.registry, 'poolscope_fleet_tokens_remaining', { pool: 'openai' })).toBeGreaterThan(0);
  });

  it('keeps a sub-second reset from blocking the fleet for good', async () => {
    const key = freshKey();
    const a = replica({ redis: redis.url, key, tokensPerMinute: 1_000_000 });
    sim.setRateLimits({ remainingTokens: 0, resetTokens: '250ms' });
    await a.ask();
    await until(async () => (await client.exists(`poolscope:fleet-tokens:${key}`)) === 1);
    const ttl = await client.pttl(`poolscope:fleet-tokens:${key}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1_000);
  });

  it("fails fast with PoolFleetUnavailableError under 'reject', and runs under 'local', counted", async () => {
    const rejecting = replica({ redis: NO_REDIS, tokensPerMinute: 100, onUnavailable: 'reject' });
    const error = await rejecting.ask().catch((e: unknown) => e);
    expect((error as { cause?: unknown }).cause ?? error).toBeInstanceOf(PoolFleetUnavailableError);
    const local = replica({ redis: NO_REDIS, tokensPerMinute: 100, onUnavailable: 'local' });
    await expect(local.ask()).resolves.toMatchObject({ object: 'chat.completion' });
    // The request ran, and its tokens could not be counted either: both are the fleet running without Redis.
    await until(
      async () =>
        (await metricValue(local.registry, 'poolscope_fleet_errors_total', {
          pool: 'openai',
          reason: 'unavailable',
        })) === 2,
    );
  });

  it('refuses token budgets it cannot honour, naming the option', async () => {
    const build = (fleet: unknown) => () =>
      cleanup.pool({ name: 'bad_tokens', origin: sim.origin, fleet: fleet as PoolOptions['fleet'] });
    for (const tokensPerMinute of [0, 1.5, '100'])
      expect(build({ redis: NO_REDIS, tokensPerMinute })).toThrow(
        expect.objectContaining({ option: 'fleet.tokensPerMinute' }),
      );
    await expect(
      createPgPool({
        connectionString: testDatabaseUrl(),
        name: 'pg_tokens',
        fleet: { redis: NO_REDIS, maxConcurrent: 1, tokensPerMinute: 100 },
      }),
    ).rejects.toThrow(PoolConfigError);
  });

  it('gives the OpenAI pool of createClients its token budget from OPENAI_FLEET_TOKENS_PER_MINUTE', async () => {
    const registry = new Registry();
    const clients = createClients(
      loadConfig({
        OPENAI_API_KEY: 'sk-test',
        OPENAI_BASE_URL: sim.baseURL,
        FLEET_REDIS_URL: redis.url,
        OPENAI_FLEET_TOKENS_PER_MINUTE: '90000',
      }),
      { registry },
    );
    cleanup.defer(() => clients.close());
    expect(clients.handles.openai!.pool.options.fleet).toMatchObject({ key: 'openai', tokensPerMinute: 90_000 });
    expect(clients.handles.openai!.pool.options.fleet?.maxConcurrent).toBeUndefined();
    await clients.sdk.openai!.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
    await until(async () => (await spentInRedis('openai')) === sim.usageSent.total.totalTokens);
    expect(await metricValue(registry, 'poolscope_fleet_tokens_per_minute', { pool: 'openai' })).toBe(90_000);
  });
});
