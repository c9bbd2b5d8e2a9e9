import type { PoolscopeMetrics } from '../metrics/families.js';
import type { FetchInit, UpstreamPool } from '../pool/pool.js';
import type { HealthCheckResult } from './types.js';

/** A check slower than this is reachable but `degraded`. */
export const DEGRADED_AFTER_MS = 2_000;
export const HEALTH_CHECK_TIMEOUT_MS = 5_000;

/**
 * Runs one cheap real request on the upstream pool's sockets (past its queue: `pool.probe`) with its own
 * short timeout, and records
 * `poolscope_upstream_up` and `poolscope_health_check_duration_seconds` for the pool.
 */
export async function checkUpstream(
  pool: UpstreamPool,
  metrics: PoolscopeMetrics,
  label: string,
  url: string,
  init: FetchInit,
  timeoutMs: number = HEALTH_CHECK_TIMEOUT_MS,
): Promise<HealthCheckResult> {
  const started = performance.now();
  let status: HealthCheckResult['status'];
  let detail: string;
  try {
    const response = await pool.probe(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    await response.arrayBuffer();
    if (response.status === 401 || response.status === 403) {
      status = 'unhealthy';
      detail = `credentials rejected (HTTP ${response.status})`;
    } else if (response.status >= 500) {
      status = 'unhealthy';
      detail = `upstream error (HTTP ${response.status})`;
    } else if (response.status === 429) {
      status = 'degraded';
      detail = 'rate limited (HTTP 429)';
    } else {
      status = 'healthy';
      detail = `HTTP ${response.status}`;
    }
  } catch (error) {
    status = 'unhealthy';
    detail =
      (error as { name?: string }).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : failureCode(error);
  }
  return recordHealth(metrics, pool.name, label, status, started, detail);
}

/**
 * Grades a finished check (a healthy one slower than `DEGRADED_AFTER_MS` is degraded), records
 * `poolscope_upstream_up` and `poolscope_health_check_duration_seconds`, and builds the result `healthCheck()` returns:
 * "Database healthy (response time: 45ms)".
 */
export function recordHealth(
  metrics: PoolscopeMetrics,
  pool: string,
  label: string,
  outcome: HealthCheckResult['status'],
  startedAt: number,
  detail: string | undefined,
): HealthCheckResult {
  const latencyMs = Math.round(performance.now() - startedAt);
  const status = outcome === 'healthy' && latencyMs > DEGRADED_AFTER_MS ? 'degraded' : outcome;
  metrics.upstreamUp.set({ pool }, status === 'unhealthy' ? 0 : 1);
  metrics.healthCheckDuration.observe({ pool }, latencyMs / 1000);
  return {
    status,
    healthy: status !== 'unhealthy',
    latencyMs,
    message: `${label} ${status} (response time: ${latencyMs}ms${detail ? `; ${detail}` : ''})`,
    checkedAt: Date.now(),
  };
}

/** Our typed errors carry a code and never a secret; anything else is described by its code only. */
function failureCode(error: unknown): string {
  const e = error as { code?: unknown; message?: unknown };
  return typeof e.code === 'string' ? e.code : 'request failed';
}
