import type { HealthInput } from '../health/evaluate.js';
import type { PoolStats } from '../pool/stats.js';
import type { PoolscopeConfig } from '../config/types.js';

export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy';

/** One health check: a cheap real call through the upstream's pool, with its own short timeout. */
export interface HealthCheckResult {
  status: HealthStatus;
  /** `status !== 'unhealthy'` (the field `healthCheck()` callers read). */
  healthy: boolean;
  latencyMs: number;
  /** Human-readable, never a secret: "Database healthy (response time: 45ms)". */
  message: string;
  /** Epoch milliseconds. */
  checkedAt: number;
}

/**
 * A pool manager's `getStats()` (`DatabasePool`, `PineconePool`, `/api/connections/<name>/stats`): every pool,
 * HTTP or database, under the field names its callers read (`totalQueries` counts requests of an HTTP pool).
 */
export interface PoolManagerStats {
  totalConnections: number;
  activeConnections: number;
  idleConnections: number;
  totalQueries: number;
  successfulQueries: number;
  failedQueries: number;
  averageResponseTime: number;
  lastQueryTime: number | null;
}

/** The names apps written against `DatabasePool` use for `PoolManagerStats`. */
export type ConnectionStats = PoolManagerStats;
export type DatabaseStats = PoolManagerStats;

/** A pool manager's `getPoolConfig()` (`DatabasePool`, `PineconePool`); `DatabasePoolConfig` is its name there. */
export interface PoolManagerConfig {
  maxConnections: number;
  minConnections: number;
  connectionTimeout: number;
  idleTimeout: number;
  maxRetries: number;
  retryDelay: number;
}

/** `DatabasePool.getPoolConfig()`'s name for `PoolManagerConfig`. */
export type DatabasePoolConfig = PoolManagerConfig;

/** `OpenAIPool.getStats()`. */
export interface OpenAIStats {
  totalRequests: number;
  activeRequests: number;
  successfulRequests: number;
  failedRequests: number;
  rateLimitedRequests: number;
  averageResponseTime: number;
  averageTokensUsed: number;
  lastRequestTime: number | null;
  requestsByModel: Record<string, number>;
}

/** `OpenAIPool.getPoolConfig()`. */
export interface OpenAIPoolConfig {
  maxConcurrentRequests: number;
  requestTimeout: number;
  maxRetries: number;
  retryDelay: number;
  timeout: number;
}

/** `getQueueStatus()` of the pool managers. */
export interface QueueStatus {
  queueLength: number;
  activeRequests: number;
  maxConcurrent: number;
}

/** The pool managers' facades (`DatabasePool`, `OpenAIPool`), and the Pinecone equivalent. */
export interface PoolFacade<Stats, Config> {
  getStats(): Stats;
  getPoolConfig(): Config;
  getQueueStatus(): QueueStatus;
  resetStats(): void;
  /** Runs the upstream's health check now (`timeoutMs`: its own bound, default 5000). */
  healthCheck(timeoutMs?: number): Promise<HealthCheckResult & { stats: Stats }>;
  close(): Promise<void>;
}

/** `DatabasePool`, `PineconePool` and the `/api/connections/<name>/*` entries other than `openai`, over any pool. */
export type PoolManagerFacade = PoolFacade<PoolManagerStats, PoolManagerConfig>;
/** The pool managers' names for `PoolManagerFacade`. */
export type DatabaseFacade = PoolManagerFacade;
export type PineconeFacade = PoolManagerFacade;
export type OpenAIFacade = PoolFacade<OpenAIStats, OpenAIPoolConfig>;

/** What the monitoring surface needs of any pool, HTTP (`UpstreamPool`) or database (`PgPool`). */
export interface MonitoredPool {
  readonly name: string;
  stats(): PoolStats;
  close(deadlineMs?: number): Promise<void>;
}

/**
 * Everything the monitoring surface reads: the pools, the pool managers' facades, the last health
 * checks and the rate-limit headroom. `createClients(config)` returns one; the service and the router use it.
 */
export interface MonitoredUpstreams {
  readonly config: PoolscopeConfig;
  /** Every live pool (supabase, pinecone, pinecone_control, openai, postgres...). */
  pools(): MonitoredPool[];
  /**
   * Facades keyed as the routes name them: `database` (`DatabasePool`: Supabase's REST pool
   * when Supabase is configured, else the direct Postgres pool), `supabase`, `postgres`, `openai`, `pinecone`.
   * Absent when not configured.
   */
  readonly database?: PoolManagerFacade;
  readonly supabase?: PoolManagerFacade;
  readonly postgres?: PoolManagerFacade;
  readonly openai?: OpenAIFacade;
  readonly pinecone?: PoolManagerFacade;
  /** The input of `evaluateAlerts` / `evaluateSystemHealth`, from live state and the last health checks. */
  healthInput(): HealthInput;
  /**
   * Runs every configured upstream's health check now, each bounded by `timeoutMs` (default 5000), recorded as
   * `poolscope_upstream_up`; keyed `supabase`, `postgres`, `openai`, `pinecone`. Never rejects for a down upstream.
   */
  checkHealth(timeoutMs?: number): Promise<Record<string, HealthCheckResult>>;
  /** Closes every pool, draining in-flight work up to the deadline. */
  close(deadlineMs?: number): Promise<void>;
}
