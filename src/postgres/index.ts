// The direct Postgres pool: pg-pool's semantics, poolscope's bounds and metrics.
export { createPgPool, createPgPoolSync } from './create.js';
export {
  SERVICE_LEAK_DETECTION_MS,
  checkPostgres,
  createPostgresFacade,
  pgPoolOptionsFromConfig,
  type PostgresFacadeOptions,
} from './facade.js';
export { sqlVerb } from './failure.js';
export { instrumentPgPool } from './instrument.js';
export {
  PG_POOL_DEFAULTS,
  type PgInstrumentOptions,
  type PgPoolLogger,
  type PgPoolOptions,
  type ResolvedPgPoolOptions,
} from './options.js';
export { PgPool, type PgPoolEventMap } from './pool.js';
