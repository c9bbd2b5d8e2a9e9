/** The validated configuration `loadConfig()` returns. Field comments name the variable each comes from. */

/** `demo` when `POOLSCOPE_MODE=demo` or nothing is configured; else `live`. */
export type PoolscopeMode = 'demo' | 'live';
/** `POOLSCOPE_MODE`: what the operator asked for. */
export type PoolscopeModeSetting = 'auto' | 'demo' | 'live';
/** `POOL_PROFILE`. */
export type PoolProfile = 'dev' | 'prod-low' | 'prod-high';
/** `LOG_LEVEL`: pino's levels. */
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface ServiceConfig {
  /** `HOST` */
  host: string;
  /** `PORT` */
  port: number;
  /** `MONITORING_TOKEN`: the bearer token of the monitoring API. Secret: not enumerable. */
  monitoringToken?: string;
  /** `METRICS_AUTH`: whether `/metrics` needs the bearer token too. */
  metricsAuth: boolean;
  /** `RUNBOOK_BASE_URL`, ending in `/`: where `/api/monitoring/alerts` points each alert's `runbook_url`. */
  runbookBaseUrl?: string;
  /** `HEALTH_INTERVAL_SECONDS` */
  healthIntervalSeconds: number;
  /** `LOG_LEVEL` */
  logLevel: LogLevel;
  /** `SHUTDOWN_TIMEOUT_MS` */
  shutdownTimeoutMs: number;
}

export interface SupabaseConfig {
  /** `SUPABASE_URL` */
  url: string;
  /** `SUPABASE_ANON_KEY`. Secret: not enumerable. */
  anonKey?: string;
  /** `SUPABASE_SERVICE_ROLE_KEY`. Secret: not enumerable. */
  serviceRoleKey?: string;
  /** `SUPABASE_POOL_SIZE`: sockets and requests in flight. */
  poolSize: number;
  /** `SUPABASE_MAX_KEEPALIVE`: idle sockets kept for reuse (`0` turns keep-alive off). */
  maxKeepAlive: number;
  /** `SUPABASE_TIMEOUT` */
  timeoutSeconds: number;
  /** `SUPABASE_TABLES`: table names allowed in operation labels; empty when unset. */
  tables: string[];
  /** `SUPABASE_FLEET_MAX_CONCURRENT`: the fleet-wide cap in Redis (`FLEET_REDIS_URL`); absent when unset. */
  fleetMaxConcurrent?: number;
}

export interface PineconeConfig {
  /** `PINECONE_API_KEY`. Secret: not enumerable. */
  apiKey: string;
  /** `PINECONE_INDEX_NAME` */
  indexName?: string;
  /** `PINECONE_INDEX_HOST`: the data plane host, as given (bare host or URL). */
  indexHost?: string;
  /** `PINECONE_CONTROLLER_HOST`: control plane override, as given. */
  controllerHost?: string;
  /** `PINECONE_POOL_SIZE`: sockets and requests in flight. */
  poolSize: number;
  /** `PINECONE_POOL_MAXSIZE`: idle sockets kept for reuse (urllib3's `maxsize`). */
  poolMaxSize: number;
  /** `PINECONE_POOL_TIMEOUT` */
  timeoutSeconds: number;
  /** `PINECONE_FLEET_MAX_CONCURRENT`: the data plane's fleet-wide cap in Redis; absent when unset. */
  fleetMaxConcurrent?: number;
}

export interface OpenAIConfig {
  /** `OPENAI_API_KEY`. Secret: not enumerable. */
  apiKey: string;
  /** `OPENAI_BASE_URL` */
  baseURL: string;
  /** `OPENAI_MAX_CONCURRENT`: requests in flight. */
  maxConcurrent: number;
  /** `OPENAI_POOL_SIZE`: sockets. */
  poolSize: number;
  /** `OPENAI_TIMEOUT` */
  timeoutSeconds: number;
  /** `OPENAI_MAX_RETRIES` */
  maxRetries: number;
  /** `OPENAI_MODELS`: overrides the default model allow-list for labels; absent when unset. */
  models?: string[];
  /** `OPENAI_FLEET_MAX_CONCURRENT`: the fleet-wide cap in Redis; absent when unset. */
  fleetMaxConcurrent?: number;
  /** `OPENAI_FLEET_TOKENS_PER_MINUTE`: the fleet-wide tokens-per-minute budget in Redis; absent when unset. */
  fleetTokensPerMinute?: number;
}

export interface DatabaseConfig {
  /** `DATABASE_URL`. Carries the password: not enumerable; log `redactUrl(url)`. */
  url: string;
  /** `DATABASE_POOL_SIZE` */
  poolSize: number;
  /** `DATABASE_POOL_MIN` */
  min: number;
  /** `DATABASE_IDLE_TIMEOUT_MS` */
  idleTimeoutMs: number;
  /** `DATABASE_CONNECTION_TIMEOUT_MS` */
  connectionTimeoutMs: number;
  /** `DATABASE_STATEMENT_TIMEOUT_MS` */
  statementTimeoutMs: number;
  /** `DATABASE_MAX_LIFETIME_MS` */
  maxLifetimeMs: number;
  /** `DATABASE_KEEPALIVE_INTERVAL_MS` */
  keepAliveIntervalMs: number;
  /** `DATABASE_FLEET_MAX_CONCURRENT`: the fleet-wide cap on checkouts in Redis; absent when unset. */
  fleetMaxConcurrent?: number;
}

/** The fleet budget's Redis, shared by every upstream with a `<UPSTREAM>_FLEET_MAX_CONCURRENT`. */
export interface FleetConfig {
  /** `FLEET_REDIS_URL`. May carry a password: not enumerable; log `redactUrl(redisUrl)`. */
  redisUrl: string;
  /** `FLEET_LEASE_MS` */
  leaseMs: number;
  /** `FLEET_ON_UNAVAILABLE` */
  onUnavailable: 'local' | 'reject';
}

export interface PoolscopeConfig {
  mode: PoolscopeMode;
  service: ServiceConfig;
  /** `POOL_PROFILE`, when set. */
  profile?: PoolProfile;
  /** Each upstream's section is present only when that upstream is configured. */
  supabase?: SupabaseConfig;
  pinecone?: PineconeConfig;
  openai?: OpenAIConfig;
  database?: DatabaseConfig;
  /** Present when `FLEET_REDIS_URL` is set. */
  fleet?: FleetConfig;
}
