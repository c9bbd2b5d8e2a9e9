import { Router, type RequestHandler } from 'express';
import { methodNotAllowed } from './errors.js';
import { alertsBody, connectionPoolsBody, systemHealthBody } from './monitoring-views.js';
import type { MonitoringSource } from './source.js';

/**
 * `/api/monitoring/*`, relative to that prefix. `system-health` is public (load balancers
 * poll it, and it reveals nothing secret); the pool details and alerts need the bearer token.
 */
export function monitoringRoutes(source: MonitoringSource, auth: RequestHandler, runbookBaseUrl: string): Router {
  const router = Router();
  const get = methodNotAllowed(['GET']);

  router
    .route('/connection-pools')
    .get(auth, (_req, res) => {
      res.set('Cache-Control', 'no-store').json(connectionPoolsBody(source.healthInput()));
    })
    .all(get);

  router
    .route('/system-health')
    .get((_req, res) => {
      const body = systemHealthBody(source.healthInput());
      // 503 only when unhealthy: a degraded service still serves, so a load balancer keeps it in rotation.
      res
        .status(body.status === 'unhealthy' ? 503 : 200)
        .set('Cache-Control', 'no-store')
        .json(body);
    })
    .all(get);

  router
    .route('/alerts')
    .get(auth, (_req, res) => {
      res.set('Cache-Control', 'no-store').json(alertsBody(source.healthInput(), new Date(), runbookBaseUrl));
    })
    .all(get);

  return router;
}
