/**
 * The JSON bodies of `/api/monitoring/*`, as the scripts written against them read them (snake_case, utilization in
 * percent with one decimal). Pure functions of one `HealthInput` snapshot, so each response is consistent.
 */
import { RUNBOOK_BASE_URL, runbookUrl } from '../health/alert-rules.js';
import {
  evaluateAlerts,
  evaluateSystemHealth,
  type Alert,
  type HealthInput,
  type SystemHealth,
} from '../health/evaluate.js';
import type { PoolStats } from '../pool/stats.js';

export type PoolHealthStatus = 'healthy' | 'degraded' | 'unhealthy' | 'not_configured';

/** One pool in `/api/monitoring/connection-pools`: the five fields its scripts read first (`pool_size` ... `utilization`), then poolscope's. */
export interface PoolView {
  /** Max sockets to the upstream. */
  pool_size: number;
  /** Sockets opened since start (or the last reset-stats). */
  total_connections: number;
  /** Sockets with a request on them now. */
  active_connections: number;
  /** Failed connection attempts since start (or the last reset-stats). */
  failed_connections: number;
  /** active_connections ÷ pool_size, percent, one decimal. */
  utilization: number;
  idle_connections: number;
  /** Requests holding a concurrency slot. */
  active_requests: number;
  /** Requests waiting for a slot or a socket. */
  pending_requests: number;
  max_concurrent: number;
  max_queued: number;
  total_requests: number;
  successful_requests: number;
  failed_requests: number;
  rate_limited_requests: number;
  retries: number;
  failures_last_minute: number;
  connection_errors_last_minute: number;
  /** Over the last `window_size` requests, milliseconds. */
  avg_response_time_ms: number;
  p50_response_time_ms: number;
  p95_response_time_ms: number;
  p99_response_time_ms: number;
  window_size: number;
  /** ISO-8601 start of the last request, or null. */
  last_request_at: string | null;
  /** The last health check: true (passed), false (failed), null (not checked yet). */
  upstream_up: boolean | null;
  last_health_check_at: string | null;
}

/** `GET /api/monitoring/connection-pools`. Each configured pool under its key, next to `timestamp` and `health`. */
export interface ConnectionPoolsBody {
  timestamp: string;
  supabase?: PoolView;
  pinecone?: PoolView;
  openai?: PoolView;
  /** The direct Postgres pool (`DATABASE_URL`), when there is one. */
  database?: PoolView;
  /** Per pool key: the worst severity among its current alerts; `not_configured` for the three named upstreams when absent. */
  health: Record<string, PoolHealthStatus>;
  [pool: string]: PoolView | string | Record<string, PoolHealthStatus> | undefined;
}

/** `GET /api/monitoring/system-health`. */
export interface SystemHealthBody {
  status: SystemHealth['status'];
  timestamp: string;
  components: SystemHealth['components'];
  metrics: SystemHealth['metrics'];
}

export interface AlertView {
  severity: Alert['severity'];
  component: string;
  message: string;
  recommendation: string;
  /** The Prometheus alert of the shipped rules that matches this one. */
  alertname: Alert['alertname'];
  runbook_url: string;
}

/** `GET /api/monitoring/alerts`. */
export interface AlertsBody {
  timestamp: string;
  alert_count: number;
  alerts: AlertView[];
  status: 'alerts_present' | 'no_alerts';
}

/** The keys `health` always has (`supabase`, `pinecone`), even when that upstream is not configured. */
const NAMED_UPSTREAMS = ['supabase', 'pinecone', 'openai'] as const;
/** Pool name → key in the body: the Postgres pool is "database", the key scripts read. */
const KEYS: Readonly<Record<string, string>> = { postgres: 'database' };
const RESERVED = new Set(['timestamp', 'health']);

export function poolKey(pool: string): string {
  const key = KEYS[pool] ?? pool;
  return RESERVED.has(key) ? `${key}_pool` : key;
}

export function connectionPoolsBody(input: HealthInput, now: Date = new Date()): ConnectionPoolsBody {
  const alerts = evaluateAlerts(input);
  const pools: Record<string, PoolView> = {};
  const health: Record<string, PoolHealthStatus> = {};
  for (const name of NAMED_UPSTREAMS) health[name] = 'not_configured';
  for (const stats of [...input.pools].sort(byReferenceOrder)) {
    const key = poolKey(stats.name);
    pools[key] = poolView(stats, input);
    health[key] = statusOf(alerts.filter((alert) => alert.pool === stats.name));
  }
  // An upstream that is health-checked without a pool of its own still shows its health.
  for (const [pool, upstream] of Object.entries(input.upstreams)) {
    const key = poolKey(pool);
    if (upstream !== undefined && pools[key] === undefined)
      health[key] = statusOf(alerts.filter((alert) => alert.pool === pool));
  }
  // Key order scripts see: timestamp, the pools, health.
  return { timestamp: now.toISOString(), ...pools, health };
}

export function poolView(stats: PoolStats, input: Pick<HealthInput, 'upstreams'>): PoolView {
  const upstream = input.upstreams[stats.name];
  return {
    pool_size: stats.maxConnections,
    total_connections: stats.totalConnections,
    active_connections: stats.activeConnections,
    failed_connections: stats.failedConnections,
    utilization: round1(stats.utilization * 100),
    idle_connections: stats.idleConnections,
    active_requests: stats.activeRequests,
    pending_requests: stats.pendingRequests,
    max_concurrent: stats.maxConcurrent,
    max_queued: stats.maxQueued,
    total_requests: stats.totalRequests,
    successful_requests: stats.successfulRequests,
    failed_requests: stats.failedRequests,
    rate_limited_requests: stats.rateLimitedRequests,
    retries: stats.retries,
    failures_last_minute: stats.failuresLastMinute,
    connection_errors_last_minute: stats.connectionErrorsLastMinute,
    avg_response_time_ms: stats.averageResponseTimeMs,
    p50_response_time_ms: stats.p50Ms,
    p95_response_time_ms: stats.p95Ms,
    p99_response_time_ms: stats.p99Ms,
    window_size: stats.windowSize,
    last_request_at: isoOrNull(stats.lastRequestAt),
    upstream_up: upstream === undefined ? null : upstream.up,
    last_health_check_at: isoOrNull(upstream?.checkedAt ?? null),
  };
}

export function systemHealthBody(input: HealthInput, now: Date = new Date()): SystemHealthBody {
  const health = evaluateSystemHealth(input);
  return {
    status: health.status,
    timestamp: now.toISOString(),
    components: health.components,
    metrics: health.metrics,
  };
}

/** `runbookBaseUrl`: the folder of the runbooks, ending in `/` (default: this project's `docs/runbooks/`). */
export function alertsBody(
  input: HealthInput,
  now: Date = new Date(),
  runbookBaseUrl: string = RUNBOOK_BASE_URL,
): AlertsBody {
  const alerts = evaluateAlerts(input).map((alert): AlertView => ({
    severity: alert.severity,
    component: alert.component,
    message: alert.message,
    recommendation: alert.recommendation,
    alertname: alert.alertname,
    runbook_url: runbookUrl(alert.alertname, runbookBaseUrl),
  }));
  return {
    timestamp: now.toISOString(),
    alert_count: alerts.length,
    alerts,
    status: alerts.length > 0 ? 'alerts_present' : 'no_alerts',
  };
}

/** The route's first two pools (supabase, pinecone), then openai and the Postgres pool, then any other pool by name. */
const ORDER = ['supabase', 'pinecone', 'openai', 'postgres'];
function byReferenceOrder(a: PoolStats, b: PoolStats): number {
  const rank = (name: string) => (ORDER.includes(name) ? ORDER.indexOf(name) : ORDER.length);
  return rank(a.name) - rank(b.name) || a.name.localeCompare(b.name);
}

/** A pool's health from its alerts, by the same rule as the system-health status: critical → unhealthy. */
function statusOf(alerts: readonly Alert[]): PoolHealthStatus {
  if (alerts.some((alert) => alert.severity === 'critical')) return 'unhealthy';
  return alerts.length > 0 ? 'degraded' : 'healthy';
}

function isoOrNull(epochMs: number | null): string | null {
  return epochMs === null ? null : new Date(epochMs).toISOString();
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}
