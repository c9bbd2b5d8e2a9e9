// The public API of poolscope, and nothing else.
export * from './errors/index.js';
export { createPool, UpstreamPool } from './pool/pool.js';
export type { FetchInit, FetchInput, PoolFetch, RequestLike, UndiciFetch } from './pool/pool.js';
export type { PoolOptions, PoolTimeouts, RetryOptions, CallerRetries, RequestDescriptor, TlsOptions } from './pool/options.js';
export { POOL_DEFAULTS } from './pool/options.js';
export type { PoolStats } from './pool/stats.js';
export type { PoolEventMap, Outcome } from './pool/events.js';
export { registry, collectProcessMetrics, VERSION } from './metrics/registry.js';
export { metricsFor } from './metrics/families.js';
export type { BuildMode, PoolscopeMetrics } from './metrics/families.js';
export * from './clients/index.js';
export * from './postgres/index.js';
export * from './config/index.js';
export {
  evaluateAlerts,
  evaluateSystemHealth,
  type Alert,
  type HealthInput,
  type SystemHealth,
  type RateLimitSnapshot,
  type UpstreamHealth,
} from './health/evaluate.js';
export { THRESHOLDS, type Thresholds } from './health/thresholds.js';
export { alertRules, type AlertRule, type AlertName, type AlertRuleOptions } from './health/alert-rules.js';
export { renderAlertRules } from './health/render-rules.js';
export {
  monitoringRouter,
  monitoringSource,
  MONITORING_PREFIXES,
  connectionPoolsBody,
  systemHealthBody,
  alertsBody,
  renderOpenMetrics,
  prefersOpenMetrics,
  type MonitoringRouterOptions,
  type MonitoringSource,
  type ConnectionPoolsBody,
  type PoolView,
  type PoolHealthStatus,
  type SystemHealthBody,
  type AlertsBody,
  type AlertView,
  type ErrorBody,
  type HttpErrorCode,
  type SuccessBody,
  type FacadeName,
  type FacadeStatsView,
  type HealthView,
} from './http/index.js';
export { startService, type RunningService, type StartServiceOptions } from './service/index.js';
export type { DemoOptions } from './demo/index.js';
export { postgresMetricsFor, type PostgresMetrics } from './metrics/postgres.js';
