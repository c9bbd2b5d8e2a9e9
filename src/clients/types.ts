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

/** `DatabasePool.getStats()`: the pool manager's `ConnectionStats` (exported under that name too). */
export interface DatabaseStats {
  totalConnections: number;
  activeConnections: number;
  idleConnections: number;
  totalQueries: number;
  successfulQueries: number;
  failedQueries: number;
  averageResponseTime: number;
  lastQueryTime: number | null;
}

/** The pool manager's name for `DatabaseStats`. */
export type ConnectionStats = DatabaseStats;

/** `DatabasePool.getPoolConfig()`. */
export interface DatabasePoolConfig {
  maxConnections: number;
  minConnections: number;
  connectionTimeout: number;
  idleTimeout: number;
  maxRetries: number;
  retryDelay: number;
}

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

export type DatabaseFacade = PoolFacade<DatabaseStats, DatabasePoolConfig>;
export type OpenAIFacade = PoolFacade<OpenAIStats, OpenAIPoolConfig>;
export type PineconeFacade = PoolFacade<DatabaseStats, DatabasePoolConfig>;

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
  readonly database?: DatabaseFacade;
  readonly supabase?: DatabaseFacade;
  readonly postgres?: DatabaseFacade;
  readonly openai?: OpenAIFacade;
  readonly pinecone?: PineconeFacade;
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
