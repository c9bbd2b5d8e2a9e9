import type { Pool } from 'pg';
import { describeTarget, resolveCommon, secretsOf, type PgInstrumentOptions, type PgPoolSettings } from './options.js';
import { PgPool } from './pool.js';

/**
 * Instruments a `pg.Pool` the app already has: its `connect()` and `query()` are measured in place (errors
 * unchanged), its live counts become poolscope's gauges, and it gains `run()`, `stats()`, leak detection.
 * New connections get `application_name` `poolscope:<name>` unless one is set. Returns the `PgPool`.
 */
export function instrumentPgPool(pool: Pool, options: PgInstrumentOptions = {}): PgPool {
  const config = pool.options;
  const connectionString = typeof config.connectionString === 'string' ? config.connectionString : undefined;
  const common = resolveCommon(options);
  const statementTimeout = config.statement_timeout;
  const settings: PgPoolSettings = {
    ...common,
    target: describeTarget(connectionString, config),
    max: config.max,
    min: config.min ?? 0,
    idleTimeoutMs: config.idleTimeoutMillis ?? 0,
    connectionTimeoutMs: config.connectionTimeoutMillis ?? 0,
    statementTimeoutMs: typeof statementTimeout === 'number' ? statementTimeout : 0,
    maxLifetimeMs: (config.maxLifetimeSeconds ?? 0) * 1000,
    keepAliveIntervalMs: config.keepAlive ? (config.keepAliveInitialDelayMillis ?? 0) : 0,
    owned: false,
    secrets: secretsOf(connectionString, config.password),
  };
  const pgPool = new PgPool(pool, settings);
  if (config.application_name === undefined && process.env.PGAPPNAME === undefined) {
    config.application_name = `poolscope:${settings.name}`;
  }
  return pgPool;
}
