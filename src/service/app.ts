import express, { type Express } from 'express';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { PoolscopeMode } from '../config/types.js';
import { errorHandler, sendError } from '../http/errors.js';
import { monitoringRouter } from '../http/router.js';
import type { MonitoringSource } from '../http/source.js';
import { VERSION } from '../metrics/registry.js';

export interface ServiceAppOptions {
  upstreams: MonitoringSource;
  registry: Registry;
  token: string | undefined;
  metricsAuth: boolean;
  mode: PoolscopeMode;
  logger: Logger;
}

export const SERVICE_ROUTES = [
  'GET /metrics',
  'GET /api/monitoring/connection-pools',
  'GET /api/monitoring/system-health',
  'GET /api/monitoring/alerts',
  'GET /api/connections/stats',
  'GET /api/connections/{database,openai,pinecone}/stats',
  'GET /api/connections/{database,openai,pinecone}/health',
  'GET /api/connections/{database,openai,pinecone}/queue',
  'POST /api/connections/{database,openai,pinecone}/reset-stats',
] as const;

/** The standalone service's app: the monitoring router, an index at `/`, and JSON for everything else. */
export function serviceApp(options: ServiceAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  // Every response is a live snapshot (no-store): validators would only cost a hash per response.
  app.set('etag', false);
  app.get('/', (_req, res) => {
    res.json({ name: 'poolscope', version: VERSION, mode: options.mode, routes: SERVICE_ROUTES });
  });
  app.use(
    monitoringRouter({
      upstreams: options.upstreams,
      registry: options.registry,
      token: options.token,
      metricsAuth: options.metricsAuth,
      logger: options.logger,
    }),
  );
  app.use((req, res) => {
    sendError(res, 404, 'NOT_FOUND', `No route for ${req.method} ${req.path}`);
  });
  app.use(errorHandler(options.logger));
  return app;
}
