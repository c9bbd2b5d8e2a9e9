import express from 'express';
import { Registry } from 'prom-client';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClients, type Clients } from '../src/clients/index.js';
import { loadConfig } from '../src/config/index.js';
import { monitoringRouter, monitoringSource, type MonitoringSource } from '../src/http/index.js';
import { createPool } from '../src/pool/pool.js';
import { startCountingServer, type CountingServer } from './support/http-server.js';
import {
  startOpenAISimulator,
  startPineconeSimulators,
  startSupabaseSimulator,
  type OpenAISimulator,
  type PineconeSimulators,
  type SupabaseSimulator,
} from '../src/simulators/index.js';

const TOKEN = 'test-monitoring-token-0123456789';
const SECRETS = ['sk-test-openai-secret', 'supabase-service-role-secret', 'pinecone-secret-key'];

// The reference designs' example responses: every field they show must be there, with the same JSON type.
const REFERENCE_000 = {
  connectionPools: {
    timestamp: '2025-01-08T12:00:00Z',
    supabase: {
      pool_size: 20,
      total_connections: 150,
      active_connections: 12,
      failed_connections: 0,
      utilization: 60.0,
    },
    pinecone: { pool_size: 10, total_connections: 85, active_connections: 5, failed_connections: 0, utilization: 50.0 },
    health: { supabase: 'healthy', pinecone: 'healthy' },
  },
  systemHealth: {
    status: 'healthy',
    timestamp: '2025-01-08T12:00:00Z',
    components: { database: 'healthy', vector_store: 'healthy', query_performance: 'healthy' },
    metrics: { supabase_pool_utilization: 60.0, pinecone_pool_utilization: 50.0, avg_query_time_ms: 245.5 },
  },
  alerts: {
    timestamp: '2025-01-08T12:00:00Z',
    alert_count: 1,
    alerts: [
      {
        severity: 'warning',
        component: 'supabase',
        message: 'Supabase connection pool utilization high: 85.0%',
        recommendation: 'Consider increasing SUPABASE_POOL_SIZE',
      },
    ],
    status: 'alerts_present',
  },
};

const REFERENCE_004 = {
  stats: {
    success: true,
    data: {
      database: {
        stats: {
          totalConnections: 2,
          activeConnections: 1,
          idleConnections: 1,
          totalQueries: 150,
          successfulQueries: 148,
          failedQueries: 2,
          averageResponseTime: 45.5,
          lastQueryTime: 1234567890,
        },
        config: {
          maxConnections: 20,
          minConnections: 5,
          connectionTimeout: 30000,
          idleTimeout: 60000,
          maxRetries: 3,
          retryDelay: 1000,
        },
      },
      openai: {
        stats: {
          totalRequests: 200,
          activeRequests: 3,
          successfulRequests: 195,
          failedRequests: 5,
          rateLimitedRequests: 2,
          averageResponseTime: 1250.5,
          averageTokensUsed: 450,
          lastRequestTime: 1234567890,
          requestsByModel: { 'gpt-3.5-turbo': 150, 'gpt-4': 50 },
        },
        config: { maxConcurrentRequests: 10, requestTimeout: 60000, maxRetries: 3, retryDelay: 1000, timeout: 60000 },
        queue: { queueLength: 2, activeRequests: 8, maxConcurrent: 10 },
      },
    },
  },
  databaseHealth: {
    success: true,
    data: { healthy: true, message: 'Database healthy (response time: 45ms)', stats: {} },
  },
  openaiQueue: { success: true, data: { queueLength: 2, activeRequests: 8, maxConcurrent: 10 } },
};

/** Every key of `expected` is in `actual` with the same JSON type, recursively (arrays: their first element). */
function expectShape(actual: unknown, expected: unknown, path = '$'): void {
  const kind = (value: unknown) => (value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value);
  // lastQueryTime / lastRequestTime are null until the first request: number-or-null is the contract.
  if (kind(expected) === 'number' && /last(Query|Request)Time$/.test(path)) {
    expect(['number', 'null'], path).toContain(kind(actual));
    return;
  }
  expect(kind(actual), path).toBe(kind(expected));
  if (Array.isArray(expected) && Array.isArray(actual)) {
    if (expected.length > 0 && actual.length > 0) expectShape(actual[0], expected[0], `${path}[0]`);
  } else if (kind(expected) === 'object') {
    const record = actual as Record<string, unknown>;
    for (const [key, value] of Object.entries(expected as Record<string, unknown>)) {
      // Free-form maps (model names) are shapes, not fixed keys.
      if (key === 'requestsByModel') expect(kind(record[key]), `${path}.${key}`).toBe('object');
      else expectShape(record[key], value, `${path}.${key}`);
    }
  }
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** A plain upstream for the pool-only cases. */
function upstreamHandler(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void {
  req.resume();
  req.on('end', () => res.end('[]'));
}

function appWith(
  source: MonitoringSource,
  registry: Registry,
  extra: Partial<Parameters<typeof monitoringRouter>[0]> = {},
) {
  const app = express();
  app.use(monitoringRouter({ upstreams: source, registry, token: TOKEN, ...extra }));
  return app;
}

describe('monitoringRouter on real clients', () => {
  let supabaseSim: SupabaseSimulator;
  let openaiSim: OpenAISimulator;
  let pineconeSims: PineconeSimulators;
  let registry: Registry;
  let clients: Clients;
  let app: express.Express;
  const auth = { Authorization: `Bearer ${TOKEN}` };

  beforeAll(async () => {
    [supabaseSim, openaiSim, pineconeSims] = await Promise.all([
      startSupabaseSimulator({ serviceRoleKey: SECRETS[1]! }),
      startOpenAISimulator({ apiKey: SECRETS[0]! }),
      startPineconeSimulators({ apiKey: SECRETS[2]! }),
    ]);
    registry = new Registry();
    const config = loadConfig({
      SUPABASE_URL: supabaseSim.url,
      SUPABASE_SERVICE_ROLE_KEY: SECRETS[1]!,
      OPENAI_API_KEY: SECRETS[0]!,
      OPENAI_BASE_URL: openaiSim.baseURL,
      PINECONE_API_KEY: SECRETS[2]!,
      PINECONE_INDEX_HOST: pineconeSims.data.url,
      PINECONE_CONTROLLER_HOST: pineconeSims.control.url,
    });
    clients = createClients(config, { registry });
    app = appWith(clients, registry);
    // Real SDK traffic through every client, and one round of health checks.
    const { supabaseAdmin, openai, pinecone } = clients.sdk;
    expect((await supabaseAdmin!.from('uploads').select('*')).error).toBeNull();
    await openai!.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    await (await clients.pineconeIndex()).query({ topK: 1, vector: [0, 0, 0, 0, 0, 0, 0, 1] });
    await pinecone!.listIndexes();
    await clients.checkHealth();
  });

  afterAll(async () => {
    await clients.close(1_000);
    await Promise.all([supabaseSim.close(), openaiSim.close(), pineconeSims.close()]);
  });

  describe('GET /api/monitoring/connection-pools', () => {
    it('answers reference 000 shape: timestamp, supabase/pinecone/openai pool fields with utilization in percent, and a health map', async () => {
      const res = await request(app).get('/api/monitoring/connection-pools').set(auth).expect(200);
      expect(res.type).toBe('application/json');
      expectShape(res.body, REFERENCE_000.connectionPools);
      expect(res.body.timestamp).toMatch(ISO);
      for (const pool of ['supabase', 'pinecone', 'openai']) {
        expectShape(res.body[pool], REFERENCE_000.connectionPools.supabase);
        expect(res.body[pool].utilization).toBeGreaterThanOrEqual(0);
        expect(res.body[pool].utilization).toBeLessThanOrEqual(100);
        expect(res.body[pool].total_requests).toBeGreaterThan(0);
        expect(res.body[pool].upstream_up).toBe(true);
        expect(res.body.health[pool]).toBe('healthy');
      }
      expect(res.body.supabase.pool_size).toBe(20);
      expect(res.body.supabase.total_connections).toBeGreaterThanOrEqual(1);
      // Keys in the reference's order: timestamp, supabase, pinecone, then the others, health last.
      expect(Object.keys(res.body)).toEqual([
        'timestamp',
        'supabase',
        'pinecone',
        'openai',
        'pinecone_control',
        'health',
      ]);
    });

    it('answers 401 with WWW-Authenticate: Bearer when the token is missing', async () => {
      const res = await request(app).get('/api/monitoring/connection-pools').expect(401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(res.body).toEqual({ error: { code: 'UNAUTHORIZED', message: expect.any(String) } });
    });

    it('answers 401 with WWW-Authenticate: Bearer when the token is wrong, even by one character or length', async () => {
      for (const wrong of [`${TOKEN.slice(0, -1)}X`, `${TOKEN}0`, 'short']) {
        const res = await request(app)
          .get('/api/monitoring/connection-pools')
          .set('Authorization', `Bearer ${wrong}`)
          .expect(401);
        expect(res.headers['www-authenticate']).toContain('Bearer');
        expect(res.headers['www-authenticate']).toContain('invalid_token');
        expect(res.body.error.code).toBe('UNAUTHORIZED');
      }
      await request(app).get('/api/monitoring/connection-pools').set('Authorization', `Basic ${TOKEN}`).expect(401);
    });
  });

  describe('GET /api/monitoring/system-health', () => {
    it('is public and answers 200 with status, timestamp, components (llm included) and metrics like reference 000', async () => {
      const res = await request(app).get('/api/monitoring/system-health').expect(200);
      expectShape(res.body, REFERENCE_000.systemHealth);
      expect(res.body.status).toBe('healthy');
      expect(res.body.timestamp).toMatch(ISO);
      expect(res.body.components).toEqual({
        database: 'healthy',
        vector_store: 'healthy',
        query_performance: 'healthy',
        llm: 'healthy',
      });
      expect(typeof res.body.metrics.openai_pool_utilization).toBe('number');
    });
  });

  describe('GET /api/monitoring/alerts', () => {
    it('answers reference 000 shape with status no_alerts and alert_count 0 when nothing is wrong', async () => {
      const res = await request(app).get('/api/monitoring/alerts').set(auth).expect(200);
      expect(res.body).toEqual({
        timestamp: expect.stringMatching(ISO),
        alert_count: 0,
        alerts: [],
        status: 'no_alerts',
      });
    });

    it('needs the bearer token', async () => {
      await request(app).get('/api/monitoring/alerts').expect(401);
    });
  });

  describe('reference 004 /api/connections/*', () => {
    it('GET /stats answers { success, data: { database, openai, pinecone } } with reference 004 field names', async () => {
      const res = await request(app).get('/api/connections/stats').set(auth).expect(200);
      expectShape(res.body, REFERENCE_004.stats);
      expectShape(res.body.data.pinecone, REFERENCE_004.stats.data.database);
      expect(res.body.data.database.stats.totalQueries).toBeGreaterThan(0);
      expect(res.body.data.database.config.maxConnections).toBe(20);
      expect(res.body.data.openai.config.maxConcurrentRequests).toBe(10);
    });

    it.each(['database', 'openai', 'pinecone'])(
      'GET /%s/stats, /%s/queue and /%s/health answer in the reference envelope',
      async (name) => {
        const stats = await request(app).get(`/api/connections/${name}/stats`).set(auth).expect(200);
        expect(stats.body.success).toBe(true);
        expect(Object.keys(stats.body.data)).toEqual(['stats', 'config', 'queue']);
        const queue = await request(app).get(`/api/connections/${name}/queue`).set(auth).expect(200);
        expectShape(queue.body, REFERENCE_004.openaiQueue);
        const health = await request(app).get(`/api/connections/${name}/health`).set(auth).expect(200);
        expectShape(health.body, REFERENCE_004.databaseHealth);
        expect(health.body.data.healthy).toBe(true);
        expect(health.body.data.status).toBe('healthy');
        expect(health.body.data.latencyMs).toEqual(expect.any(Number));
      },
    );

    it('POST /database/reset-stats zeroes the snapshot counters', async () => {
      await clients.sdk.supabaseAdmin!.from('users').select('id');
      const before = await request(app).get('/api/connections/database/stats').set(auth).expect(200);
      expect(before.body.data.stats.totalQueries).toBeGreaterThan(0);
      const reset = await request(app).post('/api/connections/database/reset-stats').set(auth).expect(200);
      expect(reset.body).toEqual({
        success: true,
        data: { message: 'Database statistics reset', stats: expect.any(Object) },
      });
      expect(reset.body.data.stats.totalQueries).toBe(0);
    });

    it('POST /openai/reset-stats and /pinecone/reset-stats answer success', async () => {
      for (const name of ['openai', 'pinecone']) {
        const res = await request(app).post(`/api/connections/${name}/reset-stats`).set(auth).expect(200);
        expect(res.body.success).toBe(true);
        expect(res.body.data.stats.totalRequests ?? res.body.data.stats.totalQueries).toBe(0);
      }
    });

    it('answers 405 JSON with Allow for the wrong method', async () => {
      const get = await request(app).get('/api/connections/openai/reset-stats').set(auth).expect(405);
      expect(get.headers.allow).toBe('POST');
      expect(get.body.error.code).toBe('METHOD_NOT_ALLOWED');
      const post = await request(app).post('/api/monitoring/alerts').set(auth).expect(405);
      expect(post.headers.allow).toBe('GET');
    });

    it('needs the bearer token for reads and resets', async () => {
      await request(app).get('/api/connections/stats').expect(401);
      await request(app).get('/api/connections/openai/queue').expect(401);
      await request(app).post('/api/connections/database/reset-stats').expect(401);
    });
  });

  describe('GET /metrics', () => {
    it('serves the Prometheus text format by default, counters with _total', async () => {
      const res = await request(app).get('/metrics').expect(200);
      expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
      expect(res.text).toContain('# TYPE poolscope_pool_connections_created_total counter');
      expect(res.text).toMatch(/poolscope_pool_connections_created_total\{pool="supabase"\} [1-9]/);
      expect(res.text).toContain('poolscope_request_duration_seconds_bucket{');
      expect(res.text).not.toContain('# EOF');
    });

    it('serves OpenMetrics when asked the way Prometheus asks, and the text format is intact afterwards', async () => {
      const prometheusAccept =
        'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
      const om = await request(app).get('/metrics').set('Accept', prometheusAccept).expect(200);
      expect(om.headers['content-type']).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
      expect(om.text.endsWith('# EOF\n')).toBe(true);
      expect(om.text).toContain('# TYPE poolscope_pool_connections_created counter');
      expect(om.text).toMatch(/^poolscope_pool_connections_created_total\{pool="supabase"\} [1-9]/m);
      expect(om.text).not.toContain('_total_total');

      const text = await request(app).get('/metrics').set('Accept', 'text/plain').expect(200);
      expect(text.headers['content-type']).toContain('text/plain');
      expect(text.text).toContain('# TYPE poolscope_pool_connections_created_total counter');
      expect(text.text).not.toContain('# TYPE poolscope_pool_connections_created counter');
    });

    it('keeps the text format for */* and when OpenMetrics is ranked lower', async () => {
      for (const accept of ['*/*', 'text/plain;q=1, application/openmetrics-text;q=0.5']) {
        const res = await request(app).get('/metrics').set('Accept', accept).expect(200);
        expect(res.headers['content-type']).toContain('text/plain');
      }
    });

    it('is public by default and bearer-protected with metricsAuth', async () => {
      const protectedApp = appWith(clients, registry, { metricsAuth: true });
      const res = await request(protectedApp).get('/metrics').expect(401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
      await request(protectedApp).get('/metrics').set(auth).expect(200);
    });

    it('never shows an API key', async () => {
      const res = await request(app).get('/metrics').expect(200);
      for (const secret of SECRETS) expect(res.text).not.toContain(secret);
    });
  });

  it('never shows an API key in any JSON route', async () => {
    const paths = [
      '/api/monitoring/connection-pools',
      '/api/monitoring/system-health',
      '/api/monitoring/alerts',
      '/api/connections/stats',
      '/api/connections/database/health',
      '/api/connections/openai/health',
      '/api/connections/pinecone/health',
    ];
    for (const path of paths) {
      const res = await request(app).get(path).set(auth);
      for (const secret of SECRETS) expect(res.text, path).not.toContain(secret);
    }
  });

  describe('errors', () => {
    it('answers unknown routes under its prefixes with 404 JSON', async () => {
      for (const path of ['/api/monitoring/nope', '/api/monitoring']) {
        const res = await request(app).get(path).expect(404);
        expect(res.type).toBe('application/json');
        expect(res.body).toEqual({ error: { code: 'NOT_FOUND', message: expect.any(String) } });
      }
      const res = await request(app).get('/api/connections/redis/stats').set(auth).expect(404);
      expect(res.body.error.code).toBe('NOT_FOUND');
    });

    it("leaves the host app's own routes and 404s alone", async () => {
      const host = express();
      host.use(monitoringRouter({ upstreams: clients, registry, token: TOKEN }));
      host.get('/hello', (_req, res) => {
        res.send('hi');
      });
      await request(host).get('/hello').expect(200, 'hi');
      const other = await request(host).get('/elsewhere').expect(404);
      expect(other.type).toBe('text/html');
    });

    it('answers a failing route with 500 JSON carrying no stack, message or secret', async () => {
      const failing: MonitoringSource = {
        healthInput: () => clients.healthInput(),
        database: {
          ...clients.database!,
          getStats: () => clients.database!.getStats(),
          healthCheck: () => Promise.reject(new Error(`boom with ${SECRETS[1]} at /srv/app.js:1:1`)),
        },
      };
      const res = await request(appWith(failing, registry))
        .get('/api/connections/database/health')
        .set(auth)
        .expect(500);
      expect(res.body).toEqual({ error: { code: 'INTERNAL_ERROR', message: expect.any(String) } });
      expect(res.text).not.toMatch(/boom|app\.js|secret|\bat\b/);
    });
  });
});

describe('monitoringRouter configuration', () => {
  let upstream: CountingServer;
  let registry: Registry;
  let clients: Clients;

  beforeAll(async () => {
    upstream = await startCountingServer(upstreamHandler);
    registry = new Registry();
    clients = createClients(loadConfig({ SUPABASE_URL: upstream.origin, SUPABASE_SERVICE_ROLE_KEY: SECRETS[1]! }), {
      registry,
    });
  });

  afterAll(async () => {
    await clients.close(1_000);
    await upstream.close();
  });

  it('answers 404 NOT_CONFIGURED for an upstream that is not configured, naming what to set', async () => {
    const app = appWith(clients, registry);
    const res = await request(app)
      .get('/api/connections/openai/stats')
      .set('Authorization', `Bearer ${TOKEN}`)
      .expect(404);
    expect(res.body.error.code).toBe('NOT_CONFIGURED');
    expect(res.body.error.message).toContain('OPENAI_API_KEY');
    await request(app).get('/api/connections/pinecone/health').set('Authorization', `Bearer ${TOKEN}`).expect(404);
    const stats = await request(app).get('/api/connections/stats').set('Authorization', `Bearer ${TOKEN}`).expect(200);
    // `database` is reference 004's DatabasePool, Supabase's pool here; `supabase` the same pool by its own name.
    expect(Object.keys(stats.body.data)).toEqual(['database', 'supabase']);
    expect(stats.body.data.supabase).toEqual(stats.body.data.database);
    await request(app).get('/api/connections/postgres/stats').set('Authorization', `Bearer ${TOKEN}`).expect(404);
  });

  it('shows unconfigured upstreams as not_configured in the connection-pools health map', async () => {
    const res = await request(appWith(clients, registry))
      .get('/api/monitoring/connection-pools')
      .set('Authorization', `Bearer ${TOKEN}`);
    expect(res.body.health).toEqual({ supabase: 'healthy', pinecone: 'not_configured', openai: 'not_configured' });
    expect(res.body.openai).toBeUndefined();
  });

  it('fails closed with 503 JSON on protected routes when no token is configured, while system-health stays public', async () => {
    const saved = process.env.MONITORING_TOKEN;
    delete process.env.MONITORING_TOKEN;
    try {
      const app = express();
      app.use(monitoringRouter({ upstreams: clients, registry }));
      for (const path of ['/api/monitoring/connection-pools', '/api/monitoring/alerts', '/api/connections/stats']) {
        const res = await request(app).get(path).set('Authorization', 'Bearer anything').expect(503);
        expect(res.body.error.code).toBe('MONITORING_TOKEN_NOT_SET');
        expect(res.body.error.message).toContain('MONITORING_TOKEN');
      }
      await request(app).get('/api/monitoring/system-health').expect(200);
      await request(app).get('/metrics').expect(200);
    } finally {
      if (saved !== undefined) process.env.MONITORING_TOKEN = saved;
    }
  });

  it('takes the token from MONITORING_TOKEN when no option or config gives one', async () => {
    const saved = process.env.MONITORING_TOKEN;
    process.env.MONITORING_TOKEN = 'from-the-environment';
    try {
      const app = express();
      app.use(monitoringRouter({ upstreams: monitoringSource([]), registry }));
      await request(app).get('/api/monitoring/alerts').set('Authorization', 'Bearer from-the-environment').expect(200);
      await request(app).get('/api/monitoring/alerts').set('Authorization', `Bearer ${TOKEN}`).expect(401);
    } finally {
      if (saved === undefined) delete process.env.MONITORING_TOKEN;
      else process.env.MONITORING_TOKEN = saved;
    }
  });

  it('serves plain createPool pools through monitoringSource(pools)', async () => {
    const pool = createPool({ name: 'search', origin: upstream.origin, connections: 4, registry });
    try {
      await (await pool.fetch(`${upstream.origin}/x`)).text();
      const app = appWith(monitoringSource([pool]), registry);
      const res = await request(app)
        .get('/api/monitoring/connection-pools')
        .set('Authorization', `Bearer ${TOKEN}`)
        .expect(200);
      expect(res.body.search).toMatchObject({
        pool_size: 4,
        total_connections: 1,
        active_connections: 0,
        utilization: 0,
      });
      expect(res.body.health.search).toBe('healthy');
      const stats = await request(app)
        .get('/api/connections/stats')
        .set('Authorization', `Bearer ${TOKEN}`)
        .expect(200);
      expect(stats.body).toEqual({ success: true, data: {} });
    } finally {
      await pool.close(1_000);
    }
  });
});
