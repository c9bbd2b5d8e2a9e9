import type { UpstreamPool } from '../pool/pool.js';
import type { PoolStats } from '../pool/stats.js';
import type { OpenAIUsage } from './openai-usage.js';
import type {
  PoolManagerConfig,
  PoolManagerStats,
  HealthCheckResult,
  OpenAIPoolConfig,
  OpenAIStats,
  PoolFacade,
  QueueStatus,
} from './types.js';

const EMPTY_STATS: PoolStats = {
  name: '',
  maxConnections: 0,
  totalConnections: 0,
  activeConnections: 0,
  idleConnections: 0,
  pendingRequests: 0,
  activeRequests: 0,
  maxConcurrent: 0,
  maxQueued: 0,
  totalRequests: 0,
  successfulRequests: 0,
  failedRequests: 0,
  failedConnections: 0,
  rateLimitedRequests: 0,
  retries: 0,
  failuresLastMinute: 0,
  connectionErrorsLastMinute: 0,
  averageResponseTimeMs: 0,
  p50Ms: 0,
  p95Ms: 0,
  p99Ms: 0,
  windowSize: 0,
  utilization: 0,
  lastRequestAt: null,
};

function queueStatus(stats: PoolStats): QueueStatus {
  return {
    queueLength: stats.pendingRequests,
    activeRequests: stats.activeRequests,
    maxConcurrent: stats.maxConcurrent,
  };
}

/**
 * The `DatabasePool` facade over an HTTP pool (Supabase REST, or Pinecone's data plane): its field names,
 * computed from the pool's live snapshot. `getPool` may return undefined until a lazily created pool exists.
 */
export class HttpPoolManagerFacade implements PoolFacade<PoolManagerStats, PoolManagerConfig> {
  constructor(
    private readonly getPool: () => UpstreamPool | undefined,
    private readonly check: (timeoutMs?: number) => Promise<HealthCheckResult>,
  ) {}

  #stats(): PoolStats {
    return this.getPool()?.stats() ?? EMPTY_STATS;
  }

  getStats(): PoolManagerStats {
    const s = this.#stats();
    return {
      totalConnections: s.totalConnections,
      activeConnections: s.activeConnections,
      idleConnections: s.idleConnections,
      totalQueries: s.totalRequests,
      successfulQueries: s.successfulRequests,
      failedQueries: s.failedRequests,
      averageResponseTime: s.averageResponseTimeMs,
      lastQueryTime: s.lastRequestAt,
    };
  }

  getPoolConfig(): PoolManagerConfig {
    const options = this.getPool()?.options;
    return {
      maxConnections: options?.connections ?? 0,
      // undici opens sockets on demand: there is no minimum kept open.
      minConnections: 0,
      connectionTimeout: options?.timeouts.connectMs ?? 0,
      idleTimeout: options?.keepAliveTimeoutMs ?? 0,
      maxRetries: options?.retry.maxRetries ?? 0,
      retryDelay: options?.retry.baseDelayMs ?? 0,
    };
  }

  getQueueStatus(): QueueStatus {
    return queueStatus(this.#stats());
  }

  resetStats(): void {
    this.getPool()?.resetStats();
  }

  async healthCheck(timeoutMs?: number): Promise<HealthCheckResult & { stats: PoolManagerStats }> {
    return { ...(await this.check(timeoutMs)), stats: this.getStats() };
  }

  async close(): Promise<void> {
    await this.getPool()?.close();
  }
}

/** The `OpenAIPool` facade: the pool's snapshot plus tokens and requests by model. */
export class OpenAIFacade implements PoolFacade<OpenAIStats, OpenAIPoolConfig> {
  constructor(
    private readonly pool: UpstreamPool,
    private readonly usage: OpenAIUsage,
    /** The SDK's overall timeout. */
    private readonly timeoutMs: number,
    private readonly check: (timeoutMs?: number) => Promise<HealthCheckResult>,
  ) {}

  getStats(): OpenAIStats {
    const s = this.pool.stats();
    return {
      totalRequests: s.totalRequests,
      activeRequests: s.activeRequests,
      successfulRequests: s.successfulRequests,
      failedRequests: s.failedRequests,
      rateLimitedRequests: s.rateLimitedRequests,
      averageResponseTime: s.averageResponseTimeMs,
      averageTokensUsed: this.usage.averageTokensUsed,
      lastRequestTime: s.lastRequestAt,
      requestsByModel: { ...this.usage.requestsByModel },
    };
  }

  getPoolConfig(): OpenAIPoolConfig {
    const { options } = this.pool;
    return {
      maxConcurrentRequests: options.maxConcurrent,
      requestTimeout: options.timeouts.headersMs,
      maxRetries: options.retry.maxRetries,
      retryDelay: options.retry.baseDelayMs,
      timeout: this.timeoutMs,
    };
  }

  getQueueStatus(): QueueStatus {
    return queueStatus(this.pool.stats());
  }

  resetStats(): void {
    this.pool.resetStats();
    this.usage.reset();
  }

  async healthCheck(timeoutMs?: number): Promise<HealthCheckResult & { stats: OpenAIStats }> {
    return { ...(await this.check(timeoutMs)), stats: this.getStats() };
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
