import { Router } from 'express';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { HealthChecksOptions } from '../clients/health-checks.js';
import { PoolConfigError } from '../errors/index.js';
import { normalizeRunbookBaseUrl, RUNBOOK_BASE_URL } from '../health/alert-rules.js';
import { collectProcessMetrics, registry as defaultRegistry } from '../metrics/registry.js';
import { bearerAuth } from './auth.js';
import { connectionsRoutes } from './connections-routes.js';
import { errorHandler, methodNotAllowed, notFound } from './errors.js';
import { metricsHandler } from './metrics-route.js';
import { monitoringRoutes } from './monitoring-routes.js';
import type { MonitoringSource } from './source.js';

export interface MonitoringRouterOptions {
  /** What the routes read: `createClients(config)`'s result, or `monitoringSource(pools)` for plain pools. */
  upstreams: MonitoringSource;
  /** Served on `/metrics`. Default: poolscope's own `registry`. */
  registry?: Registry;
  /** The bearer token. Default: `upstreams.config.service.monitoringToken`, else `MONITORING_TOKEN`. */
  token?: string;
  /** Whether `/metrics` needs the token too. Default: `upstreams.config.service.metricsAuth`, else false. */
  metricsAuth?: boolean;
  /**
   * Where `/api/monitoring/alerts` points each alert's `runbook_url` (`<runbookBaseUrl><AlertName>.md`): your copy
   * of the runbooks, as given to the generated alert rules. Default: `upstreams.config.service.runbookBaseUrl`
   * (`RUNBOOK_BASE_URL`), else this project's `docs/runbooks/`.
   */
  runbookBaseUrl?: string;
  /** Where failures of the routes are logged (never sent to the client), and the health loop's transitions. */
  logger?: Logger;
  /**
   * Starts the set's periodic health checks (as the service runs them), so `poolscope_upstream_up` is current
   * with no one calling a health route: `true` for the defaults, or `{ intervalMs, jitter, timeoutMs }`. They
   * stop when the set closes (`clients.close()`). Needs `upstreams` from `createClients()` / `getClients()`.
   * Default: off.
   */
  healthChecks?: boolean | Omit<HealthChecksOptions, 'logger'>;
  /**
   * Also collects Node's process metrics (`process_*`, `nodejs_*`) into `registry`, once. Default: off, as in
   * prom-client: leave it off if the app already collects them.
   */
  defaultMetrics?: boolean;
}

/** Every path prefix the router answers; anything else passes through to the host app untouched. */
export const MONITORING_PREFIXES = ['/metrics', '/api/monitoring', '/api/connections'] as const;

/**
 * The monitoring surface as one Express router, mounted with one line: `app.use(monitoringRouter(options))`.
 *
 * `GET /metrics`, `/api/monitoring/{connection-pools,system-health,alerts}` and the pool managers'
 * `/api/connections/...`. Its 404 and error handlers only see paths under its own prefixes, so the host
 * app's routes and error pages are unaffected.
 */
export function monitoringRouter(options: MonitoringRouterOptions): Router {
  const { upstreams, logger } = options;
  const registry = options.registry ?? defaultRegistry;
  const token = options.token ?? upstreams.config?.service.monitoringToken ?? envToken();
  const metricsAuth = options.metricsAuth ?? upstreams.config?.service.metricsAuth ?? false;
  const auth = bearerAuth(token);
  const runbookBaseUrl = runbookBase(options.runbookBaseUrl ?? upstreams.config?.service.runbookBaseUrl);
  if (options.defaultMetrics) collectProcessMetrics(registry);
  if (options.healthChecks) {
    if (upstreams.startHealthChecks === undefined) {
      throw new PoolConfigError(
        'healthChecks',
        'needs upstreams from createClients() or getClients(): monitoringSource(pools) has no health checks',
      );
    }
    upstreams.startHealthChecks({
      ...(options.healthChecks === true ? {} : options.healthChecks),
      ...(logger && { logger }),
    });
  }

  const router = Router();
  const metrics = metricsHandler(registry);
  router
    .route('/metrics')
    .get(...(metricsAuth ? [auth, metrics] : [metrics]))
    .all(methodNotAllowed(['GET']));
  router.use('/api/monitoring', monitoringRoutes(upstreams, auth, runbookBaseUrl));
  router.use('/api/connections', auth, connectionsRoutes(upstreams));
  router.use(['/api/monitoring', '/api/connections'], notFound);
  router.use([...MONITORING_PREFIXES], errorHandler(logger));
  return router;
}

/** A bad base fails the router's creation, naming the option, not each request. */
function runbookBase(url: string | undefined): string {
  if (url === undefined) return RUNBOOK_BASE_URL;
  try {
    return normalizeRunbookBaseUrl(url);
  } catch (error) {
    throw new PoolConfigError('runbookBaseUrl', 'must be an absolute http(s) URL', undefined, { cause: error });
  }
}

function envToken(): string | undefined {
  const value = process.env.MONITORING_TOKEN?.trim();
  return value === undefined || value === '' ? undefined : value;
}
