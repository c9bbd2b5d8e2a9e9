export { monitoringRouter, MONITORING_PREFIXES, type MonitoringRouterOptions } from './router.js';
export { monitoringSource, type MonitoringSource } from './source.js';
export { bearerAuth } from './auth.js';
export { errorHandler, notFound, type ErrorBody, type HttpErrorCode } from './errors.js';
export { metricsHandler, prefersOpenMetrics, renderOpenMetrics } from './metrics-route.js';
export {
  alertsBody,
  connectionPoolsBody,
  systemHealthBody,
  type AlertsBody,
  type AlertView,
  type ConnectionPoolsBody,
  type PoolHealthStatus,
  type PoolView,
  type SystemHealthBody,
} from './monitoring-views.js';
export {
  FACADE_NAMES,
  type FacadeName,
  type FacadeStatsView,
  type HealthView,
  type SuccessBody,
} from './connections-routes.js';
