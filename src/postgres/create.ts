import type { Pool, PoolConfig } from 'pg';
import { loadPeer } from '../peers.js';
import { resolvePgPoolOptions, type PgPoolOptions, type PgPoolSettings } from './options.js';
import { PgPool } from './pool.js';

/**
 * Creates a `pg.Pool` with poolscope's bounds and metrics. `pg` is an optional peer dependency, loaded
 * here on first use. Opens `min` connections before resolving (failures are logged, never thrown: the
 * pool works once the database answers). Throws `PoolConfigError` naming the first bad option.
 */
export async function createPgPool(options: PgPoolOptions = {}): Promise<PgPool> {
  const settings = resolvePgPoolOptions(options);
  const pgPool = newPgPool(loadPeer<{ Pool: typeof Pool }>('pg', settings.name), options, settings);
  if (settings.min > 0) await pgPool.warm(settings.min);
  return pgPool;
}

/**
 * `createPgPool` for synchronous setup code that has `pg` at hand (`import pg from 'pg'`): the same pool,
 * returned at once, its `min` connections opening in the background.
 */
export function createPgPoolSync(pg: { Pool: typeof Pool }, options: PgPoolOptions = {}): PgPool {
  const settings = resolvePgPoolOptions(options);
  const pgPool = newPgPool(pg, options, settings);
  if (settings.min > 0) void pgPool.warm(settings.min);
  return pgPool;
}

function newPgPool(pg: { Pool: typeof Pool }, options: PgPoolOptions, settings: PgPoolSettings): PgPool {
  const config: PoolConfig = {
    ...options.pg,
    max: settings.max,
    min: settings.min,
    idleTimeoutMillis: settings.idleTimeoutMs,
    connectionTimeoutMillis: settings.connectionTimeoutMs,
    maxLifetimeSeconds: settings.maxLifetimeMs / 1000,
    keepAlive: settings.keepAliveIntervalMs > 0,
    keepAliveInitialDelayMillis: settings.keepAliveIntervalMs,
  };
  if (options.connectionString !== undefined) config.connectionString = options.connectionString;
  if (settings.statementTimeoutMs > 0) config.statement_timeout = settings.statementTimeoutMs;
  // So DBAs see whose connections these are in pg_stat_activity; a name in the URL or PGAPPNAME still wins.
  if (config.application_name === undefined && process.env.PGAPPNAME === undefined) {
    config.application_name = `poolscope:${settings.name}`;
  }
  return new PgPool(new pg.Pool(config), settings);
}
