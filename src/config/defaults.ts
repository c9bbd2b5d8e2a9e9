import type { PoolProfile } from './types.js';

/** The sizes a `POOL_PROFILE` sets, keyed by the variable each stands for. Explicit variables win. */
export interface PoolProfileSizes {
  SUPABASE_POOL_SIZE: number;
  SUPABASE_MAX_KEEPALIVE: number;
  PINECONE_POOL_SIZE: number;
  PINECONE_POOL_MAXSIZE: number;
}

/** The reference design's recommended settings (development, production low / high traffic). */
export const POOL_PROFILES = {
  dev: { SUPABASE_POOL_SIZE: 10, SUPABASE_MAX_KEEPALIVE: 20, PINECONE_POOL_SIZE: 5, PINECONE_POOL_MAXSIZE: 10 },
  'prod-low': { SUPABASE_POOL_SIZE: 20, SUPABASE_MAX_KEEPALIVE: 50, PINECONE_POOL_SIZE: 10, PINECONE_POOL_MAXSIZE: 20 },
  'prod-high': {
    SUPABASE_POOL_SIZE: 50,
    SUPABASE_MAX_KEEPALIVE: 100,
    PINECONE_POOL_SIZE: 20,
    PINECONE_POOL_MAXSIZE: 40,
  },
} as const satisfies Record<PoolProfile, PoolProfileSizes>;

/** Defaults of the variables that have one. Without a profile the pool sizes equal `prod-low`. */
export const ENV_DEFAULTS = {
  ...POOL_PROFILES['prod-low'],
  SUPABASE_TIMEOUT: 30,
  PINECONE_POOL_TIMEOUT: 30,
  OPENAI_BASE_URL: 'https://api.openai.com/v1',
  OPENAI_MAX_CONCURRENT: 10,
  OPENAI_TIMEOUT: 60,
  OPENAI_MAX_RETRIES: 3,
  DATABASE_POOL_SIZE: 10,
  DATABASE_POOL_MIN: 0,
  DATABASE_IDLE_TIMEOUT_MS: 10_000,
  DATABASE_CONNECTION_TIMEOUT_MS: 5_000,
  DATABASE_STATEMENT_TIMEOUT_MS: 30_000,
  DATABASE_MAX_LIFETIME_MS: 1_800_000,
  DATABASE_KEEPALIVE_INTERVAL_MS: 120_000,
  FLEET_LEASE_MS: 10_000,
  FLEET_ON_UNAVAILABLE: 'local',
  HOST: '127.0.0.1',
  PORT: 9464,
  METRICS_AUTH: false,
  HEALTH_INTERVAL_SECONDS: 15,
  LOG_LEVEL: 'info',
  POOLSCOPE_MODE: 'auto',
  SHUTDOWN_TIMEOUT_MS: 10_000,
} as const;
