/**
 * The in-process evaluation behind /api/monitoring/alerts and /system-health: given pool snapshots, which
 * alerts and statuses come out, with the same thresholds as the shipped Prometheus rules.
 */
import { describe, expect, it } from 'vitest';
import { ALERT_NAMES, alertRules } from '../src/health/alert-rules.js';
import { evaluateAlerts, evaluateSystemHealth, type HealthInput } from '../src/health/evaluate.js';
import { THRESHOLDS, type Thresholds } from '../src/health/thresholds.js';
import type { PoolStats } from '../src/pool/stats.js';

/** A quiet pool: 10 connections, 3 in use, fast, no failures. */
function pool(name: string, overrides: Partial<PoolStats> = {}): PoolStats {
  const maxConnections = overrides.maxConnections ?? 10;
  const activeConnections = overrides.activeConnections ?? 3;
  return {
    name,
    maxConnections,
    totalConnections: 12,
    activeConnections,
    idleConnections: 2,
    pendingRequests: 0,
    activeRequests: activeConnections,
    maxConcurrent: maxConnections,
    maxQueued: 1000,
    totalRequests: 1000,
    successfulRequests: 1000,
    failedRequests: 0,
    failedConnections: 0,
    rateLimitedRequests: 0,
    retries: 0,
    failuresLastMinute: 0,
    connectionErrorsLastMinute: 0,
    averageResponseTimeMs: 120,
    p50Ms: 100,
    p95Ms: 300,
    p99Ms: 500,
    windowSize: 1000,
    utilization: activeConnections / maxConnections,
    lastRequestAt: 1_700_000_000_000,
    ...overrides,
  };
}

function input(pools: PoolStats[], extra: Partial<HealthInput> = {}): HealthInput {
  return { pools, upstreams: {}, rateLimits: [], ...extra };
}

const allQuiet = (): HealthInput =>
  input([pool('supabase'), pool('pinecone'), pool('openai', { averageResponseTimeMs: 2400, p95Ms: 6000 })], {
    upstreams: { supabase: { up: true }, pinecone: { up: true }, openai: { up: true } },
    rateLimits: [
      { pool: 'openai', limitType: 'requests', remaining: 450, limit: 500 },
      { pool: 'openai', limitType: 'tokens', remaining: 150_000, limit: 200_000 },
    ],
  });

describe('evaluateAlerts', () => {
  it('reports nothing for quiet pools, healthy upstreams and rate-limit headroom left', () => {
    expect(evaluateAlerts(allQuiet())).toEqual([]);
  });

  it('reports supabase at 85 % utilization exactly as reference 000 shows it, naming SUPABASE_POOL_SIZE', () => {
    const alerts = evaluateAlerts(input([pool('supabase', { maxConnections: 20, activeConnections: 17 })]));
    expect(alerts).toEqual([
      {
        severity: 'warning',
        component: 'supabase',
        message: 'Supabase connection pool utilization high: 85.0%',
        recommendation: 'Consider increasing SUPABASE_POOL_SIZE',
        alertname: 'HighConnectionPoolUtilization',
        pool: 'supabase',
      },
    ]);
  });

  it('does not report utilization of exactly 80 % (the rule is "> 0.8")', () => {
    expect(evaluateAlerts(input([pool('supabase', { maxConnections: 10, activeConnections: 8 })]))).toEqual([]);
  });

  it.each([
    ['supabase', 'SUPABASE_POOL_SIZE'],
    ['pinecone', 'PINECONE_POOL_SIZE'],
    ['openai', 'OPENAI_MAX_CONCURRENT'],
    ['postgres', 'DATABASE_POOL_SIZE'],
  ])('tells the %s pool to raise %s when it runs hot', (name, variable) => {
    const [alert] = evaluateAlerts(input([pool(name, { maxConnections: 10, activeConnections: 9 })]));
    expect(alert?.recommendation).toBe(`Consider increasing ${variable}`);
  });

  it('gives a pool it has no variable for a generic recommendation naming the pool', () => {
    const [alert] = evaluateAlerts(input([pool('billing_api', { maxConnections: 4, activeConnections: 4 })]));
    expect(alert).toMatchObject({ component: 'billing_api', alertname: 'HighConnectionPoolUtilization' });
    expect(alert?.message).toBe('billing_api connection pool utilization high: 100.0%');
    expect(alert?.recommendation).toBe(
      'Consider increasing the "billing_api" pool\'s connections / maxConcurrent options',
    );
  });

  it('reports connection failures of the last minute, not ones from long ago', () => {
    const recent = evaluateAlerts(input([pool('pinecone', { connectionErrorsLastMinute: 3, failedConnections: 3 })]));
    expect(recent).toHaveLength(1);
    expect(recent[0]).toMatchObject({ alertname: 'ConnectionFailures', severity: 'warning', pool: 'pinecone' });
    expect(recent[0]?.message).toBe('Pinecone connection failures: 3 failed connection attempt(s) in the last minute');

    // The reference rule `failed_connections > 0` would alert on this for ever.
    expect(
      evaluateAlerts(input([pool('pinecone', { connectionErrorsLastMinute: 0, failedConnections: 250 })])),
    ).toEqual([]);
  });

  it('reports a queue building up with the variable to raise, and a full queue as rejections instead', () => {
    const queueing = evaluateAlerts(input([pool('openai', { pendingRequests: 4, maxConcurrent: 10 })]));
    expect(queueing).toEqual([
      expect.objectContaining({
        alertname: 'PoolQueueBuildingUp',
        message: 'OpenAI pool requests queueing: 4 waiting for a slot (max 10 in flight)',
        recommendation: 'Consider increasing OPENAI_MAX_CONCURRENT',
      }),
    ]);

    const full = evaluateAlerts(input([pool('openai', { pendingRequests: 50, maxQueued: 50 })]));
    expect(full.map((alert) => alert.alertname)).toEqual(['PoolAcquireTimeouts']);
    expect(full[0]?.message).toBe('OpenAI pool queue is full: 50 of 50 requests waiting, new requests are rejected');
  });

  it('reports more than 5 % failed requests as critical while failures are still happening', () => {
    const failing = pool('supabase', {
      totalRequests: 200,
      failedRequests: 20,
      successfulRequests: 180,
      failuresLastMinute: 4,
    });
    expect(evaluateAlerts(input([failing]))).toEqual([
      expect.objectContaining({
        severity: 'critical',
        alertname: 'HighErrorRatio',
        message: 'Supabase error ratio high: 10.0% of requests failed (4 in the last minute)',
      }),
    ]);
  });

  it('does not report an error ratio from an incident that is over, or one of 5 % or less', () => {
    const over = pool('supabase', { totalRequests: 200, failedRequests: 20, failuresLastMinute: 0 });
    const low = pool('pinecone', { totalRequests: 200, failedRequests: 10, failuresLastMinute: 2 });
    const idle = pool('openai', { totalRequests: 0, failedRequests: 0, failuresLastMinute: 0 });
    expect(evaluateAlerts(input([over, low, idle]))).toEqual([]);
  });

  it('judges p95 latency against each pool’s own threshold: 2 s by default, 30 s for OpenAI', () => {
    const alerts = evaluateAlerts(
      input([
        pool('supabase', { p95Ms: 2500 }),
        pool('openai', { p95Ms: 25_000 }),
        pool('pinecone', { p95Ms: 9000, windowSize: 0 }),
      ]),
    );
    expect(alerts).toEqual([
      expect.objectContaining({
        alertname: 'SlowRequests',
        pool: 'supabase',
        message: 'Supabase requests slow: p95 2500.0 ms over the last 1000 requests (threshold 2000 ms)',
      }),
    ]);
    expect(evaluateAlerts(input([pool('openai', { p95Ms: 31_000 })]))).toEqual([
      expect.objectContaining({ alertname: 'SlowRequests', pool: 'openai' }),
    ]);
  });

  it('reports OpenAI rate-limit headroom below 10 %, and ignores a missing limit', () => {
    const alerts = evaluateAlerts(
      input([], {
        rateLimits: [
          { pool: 'openai', limitType: 'tokens', remaining: 5000, limit: 100_000 },
          { pool: 'openai', limitType: 'requests', remaining: 50, limit: 500 },
          { pool: 'openai', limitType: 'requests', remaining: 0, limit: 0 },
        ],
      }),
    );
    expect(alerts).toEqual([
      {
        severity: 'warning',
        component: 'openai',
        alertname: 'OpenAIRateLimitHeadroomLow',
        pool: 'openai',
        message: 'OpenAI tokens rate limit nearly exhausted: 5000 of 100000 left (5.0%)',
        recommendation: 'Lower OPENAI_MAX_CONCURRENT or ask OpenAI for a higher tokens limit',
      },
    ]);
  });

  it('reports a failed health check as critical UpstreamDown, and lists critical alerts first', () => {
    const alerts = evaluateAlerts(
      input([pool('supabase', { maxConnections: 10, activeConnections: 9 })], {
        upstreams: { supabase: { up: true }, pinecone: { up: false } },
      }),
    );
    expect(alerts.map((alert) => [alert.severity, alert.alertname, alert.pool])).toEqual([
      ['critical', 'UpstreamDown', 'pinecone'],
      ['warning', 'HighConnectionPoolUtilization', 'supabase'],
    ]);
  });

  it('reports a database pool with every connection in use and queries waiting as PostgresPoolExhausted, instead of the utilization and queue warnings', () => {
    const alerts = evaluateAlerts(
      input([pool('postgres', { maxConnections: 4, activeConnections: 4, pendingRequests: 3 })]),
    );
    expect(alerts).toEqual([
      {
        severity: 'warning',
        component: 'postgres',
        alertname: 'PostgresPoolExhausted',
        pool: 'postgres',
        message: 'Postgres pool exhausted: 4 of 4 connections in use, 3 queries waiting',
        recommendation:
          'Find what holds the connections (long transactions, slow queries, "Possible connection leak" warnings), or ' +
          "consider increasing DATABASE_POOL_SIZE within the server's max_connections",
      },
    ]);
  });

  it('does not call a database pool exhausted while nobody waits, nor an HTTP pool with a queue', () => {
    const busy = evaluateAlerts(
      input([pool('postgres', { maxConnections: 4, activeConnections: 4, pendingRequests: 0 })]),
    );
    expect(busy.map((alert) => alert.alertname)).toEqual(['HighConnectionPoolUtilization']);
    const http = evaluateAlerts(
      input([pool('supabase', { maxConnections: 4, activeConnections: 4, pendingRequests: 20 })]),
    );
    expect(http.map((alert) => alert.alertname)).toEqual(['HighConnectionPoolUtilization', 'PoolQueueBuildingUp']);
  });

  it('treats the pools listed in databasePools as database pools, with their own max option as the advice', () => {
    const analytics = pool('analytics', { maxConnections: 2, activeConnections: 2, pendingRequests: 5 });
    expect(evaluateAlerts(input([analytics])).map((alert) => alert.alertname)).toEqual([
      'HighConnectionPoolUtilization',
      'PoolQueueBuildingUp',
    ]);
    const [alert] = evaluateAlerts(input([analytics], { databasePools: ['analytics'] }));
    expect(alert).toMatchObject({
      alertname: 'PostgresPoolExhausted',
      message: 'analytics pool exhausted: 2 of 2 connections in use, 5 queries waiting',
    });
    expect(alert?.recommendation).toContain('consider increasing the "analytics" pool\'s max option');
  });

  it('only ever names alerts the Prometheus rules define, so every JSON alert has a runbook', () => {
    const everything = input(
      [
        pool('supabase', {
          activeConnections: 10,
          pendingRequests: 3,
          connectionErrorsLastMinute: 1,
          failedRequests: 500,
          failuresLastMinute: 9,
          p95Ms: 9000,
        }),
        pool('postgres', { activeConnections: 10, pendingRequests: 1 }),
      ],
      {
        upstreams: { supabase: { up: false } },
        rateLimits: [{ pool: 'openai', limitType: 'tokens', remaining: 1, limit: 100 }],
      },
    );
    const names = new Set(evaluateAlerts(everything).map((alert) => alert.alertname));
    // Not from a snapshot: a full queue (PoolAcquireTimeouts, tested above), scrapes (PoolscopeTargetDown) and
    // leaks (PostgresConnectionLeak: PoolStats has no leak count).
    // Nor the fleet alerts: one process sees its own leases, not the fleet's.
    const notInProcess = [
      'PoolAcquireTimeouts',
      'PoolscopeTargetDown',
      'PostgresConnectionLeak',
      'FleetAtCap',
      'FleetRedisUnavailable',
    ];
    expect([...names].sort()).toEqual(ALERT_NAMES.filter((name) => !notInProcess.includes(name)).sort());
    for (const name of names) expect(ALERT_NAMES).toContain(name);
  });

  it('reads its numbers from the thresholds it is given, the same ones the rules are built from', () => {
    const stricter: Thresholds = { ...THRESHOLDS, utilization: { ratio: 0.5, window: '10m', for: '5m' } };
    const snapshot = input([pool('pinecone', { maxConnections: 10, activeConnections: 6 })]);
    expect(evaluateAlerts(snapshot)).toEqual([]);
    expect(evaluateAlerts(snapshot, stricter).map((alert) => alert.alertname)).toEqual([
      'HighConnectionPoolUtilization',
    ]);
    expect(alertRules(stricter).find((rule) => rule.alert === 'HighConnectionPoolUtilization')?.expr).toBe(
      'quantile_over_time(0.1, poolscope_pool_utilization_ratio[10m]) > 0.5',
    );
  });
});

describe('evaluateSystemHealth', () => {
  it('is healthy with reference-style percentages when every pool is quiet', () => {
    const health = evaluateSystemHealth(allQuiet());
    expect(health.status).toBe('healthy');
    expect(health.components).toEqual({
      database: 'healthy',
      vector_store: 'healthy',
      query_performance: 'healthy',
      llm: 'healthy',
    });
    expect(health.metrics).toMatchObject({
      supabase_pool_utilization: 30,
      pinecone_pool_utilization: 30,
      openai_pool_utilization: 30,
      postgres_pool_utilization: null,
      // The database and vector pools only: the LLM's 2.4 s would swamp "query time".
      avg_query_time_ms: 120,
      p95_query_time_ms: 300,
      pending_requests: 0,
      upstreams_down: 0,
      alert_count: 0,
    });
  });

  it('marks components without a pool not_configured and stays healthy with no pools at all', () => {
    const health = evaluateSystemHealth(input([]));
    expect(health.status).toBe('healthy');
    expect(health.components).toEqual({
      database: 'not_configured',
      vector_store: 'not_configured',
      query_performance: 'not_configured',
      llm: 'not_configured',
    });
    expect(health.metrics.avg_query_time_ms).toBeNull();
    expect(health.metrics.supabase_pool_utilization).toBeNull();
  });

  it('makes the database degraded when the direct Postgres pool runs hot, though Supabase is fine', () => {
    const health = evaluateSystemHealth(
      input([pool('supabase'), pool('postgres', { maxConnections: 10, activeConnections: 10 })]),
    );
    expect(health.components.database).toBe('degraded');
    expect(health.status).toBe('degraded');
    expect(health.metrics.postgres_pool_utilization).toBe(100);
  });

  it('is unhealthy when an upstream is down, and says which component', () => {
    const health = evaluateSystemHealth(
      input([pool('supabase'), pool('pinecone')], { upstreams: { pinecone: { up: false } } }),
    );
    expect(health.status).toBe('unhealthy');
    expect(health.components.vector_store).toBe('unhealthy');
    expect(health.components.database).toBe('healthy');
    expect(health.metrics.upstreams_down).toBe(1);
  });

  it('puts slow queries under query_performance, and a slow LLM under llm', () => {
    const slowDatabase = evaluateSystemHealth(input([pool('supabase', { p95Ms: 4000 }), pool('openai')]));
    expect(slowDatabase.components).toMatchObject({
      database: 'healthy',
      query_performance: 'degraded',
      llm: 'healthy',
    });
    expect(slowDatabase.status).toBe('degraded');

    const slowLlm = evaluateSystemHealth(input([pool('supabase'), pool('openai', { p95Ms: 45_000 })]));
    expect(slowLlm.components).toMatchObject({ query_performance: 'healthy', llm: 'degraded' });
  });

  it('averages query time over the database and vector pools, weighted by the requests each covers', () => {
    const health = evaluateSystemHealth(
      input([
        pool('supabase', { averageResponseTimeMs: 100, windowSize: 300, p95Ms: 250 }),
        pool('pinecone', { averageResponseTimeMs: 200, windowSize: 100, p95Ms: 400 }),
        pool('postgres', { averageResponseTimeMs: 999, windowSize: 0 }),
      ]),
    );
    expect(health.metrics.avg_query_time_ms).toBe(125);
    expect(health.metrics.p95_query_time_ms).toBe(400);
  });

  it('counts an alert on a pool outside the four components towards the overall status', () => {
    const health = evaluateSystemHealth(input([pool('billing_api', { maxConnections: 2, activeConnections: 2 })]));
    expect(health.status).toBe('degraded');
    expect(Object.values(health.components).every((status) => status === 'not_configured')).toBe(true);
  });
});

describe('evaluateAlerts, alert by alert: the exact text a user reads, and its edges', () => {
  it('words each pool alert with its severity and a recommendation naming what to do', () => {
    const alerts = evaluateAlerts(
      input([
        pool('supabase', { connectionErrorsLastMinute: 2 }),
        pool('pinecone', { pendingRequests: 1000, maxQueued: 1000 }),
        pool('openai', { failedRequests: 100, failuresLastMinute: 4, p95Ms: 31_000, pendingRequests: 0 }),
      ]),
    );
    expect(alerts).toEqual([
      {
        severity: 'critical',
        component: 'openai',
        alertname: 'HighErrorRatio',
        pool: 'openai',
        message: 'OpenAI error ratio high: 10.0% of requests failed (4 in the last minute)',
        recommendation:
          'Look at poolscope_request_failures_total by reason for OpenAI; if failures are acquire_timeout or queue_full, consider increasing OPENAI_MAX_CONCURRENT',
      },
      {
        severity: 'warning',
        component: 'openai',
        alertname: 'SlowRequests',
        pool: 'openai',
        message: 'OpenAI requests slow: p95 31000.0 ms over the last 1000 requests (threshold 30000 ms)',
        recommendation:
          "Check OpenAI's own latency; if requests wait for a slot (pending > 0), consider increasing OPENAI_MAX_CONCURRENT",
      },
      {
        severity: 'warning',
        component: 'pinecone',
        alertname: 'PoolAcquireTimeouts',
        pool: 'pinecone',
        message: 'Pinecone pool queue is full: 1000 of 1000 requests waiting, new requests are rejected',
        recommendation: 'Consider increasing PINECONE_POOL_SIZE',
      },
      {
        severity: 'warning',
        component: 'supabase',
        alertname: 'ConnectionFailures',
        pool: 'supabase',
        message: 'Supabase connection failures: 2 failed connection attempt(s) in the last minute',
        recommendation:
          "Check that Supabase's upstream is reachable from here (address, DNS, TLS, firewall) and not at its own connection limit",
      },
    ]);
  });

  it('lists alerts of one severity pool by pool, alphabetically, whatever order the pools come in', () => {
    const busy = { maxConnections: 10, activeConnections: 9 };
    const alerts = evaluateAlerts(input([pool('supabase', busy), pool('openai', busy), pool('pinecone', busy)]));
    expect(alerts.map((alert) => alert.pool)).toEqual(['openai', 'pinecone', 'supabase']);
  });

  it('words a database pool queueing with connections to spare as a queue, not as exhausted', () => {
    const alerts = evaluateAlerts(input([pool('postgres', { activeConnections: 5, pendingRequests: 3 })]));
    expect(alerts).toEqual([
      {
        severity: 'warning',
        component: 'postgres',
        alertname: 'PoolQueueBuildingUp',
        pool: 'postgres',
        message: 'Postgres pool requests queueing: 3 waiting for a slot (max 10 in flight)',
        recommendation: 'Consider increasing DATABASE_POOL_SIZE',
      },
    ]);
  });

  it('words an exhausted database pool as a warning that says where the connections go', () => {
    const [alert] = evaluateAlerts(input([pool('postgres', { activeConnections: 10, pendingRequests: 4 })]));
    expect(alert).toMatchObject({ severity: 'warning', alertname: 'PostgresPoolExhausted' });
  });

  it('never calls a pool with no connections at all exhausted, nor its empty queue full', () => {
    // A pool not sized yet (max 0) and one that allows no queue (maxQueued 0), nobody waiting on either.
    const alerts = evaluateAlerts(
      input([pool('postgres', { maxConnections: 0, activeConnections: 0, utilization: 0, pendingRequests: 2 })]),
    );
    expect(alerts.map((alert) => alert.alertname)).toEqual(['PoolQueueBuildingUp']);
    expect(evaluateAlerts(input([pool('supabase', { maxQueued: 0 })]))).toEqual([]);
  });

  it('does not call a p95 of exactly the threshold slow (the rule is "> 2 s")', () => {
    expect(evaluateAlerts(input([pool('supabase', { p95Ms: 2000 })]))).toEqual([]);
    expect(evaluateAlerts(input([pool('supabase', { p95Ms: 2000.1 })])).map((a) => a.alertname)).toEqual([
      'SlowRequests',
    ]);
  });

  it('reports rate-limit headroom only for the pools the thresholds list, ordered by pool then limit type', () => {
    const two: Thresholds = {
      ...THRESHOLDS,
      rateLimitHeadroom: { ...THRESHOLDS.rateLimitHeadroom, pools: ['openai', 'azure_openai'] },
    };
    const low = (pool: string, limitType: 'requests' | 'tokens') => ({ pool, limitType, remaining: 1, limit: 100 });
    const alerts = evaluateAlerts(
      input([], {
        rateLimits: [
          low('openai', 'tokens'),
          low('pinecone', 'requests'), // not a pool with headroom alerts
          low('openai', 'requests'),
          low('azure_openai', 'tokens'),
        ],
      }),
      two,
    );
    expect(alerts.map((alert) => [alert.pool, alert.message.split(' ')[1]])).toEqual([
      ['azure_openai', 'tokens'],
      ['openai', 'requests'],
      ['openai', 'tokens'],
    ]);
    // A pool with no size variable is told to lower its own maxConcurrent.
    expect(alerts[0]!.recommendation).toBe(
      "Lower the pool's maxConcurrent or ask azure_openai for a higher tokens limit",
    );
  });

  it('reports every failed health check as critical, upstream by upstream, and none for the unchecked or up', () => {
    const alerts = evaluateAlerts(
      input([], {
        upstreams: { supabase: { up: false }, openai: undefined, pinecone: { up: true }, billing: { up: false } },
      }),
    );
    expect(alerts).toEqual([
      {
        severity: 'critical',
        component: 'billing',
        alertname: 'UpstreamDown',
        pool: 'billing',
        message: 'billing upstream is down: its health check failed',
        recommendation: "Check billing's status and the credentials and URL this service uses for it",
      },
      expect.objectContaining({ pool: 'supabase', message: 'Supabase upstream is down: its health check failed' }),
    ]);
  });
});

describe('evaluateSystemHealth, metric by metric', () => {
  it('keeps query_performance healthy when only the LLM is slow, though a slow LLM degrades llm', () => {
    const health = evaluateSystemHealth(input([pool('supabase'), pool('pinecone'), pool('openai', { p95Ms: 45_000 })]));
    expect(health.components).toMatchObject({ query_performance: 'healthy', llm: 'degraded' });
  });

  it('degrades query_performance for slowness alone: one slow query pool of two, never a busy one', () => {
    const oneSlow = evaluateSystemHealth(input([pool('supabase'), pool('pinecone', { p95Ms: 4000 })]));
    expect(oneSlow.components.query_performance).toBe('degraded');
    const busy = evaluateSystemHealth(input([pool('supabase', { activeConnections: 9 }), pool('pinecone')]));
    expect(busy.components).toMatchObject({ database: 'degraded', query_performance: 'healthy' });
  });

  it('gives no query times while no query pool has a request in its window', () => {
    const health = evaluateSystemHealth(
      input([pool('supabase', { windowSize: 0, p95Ms: 0, averageResponseTimeMs: 0 }), pool('openai')]),
    );
    expect(health.metrics).toMatchObject({ avg_query_time_ms: null, p95_query_time_ms: null });
  });

  it('adds up the requests waiting in every pool, and counts only the upstreams that are down', () => {
    const health = evaluateSystemHealth(
      input([pool('supabase', { pendingRequests: 2 }), pool('openai', { pendingRequests: 5 })], {
        upstreams: { supabase: { up: true }, openai: { up: false }, pinecone: undefined },
      }),
    );
    expect(health.metrics).toMatchObject({ pending_requests: 7, upstreams_down: 1 });
  });

  it('gives a component the worst status among its pools, in whatever order they come', () => {
    for (const pools of [
      [pool('supabase', { failedRequests: 500, failuresLastMinute: 9 }), pool('postgres')],
      [pool('postgres'), pool('supabase', { failedRequests: 500, failuresLastMinute: 9 })],
    ]) {
      expect(evaluateSystemHealth(input(pools)).components.database).toBe('unhealthy');
    }
  });
});
