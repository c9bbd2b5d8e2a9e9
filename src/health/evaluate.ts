/**
 * In-process health and alert evaluation behind `GET /api/monitoring/alerts` and `/api/monitoring/system-health`.
 *
 * Same alert names and threshold numbers as the Prometheus rules (both read `thresholds.ts`), but the input is one
 * snapshot, not a time series: a `for:` duration cannot be observed, so each check below says how it approximates
 * one. Prometheus remains the source of truth for paging; this endpoint answers "what looks wrong right now".
 */
import type { PoolStats } from '../pool/stats.js';
import type { AlertName, Severity } from './alert-rules.js';
import { latencyThresholdSeconds, POOL_SIZE_VARIABLES, THRESHOLDS, type Thresholds } from './thresholds.js';

export interface UpstreamHealth {
  up: boolean;
  latencyMs?: number;
  /** Epoch milliseconds of the health check. */
  checkedAt?: number;
}

export interface RateLimitSnapshot {
  pool: string;
  limitType: 'requests' | 'tokens';
  remaining: number;
  limit: number;
}

export interface HealthInput {
  pools: PoolStats[];
  /** Latest health check per pool name; `undefined` (or absent) when that pool has not been checked. */
  upstreams: Record<string, UpstreamHealth | undefined>;
  rateLimits: RateLimitSnapshot[];
  /**
   * Names of the direct database (`pg`) pools among `pools`, for `PostgresPoolExhausted`. Default `['postgres']`,
   * the name the service gives its `DATABASE_URL` pool. (The Prometheus rule finds them by their
   * connection-usage histogram instead; a snapshot has no such marker.)
   */
  databasePools?: readonly string[];
}

/** The database pools when `HealthInput.databasePools` is not given: the service's own. */
export const DEFAULT_DATABASE_POOLS: readonly string[] = ['postgres'];

export interface Alert {
  severity: Severity;
  /** The pool name, as in the reference design (`"component": "supabase"`). */
  component: string;
  message: string;
  recommendation: string;
  /** The Prometheus alert this corresponds to; its runbook is `docs/runbooks/<alertname>.md`. */
  alertname: AlertName;
  pool: string;
}

export type ComponentStatus = 'healthy' | 'degraded' | 'unhealthy' | 'not_configured';
export type ComponentName = 'database' | 'vector_store' | 'query_performance' | 'llm';

export interface SystemHealth {
  status: 'healthy' | 'degraded' | 'unhealthy';
  components: Record<ComponentName, ComponentStatus>;
  metrics: {
    /** Percent, one decimal (60.0 = 60 %); `null` when that pool is not configured. */
    supabase_pool_utilization: number | null;
    pinecone_pool_utilization: number | null;
    openai_pool_utilization: number | null;
    postgres_pool_utilization: number | null;
    /** Mean over the database and vector pools' recent requests, weighted by how many each covers. */
    avg_query_time_ms: number | null;
    /** The worst p95 among the database and vector pools. */
    p95_query_time_ms: number | null;
    /** Requests waiting, all pools together. */
    pending_requests: number;
    /** Pools whose last health check failed. */
    upstreams_down: number;
    alert_count: number;
  };
}

/** Which `system-health` component a pool belongs to; pools not listed only count towards the overall status. */
export const POOL_COMPONENTS: Readonly<Record<string, Exclude<ComponentName, 'query_performance'>>> = {
  supabase: 'database',
  postgres: 'database',
  pinecone: 'vector_store',
  pinecone_control: 'vector_store',
  openai: 'llm',
};

const DISPLAY_NAMES: Readonly<Record<string, string>> = {
  supabase: 'Supabase',
  pinecone: 'Pinecone',
  pinecone_control: 'Pinecone control plane',
  openai: 'OpenAI',
  postgres: 'Postgres',
};

/** Every alert the snapshot supports: critical first, then pool by pool (alphabetically), rate limits, upstreams. */
export function evaluateAlerts(input: HealthInput, thresholds: Thresholds = THRESHOLDS): Alert[] {
  const t = thresholds;
  const alerts: Alert[] = [];
  const pools = [...input.pools].sort((a, b) => a.name.localeCompare(b.name));
  const databasePools = new Set(input.databasePools ?? DEFAULT_DATABASE_POOLS);

  for (const stats of pools) {
    const pool = stats.name;
    const name = displayName(pool);
    const grow = growRecommendation(pool);
    // PostgresPoolExhausted: every connection in use and queries waiting, at this instant instead of for 2 minutes.
    // While it holds, the utilization and queue warnings of the same pool are left out, as Alertmanager's
    // inhibition does for the Prometheus alerts.
    const exhausted =
      databasePools.has(pool) && stats.maxConnections > 0 && stats.utilization >= 1 && stats.pendingRequests > 0;

    // HighConnectionPoolUtilization: the snapshot sees this instant, not 5 minutes of it.
    if (!exhausted && stats.maxConnections > 0 && stats.utilization > t.utilization.ratio) {
      alerts.push({
        severity: 'warning',
        component: pool,
        alertname: 'HighConnectionPoolUtilization',
        pool,
        message: `${name} connection pool utilization high: ${percent1(stats.utilization)}%`,
        recommendation: grow,
      });
    }

    // ConnectionFailures: the pool's own one-minute window stands in for `increase(...[1m]) > 0`; "still
    // failing 2 minutes later" cannot be seen in one snapshot.
    if (stats.connectionErrorsLastMinute > 0) {
      alerts.push({
        severity: 'warning',
        component: pool,
        alertname: 'ConnectionFailures',
        pool,
        message: `${name} connection failures: ${stats.connectionErrorsLastMinute} failed connection attempt(s) in the last minute`,
        recommendation: `Check that ${name}'s upstream is reachable from here (address, DNS, TLS, firewall) and not at its own connection limit`,
      });
    }

    // PoolAcquireTimeouts / PoolQueueBuildingUp. The snapshot has no per-reason failure counts, so rejections
    // are inferred from a full queue (every further request now fails with queue_full); a non-empty queue
    // stands in for "has not drained for 5 minutes".
    if (stats.maxQueued > 0 && stats.pendingRequests >= stats.maxQueued) {
      alerts.push({
        severity: 'warning',
        component: pool,
        alertname: 'PoolAcquireTimeouts',
        pool,
        message: `${name} pool queue is full: ${stats.pendingRequests} of ${stats.maxQueued} requests waiting, new requests are rejected`,
        recommendation: grow,
      });
    } else if (exhausted) {
      alerts.push({
        severity: 'warning',
        component: pool,
        alertname: 'PostgresPoolExhausted',
        pool,
        message: `${name} pool exhausted: ${stats.activeConnections} of ${stats.maxConnections} connections in use, ${stats.pendingRequests} queries waiting`,
        recommendation:
          'Find what holds the connections (long transactions, slow queries, "Possible connection leak" warnings), or ' +
          `${lowerFirst(databaseGrowRecommendation(pool))} within the server's max_connections`,
      });
    } else if (stats.pendingRequests > 0) {
      alerts.push({
        severity: 'warning',
        component: pool,
        alertname: 'PoolQueueBuildingUp',
        pool,
        message: `${name} pool requests queueing: ${stats.pendingRequests} waiting for a slot (max ${stats.maxConcurrent} in flight)`,
        recommendation: grow,
      });
    }

    // HighErrorRatio: the snapshot's counters run since start (or resetStats()), not over 5 minutes. The ratio
    // counts only while failures are still happening, so an old incident does not keep alerting.
    if (stats.totalRequests > 0 && stats.failuresLastMinute > 0) {
      const ratio = stats.failedRequests / stats.totalRequests;
      if (ratio > t.errorRatio.ratio) {
        alerts.push({
          severity: 'critical',
          component: pool,
          alertname: 'HighErrorRatio',
          pool,
          message: `${name} error ratio high: ${percent1(ratio)}% of requests failed (${stats.failuresLastMinute} in the last minute)`,
          recommendation: `Look at poolscope_request_failures_total by reason for ${name}; if failures are acquire_timeout or queue_full, ${lowerFirst(grow)}`,
        });
      }
    }

    // SlowRequests: p95 over the pool's last `statsWindowSize` requests instead of the last 5 minutes.
    const limitMs = latencyThresholdSeconds(pool, t) * 1000;
    if (stats.windowSize > 0 && stats.p95Ms > limitMs) {
      alerts.push({
        severity: 'warning',
        component: pool,
        alertname: 'SlowRequests',
        pool,
        message: `${name} requests slow: p95 ${fixed1(stats.p95Ms)} ms over the last ${stats.windowSize} requests (threshold ${limitMs} ms)`,
        recommendation: `Check ${name}'s own latency; if requests wait for a slot (pending > 0), ${lowerFirst(grow)}`,
      });
    }
  }

  // OpenAIRateLimitHeadroomLow: the last headers seen; the rule's "only while traffic flows" guard has no
  // snapshot equivalent, so a stale reading counts.
  const headroomPools: readonly string[] = t.rateLimitHeadroom.pools;
  const rateLimits = [...input.rateLimits].sort(
    (a, b) => a.pool.localeCompare(b.pool) || a.limitType.localeCompare(b.limitType),
  );
  for (const limit of rateLimits) {
    if (!headroomPools.includes(limit.pool) || !(limit.limit > 0)) continue;
    const ratio = limit.remaining / limit.limit;
    if (ratio < t.rateLimitHeadroom.ratio) {
      const name = displayName(limit.pool);
      alerts.push({
        severity: 'warning',
        component: limit.pool,
        alertname: 'OpenAIRateLimitHeadroomLow',
        pool: limit.pool,
        message: `${name} ${limit.limitType} rate limit nearly exhausted: ${limit.remaining} of ${limit.limit} left (${percent1(ratio)}%)`,
        recommendation: `Lower ${POOL_SIZE_VARIABLES[limit.pool] ?? "the pool's maxConcurrent"} or ask ${name} for a higher ${limit.limitType} limit`,
      });
    }
  }

  // UpstreamDown: the latest health check; its `for: 1m` is not observable here.
  for (const pool of Object.keys(input.upstreams).sort()) {
    const upstream = input.upstreams[pool];
    if (upstream === undefined || upstream.up) continue;
    const name = displayName(pool);
    alerts.push({
      severity: 'critical',
      component: pool,
      alertname: 'UpstreamDown',
      pool,
      message: `${name} upstream is down: its health check failed`,
      recommendation: `Check ${name}'s status and the credentials and URL this service uses for it`,
    });
  }
  // PoolscopeTargetDown has no in-process counterpart: a process cannot observe that it is not being scraped.
  // Nor has PostgresConnectionLeak: a pool snapshot has no leak count (the pool logs each leak as it happens).
  // Nor have the fleet alerts: one process sees its own leases, not the fleet's (it logs Redis going and coming).

  return alerts.sort((a, b) => severityRank(b.severity) - severityRank(a.severity));
}

/** The `system-health` view: per-component status from the same alerts, plus the headline numbers. */
export function evaluateSystemHealth(input: HealthInput, thresholds: Thresholds = THRESHOLDS): SystemHealth {
  const alerts = evaluateAlerts(input, thresholds);
  const byName = new Map(input.pools.map((stats) => [stats.name, stats]));

  const components: Record<ComponentName, ComponentStatus> = {
    database: 'not_configured',
    vector_store: 'not_configured',
    query_performance: 'not_configured',
    llm: 'not_configured',
  };
  const configured = new Set([...input.pools.map((stats) => stats.name), ...Object.keys(input.upstreams)]);
  for (const pool of configured) {
    const component = POOL_COMPONENTS[pool];
    if (component === undefined) continue;
    // Slowness belongs to query_performance for the query pools; for the LLM, slow means degraded.
    const relevant = alerts.filter(
      (alert) => alert.pool === pool && (component === 'llm' || alert.alertname !== 'SlowRequests'),
    );
    components[component] = worse(components[component], statusOf(relevant));
  }

  const queryPools = input.pools.filter((stats) => {
    const component = POOL_COMPONENTS[stats.name];
    return component === 'database' || component === 'vector_store';
  });
  if (queryPools.length > 0) {
    const slow = alerts.some(
      (alert) => alert.alertname === 'SlowRequests' && queryPools.some((stats) => stats.name === alert.pool),
    );
    components.query_performance = slow ? 'degraded' : 'healthy';
  }

  const measured = queryPools.filter((stats) => stats.windowSize > 0);
  const covered = measured.reduce((sum, stats) => sum + stats.windowSize, 0);
  const utilization = (pool: string): number | null => {
    const stats = byName.get(pool);
    return stats === undefined ? null : round1(stats.utilization * 100);
  };

  // Every component status comes from these alerts, so the worst alert is the overall status (pools outside
  // the four components count too).
  const status = statusOf(alerts);

  return {
    status,
    components,
    metrics: {
      supabase_pool_utilization: utilization('supabase'),
      pinecone_pool_utilization: utilization('pinecone'),
      openai_pool_utilization: utilization('openai'),
      postgres_pool_utilization: utilization('postgres'),
      avg_query_time_ms:
        covered > 0
          ? round1(measured.reduce((sum, stats) => sum + stats.averageResponseTimeMs * stats.windowSize, 0) / covered)
          : null,
      p95_query_time_ms: measured.length > 0 ? round1(Math.max(...measured.map((stats) => stats.p95Ms))) : null,
      pending_requests: input.pools.reduce((sum, stats) => sum + stats.pendingRequests, 0),
      upstreams_down: Object.values(input.upstreams).filter((upstream) => upstream !== undefined && !upstream.up)
        .length,
      alert_count: alerts.length,
    },
  };
}

/** The recommendation for a pool that needs more room, naming the setting to change. */
export function growRecommendation(pool: string): string {
  const variable = POOL_SIZE_VARIABLES[pool];
  return variable !== undefined
    ? `Consider increasing ${variable}`
    : `Consider increasing the "${pool}" pool's connections / maxConcurrent options`;
}

/** The setting that gives a database pool more connections: the service's variable, or a pg pool's `max`. */
function databaseGrowRecommendation(pool: string): string {
  return pool === 'postgres' ? growRecommendation(pool) : `Consider increasing the "${pool}" pool's max option`;
}

function statusOf(alerts: readonly Alert[]): SystemHealth['status'] {
  if (alerts.some((alert) => alert.severity === 'critical')) return 'unhealthy';
  return alerts.length > 0 ? 'degraded' : 'healthy';
}

const RANK: Record<ComponentStatus, number> = { not_configured: 0, healthy: 1, degraded: 2, unhealthy: 3 };

function worse(a: ComponentStatus, b: ComponentStatus): ComponentStatus {
  return RANK[b] > RANK[a] ? b : a;
}

function severityRank(severity: Severity): number {
  return severity === 'critical' ? 1 : 0;
}

function displayName(pool: string): string {
  return DISPLAY_NAMES[pool] ?? pool;
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

function percent1(ratio: number): string {
  return (ratio * 100).toFixed(1);
}

function fixed1(value: number): string {
  return value.toFixed(1);
}
