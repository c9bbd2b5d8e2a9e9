import type { DatabaseConfig } from '../config/types.js';
import { PoolscopeError } from '../errors/index.js';
import { metricsFor } from '../metrics/families.js';
import { HEALTH_CHECK_TIMEOUT_MS, recordHealth } from '../clients/health-check.js';
import type {
  PoolManagerFacade,
  PoolManagerConfig,
  PoolManagerStats,
  HealthCheckResult,
  HealthStatus,
} from '../clients/types.js';
import type { PgPoolOptions } from './options.js';
import type { PgPool } from './pool.js';

/** Leak detection the service turns on (off in the library, as in HikariCP): a request holding a client 30 s is a bug. */
export const SERVICE_LEAK_DETECTION_MS = 30_000;

/** Maps the `DATABASE_*` variables (`loadConfig().database`) onto `createPgPool` options, pool name `postgres`. */
export function pgPoolOptionsFromConfig(database: DatabaseConfig): PgPoolOptions {
  return {
    name: 'postgres',
    // `url` is a non-enumerable secret of the config section: read it by name, never spread it.
    connectionString: database.url,
    max: database.poolSize,
    min: database.min,
    idleTimeoutMs: database.idleTimeoutMs,
    connectionTimeoutMs: database.connectionTimeoutMs,
    statementTimeoutMs: database.statementTimeoutMs,
    maxLifetimeMs: database.maxLifetimeMs,
    keepAliveIntervalMs: database.keepAliveIntervalMs,
    leakDetectionThresholdMs: SERVICE_LEAK_DETECTION_MS,
  };
}

export interface PostgresFacadeOptions {
  /** Runs the health check (default `checkPostgres`); lets `createClients` remember each result. */
  check?: (timeoutMs?: number) => Promise<HealthCheckResult>;
  /** Longest the `SELECT 1` health check may take, checkout included. Default 5000, like every upstream's check. */
  healthCheckTimeoutMs?: number;
}

/**
 * Runs `SELECT 1` through the pool (operation `health_check`) with its own timeout, checkout included, and
 * records `poolscope_upstream_up` and `poolscope_health_check_duration_seconds` for the pool. Never throws.
 */
export async function checkPostgres(
  pgPool: PgPool,
  timeoutMs: number = HEALTH_CHECK_TIMEOUT_MS,
): Promise<HealthCheckResult> {
  const startedAt = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(resolve, timeoutMs, 'timeout');
    timer.unref();
  });
  // query_timeout stops pg waiting on a stuck server (the client is then closed, not reused); the race
  // also bounds the wait for a client.
  const check = pgPool.run('health_check', (client) =>
    client.query({ text: 'SELECT 1', query_timeout: timeoutMs } as { text: string }),
  );
  let status: HealthStatus;
  let detail: string | undefined;
  try {
    if ((await Promise.race([check.then(() => 'ok' as const), deadline])) === 'timeout') {
      check.catch(() => undefined);
      status = 'unhealthy';
      detail = `no answer within ${timeoutMs} ms`;
    } else status = 'healthy';
  } catch (error) {
    status = 'unhealthy';
    detail = describeError(error);
  } finally {
    clearTimeout(timer);
  }
  return recordHealth(metricsFor(pgPool.registry), pgPool.name, 'Database', status, startedAt, detail);
}

/**
 * The `DatabasePool` facade (its stats, config and health fields) over a `PgPool`, for `/api/connections/database/*`: the pool's
 * snapshot under reference field names, mapped as `HttpPoolManagerFacade` maps the HTTP pools'
 * (`totalConnections` = connections opened since start or `resetStats()`; active + idle = open now).
 */
export function createPostgresFacade(pgPool: PgPool, options: PostgresFacadeOptions = {}): PoolManagerFacade {
  const timeoutMs = options.healthCheckTimeoutMs ?? HEALTH_CHECK_TIMEOUT_MS;
  const getStats = (): PoolManagerStats => {
    const stats = pgPool.stats();
    return {
      totalConnections: stats.totalConnections,
      activeConnections: stats.activeConnections,
      idleConnections: stats.idleConnections,
      totalQueries: stats.totalRequests,
      successfulQueries: stats.successfulRequests,
      failedQueries: stats.failedRequests,
      averageResponseTime: stats.averageResponseTimeMs,
      lastQueryTime: stats.lastRequestAt,
    };
  };
  return {
    getStats,
    getPoolConfig(): PoolManagerConfig {
      const o = pgPool.options;
      // pg has no retries of its own and poolscope adds none to SQL: a repeated write is not always safe.
      return {
        maxConnections: o.max,
        minConnections: o.min,
        connectionTimeout: o.connectionTimeoutMs,
        idleTimeout: o.idleTimeoutMs,
        maxRetries: 0,
        retryDelay: 0,
      };
    },
    getQueueStatus() {
      const live = pgPool.live();
      return {
        queueLength: live.pendingRequests,
        activeRequests: live.activeRequests,
        maxConcurrent: live.maxConcurrent,
      };
    },
    resetStats: () => pgPool.resetStats(),
    healthCheck: async (checkTimeoutMs = timeoutMs) => ({
      ...(await (options.check ?? ((ms?: number) => checkPostgres(pgPool, ms)))(checkTimeoutMs)),
      stats: getStats(),
    }),
    close: () => pgPool.close(),
  };
}

/** poolscope errors carry a code and a safe message; pg's server errors a SQLSTATE. Nothing else is described. */
function describeError(error: unknown): string {
  const e = error as { code?: unknown; message?: unknown } | null;
  if (error instanceof PoolscopeError) return `${e?.code as string}: ${error.message}`;
  return typeof e?.code === 'string' ? `error ${e.code}` : 'query failed';
}
