import { randomBytes } from 'node:crypto';
import { pino, type Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createClients, type Clients } from '../clients/index.js';
import { describeConfig } from '../config/redact.js';
import type { PoolscopeConfig, PoolscopeMode } from '../config/types.js';
import type { DemoEnvironment, DemoOptions, DemoWorkload } from '../demo/index.js';
import { metricsFor } from '../metrics/families.js';
import { collectProcessMetrics, registry as defaultRegistry, VERSION } from '../metrics/registry.js';
import { serviceApp } from './app.js';
import { listen, type ListeningServer } from './http-server.js';

export interface StartServiceOptions {
  /** Default: pino JSON lines on stdout at `LOG_LEVEL`. */
  logger?: Logger;
  /** Where the pools record and what `/metrics` serves. Default: poolscope's own `registry`. */
  registry?: Registry;
  /** Demo mode only: the synthetic workload's pace. */
  demo?: DemoOptions;
}

export interface RunningService {
  /** `http://HOST:PORT`, with the port actually bound. */
  readonly url: string;
  readonly mode: PoolscopeMode;
  /** The pools and SDK clients the service monitors (in demo mode, pointed at the simulators). */
  readonly clients: Clients;
  /** Stops accepting, drains in-flight requests and pools within `SHUTDOWN_TIMEOUT_MS`. Idempotent. */
  close(): Promise<void>;
}

/**
 * The standalone service: the configured upstreams' pools and clients, their health checks every
 * `HEALTH_INTERVAL_SECONDS`, and the monitoring router on `HOST:PORT`. With no upstream configured it runs
 * the labelled demo: in-process simulators and a synthetic workload through the real SDK clients.
 *
 * Rejects with `ServiceListenError` when the port cannot be bound (after releasing everything it started).
 */
export async function startService(
  config: PoolscopeConfig,
  options: StartServiceOptions = {},
): Promise<RunningService> {
  const mode = config.mode;
  const base = options.logger ?? pino({ level: config.service.logLevel, timestamp: pino.stdTimeFunctions.isoTime });
  const logger = base.child({ service: 'poolscope', mode });
  const registry = options.registry ?? defaultRegistry;

  let demo: DemoEnvironment | undefined;
  let token = config.service.monitoringToken;
  let upstreamConfig = config;
  if (mode === 'demo') {
    logger.warn(
      'DEMO MODE: poolscope is serving simulated Supabase, OpenAI and Pinecone traffic. ' +
        'Set SUPABASE_URL, OPENAI_API_KEY, PINECONE_API_KEY or DATABASE_URL (and leave POOLSCOPE_MODE unset or live) to monitor real upstreams.',
    );
    // Loaded only here: the simulators stay out of apps that import poolscope as a library.
    const { startDemo } = await import('../demo/index.js');
    demo = await startDemo(config, { logger, ...(options.demo && { demo: options.demo }) });
    upstreamConfig = demo.config;
    // The demo prints a throwaway token so its protected routes can be tried; live mode never invents one.
    token ??= randomBytes(18).toString('base64url');
  }

  const clients = createClients(upstreamConfig, { registry, logger, ...(demo?.tls && { tls: demo.tls }) });
  try {
    // A library app learns of a missing `pg` from the Postgres pool alone; the service was asked for it: stop here.
    void clients.handles.postgres;
  } catch (error) {
    await clients.close(0);
    await demo?.close();
    throw error;
  }
  metricsFor(registry).setMode(mode);
  collectProcessMetrics(registry);
  if (clients.pinecone) {
    // Resolve the index host now (one describe_index): the data-plane pool, its metrics and its health check
    // then exist from the first scrape instead of from the first query.
    await clients
      .pineconeIndex()
      .catch((error: unknown) =>
        logger.warn(
          { code: (error as { code?: string }).code },
          'Pinecone index host not resolved at start; retried on first use',
        ),
      );
  }

  let server: ListeningServer;
  try {
    const app = serviceApp({
      upstreams: clients,
      registry,
      token,
      metricsAuth: config.service.metricsAuth,
      mode,
      logger,
    });
    server = await listen(app, config.service.host, config.service.port);
  } catch (error) {
    await clients.close(0);
    await demo?.close();
    throw error;
  }

  const health = clients.startHealthChecks({ intervalMs: config.service.healthIntervalSeconds * 1000, logger });
  const workload: DemoWorkload | undefined = demo?.startWorkload(clients);

  logger.info(
    {
      url: server.url,
      version: VERSION,
      upstreams: clients.pools().map((pool) => pool.name),
      config: describeConfig(upstreamConfig),
      ...(mode === 'demo' && { token }),
    },
    `poolscope listening on ${server.url}`,
  );
  if (mode === 'demo') {
    logger.warn(
      { token },
      `DEMO MODE: try  curl -H "Authorization: Bearer ${token}" ${server.url}/api/monitoring/connection-pools`,
    );
  } else if (token === undefined) {
    logger.warn('MONITORING_TOKEN is not set: the protected monitoring routes answer 503 until it is');
  }

  let closing: Promise<void> | undefined;
  return {
    url: server.url,
    mode,
    clients,
    close() {
      closing ??= (async () => {
        const deadline = Date.now() + config.service.shutdownTimeoutMs;
        logger.info(
          { inFlight: server.inFlight, timeoutMs: config.service.shutdownTimeoutMs },
          'shutting down: draining in-flight requests',
        );
        // No new health rounds or demo requests; a round in progress finishes with (or is cut by) the pools.
        const healthStopped = health.stop();
        const [drained] = await Promise.all([server.drain(deadline), workload?.stop(deadline)]);
        await clients.close(Math.max(0, deadline - Date.now()));
        await healthStopped;
        await demo?.close();
        logger.info({ drained }, drained ? 'stopped' : 'stopped: in-flight requests cut off at the shutdown deadline');
      })();
      return closing;
    },
  };
}
