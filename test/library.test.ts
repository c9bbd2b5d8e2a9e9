import express from 'express';
import { Registry, collectDefaultMetrics } from 'prom-client';
import request from 'supertest';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  ConfigError,
  DatabasePool,
  OpenAIPool,
  PgPool,
  PoolConfigError,
  checkDatabaseHealth,
  createClients,
  getClients,
  getOpenAIClient,
  getSupabaseAdminClient,
  loadConfig,
  monitoringRouter,
  monitoringSource,
  registry as defaultRegistry,
  setClients,
  startHealthChecks,
  testConnection,
  testOpenAIConnection,
  type Clients,
  type ConnectionStats,
  type PoolManagerStats,
} from '../src/index.js';
import { metricValue, metricValueOrAbsent } from './support/metrics.js';
import {
  startOpenAISimulator,
  startSupabaseSimulator,
  type OpenAISimulator,
  type SupabaseSimulator,
} from '../src/simulators/index.js';
import { testDatabaseUrl } from './support/database.js';

const DATABASE_URL = testDatabaseUrl();
const OPENAI_KEY = 'sk-test-library-SECRET-0123456789';
const SERVICE_KEY = 'sim-service-role-key';
const TOKEN = 'library-monitoring-token-0123456789';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  vi.unstubAllEnvs();
});

/** The environment of an app, every poolscope variable not named here unset. */
function useEnv(env: Record<string, string>): void {
  for (const name of [
    'SUPABASE_URL',
    'SUPABASE_ANON_KEY',
    'SUPABASE_SERVICE_ROLE_KEY',
    'OPENAI_API_KEY',
    'OPENAI_BASE_URL',
    'PINECONE_API_KEY',
    'DATABASE_URL',
  ]) {
    vi.stubEnv(name, undefined);
  }
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  // The process-wide set is built from this environment at first use, and closed after the test.
  cleanups.push(async () => setClients(undefined));
}

/** The process-wide clients, closed after the test. */
function processClients(): Clients {
  const clients = getClients();
  cleanups.push(() => clients.close(1_000));
  return clients;
}

async function supabaseSim(): Promise<SupabaseSimulator> {
  const sim = await startSupabaseSimulator({ serviceRoleKey: SERVICE_KEY });
  cleanups.push(() => sim.close());
  return sim;
}

async function openaiSim(options: Parameters<typeof startOpenAISimulator>[0] = {}): Promise<OpenAISimulator> {
  const sim = await startOpenAISimulator({ apiKey: OPENAI_KEY, ...options });
  cleanups.push(() => sim.close());
  return sim;
}

function clientSet(env: Record<string, string>, options: Parameters<typeof createClients>[1]): Clients {
  const clients = createClients(loadConfig(env), options);
  cleanups.push(() => clients.close(1_000));
  return clients;
}

describe('the process-wide clients in an app, from the environment', () => {
  it('DATABASE_URL with pg installed gives the Postgres pool, as in the service', async () => {
    useEnv({ DATABASE_URL, DATABASE_POOL_SIZE: '3' });
    const clients = processClients();
    expect(clients.handles.postgres).toBeInstanceOf(PgPool);
    const { rows } = await clients.handles.postgres!.query<{ one: number }>('SELECT 1 AS one');
    expect(rows).toEqual([{ one: 1 }]);
    // With no Supabase, reference 004's DatabasePool is the Postgres pool.
    expect(DatabasePool.getPoolConfig().maxConnections).toBe(3);
    expect(DatabasePool.getStats().totalQueries).toBe(1);
    expect(await testConnection()).toBe(true);
    expect(await metricValue(defaultRegistry, 'poolscope_pool_connections_max', { pool: 'postgres' })).toBe(3);
    expect(await metricValue(defaultRegistry, 'poolscope_upstream_up', { pool: 'postgres' })).toBe(1);
  });

  it('DatabasePool describes the pool it runs on, and each upstream has its own /api/connections entry', async () => {
    const sim = await supabaseSim();
    useEnv({ SUPABASE_URL: sim.url, SUPABASE_SERVICE_ROLE_KEY: SERVICE_KEY, DATABASE_URL });
    const clients = processClients();
    for (let i = 0; i < 3; i++) {
      const { error } = await DatabasePool.executeQuery((db) => db.from('uploads').select('*').limit(1), true);
      expect(error).toBeNull();
    }
    expect(DatabasePool.getStats().totalQueries).toBe(3);
    const stats: ConnectionStats = DatabasePool.getStats();
    expect(stats.successfulQueries).toBe(3);

    const app = express().use(monitoringRouter({ upstreams: clients, token: TOKEN }));
    const body = (await request(app).get('/api/connections/stats').set('Authorization', `Bearer ${TOKEN}`).expect(200))
      .body;
    expect(Object.keys(body.data)).toEqual(['database', 'supabase', 'postgres']);
    expect(body.data.database).toEqual(body.data.supabase);
    expect(body.data.supabase.stats.totalQueries).toBe(3);
    expect(body.data.postgres.stats.totalQueries).toBe(0);
    const postgres = await request(app)
      .get('/api/connections/postgres/health')
      .set('Authorization', `Bearer ${TOKEN}`)
      .expect(200);
    expect(postgres.body.data).toMatchObject({ healthy: true, stats: { totalQueries: 1 } });
  });

  it('DatabasePool.initialize() and OpenAIPool.initialize() before first use configure the pools', async () => {
    const sim = await openaiSim({ behaviour: { latencyMs: 20 } });
    const db = await supabaseSim();
    useEnv({
      SUPABASE_URL: db.url,
      SUPABASE_SERVICE_ROLE_KEY: SERVICE_KEY,
      OPENAI_API_KEY: OPENAI_KEY,
      OPENAI_BASE_URL: sim.baseURL,
    });
    DatabasePool.initialize({
      maxConnections: 7,
      connectionTimeout: 1_500,
      idleTimeout: 2_000,
      maxRetries: 1,
      retryDelay: 50,
    });
    OpenAIPool.initialize({ maxConcurrentRequests: 3, requestTimeout: 9_000 });
    OpenAIPool.initialize({ timeout: 4_000, maxRetries: 0 });
    const clients = processClients();

    expect(DatabasePool.getPoolConfig()).toEqual({
      maxConnections: 7,
      minConnections: 0,
      connectionTimeout: 1_500,
      idleTimeout: 2_000,
      maxRetries: 1,
      retryDelay: 50,
    });
    expect(clients.handles.supabase!.pool.options).toMatchObject({ connections: 7, maxConcurrent: 7 });
    // Two calls merge; the environment's other settings stay.
    expect(OpenAIPool.getPoolConfig()).toEqual({
      maxConcurrentRequests: 3,
      requestTimeout: 9_000,
      maxRetries: 0,
      retryDelay: 100,
      timeout: 4_000,
    });
    await Promise.all(
      Array.from({ length: 12 }, () =>
        getOpenAIClient().embeddings.create({ model: 'text-embedding-3-small', input: 'x' }),
      ),
    );
    expect(sim.stats.peakInFlight).toBe(3);
  });

  it('initialize() refuses, naming the setting, what it cannot honour', () => {
    useEnv({ SUPABASE_URL: 'http://127.0.0.1:9', SUPABASE_SERVICE_ROLE_KEY: SERVICE_KEY, OPENAI_API_KEY: OPENAI_KEY });
    const refused = (run: () => void) => {
      try {
        run();
      } catch (error) {
        expect(error).toBeInstanceOf(PoolConfigError);
        return error as PoolConfigError;
      }
      throw new Error('not refused');
    };
    expect(refused(() => DatabasePool.initialize({ maxConnections: 0 })).option).toBe('maxConnections');
    expect(refused(() => DatabasePool.initialize({ connectionTimeout: 1.5 })).option).toBe('connectionTimeout');
    expect(refused(() => OpenAIPool.initialize({ maxConcurrentRequests: -1 })).option).toBe('maxConcurrentRequests');
    // An HTTP pool opens sockets on demand: there is no minimum to keep open.
    expect(refused(() => DatabasePool.initialize({ minConnections: 10 })).problem).toContain(
      'undici opens HTTP sockets on demand',
    );
    expect(refused(() => DatabasePool.initialize({ maxConnection: 5 } as never)).problem).toContain(
      'known: maxConnections',
    );

    // Once live, a pool is not resized under running requests: the same value passes, another is refused.
    processClients();
    expect(() => OpenAIPool.initialize({ maxConcurrentRequests: 10 })).not.toThrow();
    const live = refused(() => OpenAIPool.initialize({ maxConcurrentRequests: 15, requestTimeout: 90_000 }));
    expect(live.option).toBe('maxConcurrentRequests');
    expect(live.problem).toContain('call OpenAIPool.initialize() before');
    expect(getClients().handles.openai!.pool.options.maxConcurrent).toBe(10);
  });

  it('setClients() refuses a set built without the settings given to initialize(), naming the setting', async () => {
    const db = await supabaseSim();
    const env = { SUPABASE_URL: db.url, SUPABASE_SERVICE_ROLE_KEY: SERVICE_KEY, OPENAI_API_KEY: OPENAI_KEY };
    useEnv(env);
    DatabasePool.initialize({ maxConnections: 7 });
    OpenAIPool.initialize({ maxConcurrentRequests: 3 });
    const own = (extra: Record<string, string>, prefix: string) => {
      const clients = createClients(loadConfig({ ...env, ...extra }), { poolPrefix: prefix });
      cleanups.push(() => clients.close(1_000));
      return clients;
    };
    const without = own({ SUPABASE_POOL_SIZE: '10', OPENAI_MAX_CONCURRENT: '3' }, 'without');
    const error = (() => {
      try {
        setClients(without);
        return undefined;
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(PoolConfigError);
    expect(error).toMatchObject({ option: 'maxConnections', pool: 'supabase' });
    expect((error as PoolConfigError).problem).toContain('setClients()');
    // Not replaced: the process-wide set is still built from the environment and initialize(), at first use.
    expect(processClients().handles.supabase!.pool.options.connections).toBe(7);
    setClients(undefined);

    DatabasePool.initialize({ maxConnections: 7 });
    const matching = own({ SUPABASE_POOL_SIZE: '7', OPENAI_MAX_CONCURRENT: '3' }, 'matching');
    setClients(matching);
    expect(getClients()).toBe(matching);
  });

  it('testConnection, checkDatabaseHealth and testOpenAIConnection answer from the health checks', async () => {
    const sim = await openaiSim();
    const db = await supabaseSim();
    useEnv({
      SUPABASE_URL: db.url,
      SUPABASE_SERVICE_ROLE_KEY: SERVICE_KEY,
      OPENAI_API_KEY: OPENAI_KEY,
      OPENAI_BASE_URL: sim.baseURL,
    });
    processClients();
    expect(await testConnection()).toBe(true);
    expect(await testOpenAIConnection()).toBe(true);
    const health = await checkDatabaseHealth();
    expect(health).toMatchObject({ healthy: true, status: 'healthy', stats: { totalQueries: 0 } });
    expect(health.message).toMatch(/^Database healthy \(response time: \d+ms/);

    sim.behave({ failRate: { status: 503, ratio: 1 } });
    expect(await testOpenAIConnection()).toBe(false);
    expect(await metricValue(defaultRegistry, 'poolscope_upstream_up', { pool: 'openai' })).toBe(0);
  });

  it('a client that is not configured throws ConfigError naming the variable to set', () => {
    useEnv({ OPENAI_API_KEY: OPENAI_KEY });
    processClients();
    expect(() => getSupabaseAdminClient()).toThrow(ConfigError);
    expect(() => getSupabaseAdminClient()).toThrow(/SUPABASE_SERVICE_ROLE_KEY/);
    return expect(testConnection()).rejects.toThrow(/SUPABASE_URL .* or DATABASE_URL/);
  });
});

describe('two client sets side by side', () => {
  it("a poolPrefix keeps the second set's series apart from the first's", async () => {
    const db = await supabaseSim();
    const env = { SUPABASE_URL: db.url, SUPABASE_SERVICE_ROLE_KEY: SERVICE_KEY };
    const registry = new Registry();
    const first = clientSet(env, { registry });
    const second = clientSet(env, { registry, poolPrefix: 'tenant_b' });
    expect(second.pools().map((pool) => pool.name)).toEqual(['tenant_b_supabase']);

    await second.sdk.supabaseAdmin!.from('uploads').select('*');
    await second.sdk.supabaseAdmin!.from('uploads').select('*');
    await first.sdk.supabaseAdmin!.from('uploads').select('*');
    const requests = (pool: string) =>
      metricValue(registry, 'poolscope_request_duration_seconds_count', { pool, outcome: 'success' });
    expect(await requests('tenant_b_supabase')).toBe(2);
    expect(await requests('supabase')).toBe(1);
    expect(first.database!.getStats().totalQueries).toBe(1);
    expect(second.database!.getStats().totalQueries).toBe(2);
  });

  it('a set whose names are taken is refused before it builds anything, and closing a set frees its names', async () => {
    const registry = new Registry();
    const env = {
      SUPABASE_URL: 'http://127.0.0.1:9',
      SUPABASE_SERVICE_ROLE_KEY: SERVICE_KEY,
      OPENAI_API_KEY: OPENAI_KEY,
    };
    const first = createClients(loadConfig(env), { registry });
    const collision = (() => {
      try {
        createClients(loadConfig({ OPENAI_API_KEY: OPENAI_KEY }), { registry });
      } catch (error) {
        return error as PoolConfigError;
      }
      throw new Error('not refused');
    })();
    expect(collision).toBeInstanceOf(PoolConfigError);
    expect(collision.option).toBe('poolPrefix');
    expect(collision.pool).toBe('openai');
    expect(collision.message).toContain('give this set another poolPrefix');
    expect(first.pools().map((pool) => pool.name)).toEqual(['supabase', 'openai']);

    // All or nothing: a bad override leaves no pool of the set behind and no name held.
    const bad = { registry, poolPrefix: 'b', poolOptions: { openai: { connections: 0 } } };
    expect(() => createClients(loadConfig(env), bad)).toThrow(PoolConfigError);
    expect(
      await metricValueOrAbsent(registry, 'poolscope_pool_connections_max', { pool: 'b_supabase' }),
    ).toBeUndefined();
    clientSet(env, { registry, poolPrefix: 'b' });

    await first.close(0);
    clientSet(env, { registry });
    expect(() => createClients(loadConfig(env), { registry, poolPrefix: 'Tenant-B' })).toThrow(/\[a-z\]\[a-z0-9_\]\*/);
  });

  it("pool options in code layer over the environment's, field by field", () => {
    const clients = clientSet(
      { OPENAI_API_KEY: OPENAI_KEY, OPENAI_TIMEOUT: '7' },
      { registry: new Registry(), poolOptions: { openai: { timeouts: { connectMs: 250 }, retry: { maxRetries: 0 } } } },
    );
    const { options } = clients.handles.openai!.pool;
    expect(options.timeouts).toMatchObject({ connectMs: 250, headersMs: 7_000, bodyMs: 7_000 });
    // The client's own retry policy (OpenAI's statuses) stays under the override.
    expect(options.retry).toMatchObject({ maxRetries: 0, nonIdempotent: true });
  });
});

describe('health checks without the service', () => {
  it('monitoringRouter({ healthChecks }) keeps poolscope_upstream_up current with no one calling a health route', async () => {
    const sim = await openaiSim();
    const registry = new Registry();
    const clients = clientSet({ OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: sim.baseURL }, { registry });
    express().use(
      monitoringRouter({
        upstreams: clients,
        registry,
        token: TOKEN,
        healthChecks: { intervalMs: 20, jitter: 0, timeoutMs: 300 },
      }),
    );
    const up = () => metricValueOrAbsent(registry, 'poolscope_upstream_up', { pool: 'openai' });
    const becomes = (value: number) =>
      vi.waitFor(async () => expect(await up()).toBe(value), { timeout: 5_000, interval: 10 });

    await becomes(1);
    // An upstream that never answers: each check gives up at its own timeoutMs.
    sim.behave({ stallHeaders: true });
    await becomes(0);
    sim.behave({ stallHeaders: false });
    sim.releaseStalled();
    await becomes(1);
    expect(
      await metricValue(registry, 'poolscope_health_check_duration_seconds_count', { pool: 'openai' }),
    ).toBeGreaterThanOrEqual(3);

    // Closing the set stops the loop: no check runs after it.
    await clients.close(1_000);
    const after = sim.stats.requests;
    await new Promise((resolve) => setImmediate(resolve));
    expect(sim.stats.requests).toBe(after);
    expect(() => clients.startHealthChecks()).toThrow(PoolConfigError);
  });

  it('one loop per set, stopped once; bad options and plain pools are refused', async () => {
    const registry = new Registry();
    const clients = clientSet({ OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: 'http://127.0.0.1:9/v1' }, { registry });
    const loop = clients.startHealthChecks({ intervalMs: 60_000, timeoutMs: 200 });
    expect(clients.startHealthChecks()).toBe(loop);
    await loop.firstRound;
    // Nothing listens on port 9: down, and said so.
    expect(await metricValue(registry, 'poolscope_upstream_up', { pool: 'openai' })).toBe(0);
    await loop.stop();
    await loop.stop();
    expect(() => startHealthChecks(clients, { jitter: 2 })).toThrow(/healthChecks.jitter/);
    expect(() => startHealthChecks(clients, { intervalMs: 0 })).toThrow(/healthChecks.intervalMs/);
    expect(() => monitoringRouter({ upstreams: monitoringSource([]), healthChecks: true })).toThrow(
      /needs upstreams from createClients/,
    );
  });
});

describe('importing poolscope starts nothing; process metrics are opt-in', () => {
  it("monitoringRouter({ defaultMetrics: true }) adds Node's process metrics, once, beside an app that has its own", async () => {
    const registry = new Registry();
    const source = monitoringSource([]);
    expect(await registry.metrics()).not.toContain('process_cpu_user_seconds_total');
    const app = express().use(monitoringRouter({ upstreams: source, registry, defaultMetrics: true }));
    monitoringRouter({ upstreams: source, registry, defaultMetrics: true });
    const text = (await request(app).get('/metrics').expect(200)).text;
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text.match(/^# TYPE process_cpu_user_seconds_total/gm)).toHaveLength(1);

    const appOwn = new Registry();
    collectDefaultMetrics({ register: appOwn });
    expect(() => monitoringRouter({ upstreams: source, registry: appOwn, defaultMetrics: true })).not.toThrow();
  });
});

// Reference 004's name for the stats type is the same type.
const _sameType: PoolManagerStats = {} as ConnectionStats;
void _sameType;
