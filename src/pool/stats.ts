/**
 * The plain snapshot `pool.stats()` returns, computed from live state when called. One name per concept, the
 * metrics' (`maxConnections` ↔ `poolscope_pool_connections_max`, `pendingRequests` ↔ `..._pending_requests`); the
 * JSON routes map them to the names their scripts read (`pool_size`, `queueLength`) at the boundary.
 */
export interface PoolStats {
  name: string;
  /** Max connections: sockets to the origin (`connections`), database clients (`max`). */
  maxConnections: number;
  /** Sockets opened since the pool was created (or since `resetStats()`); not requests. */
  totalConnections: number;
  /** Open sockets with a request on them. */
  activeConnections: number;
  /** Open keep-alive sockets with nothing on them. */
  idleConnections: number;
  /** Requests waiting: for a concurrency slot, or admitted and waiting for a socket. */
  pendingRequests: number;
  /** Requests holding a concurrency slot (body not yet fully read). */
  activeRequests: number;
  maxConcurrent: number;
  maxQueued: number;
  /** Requests finished since start or `resetStats()`, whatever their outcome (rejections included). */
  totalRequests: number;
  successfulRequests: number;
  failedRequests: number;
  /** Connection attempts that failed (refused, timeout, TLS, DNS...). */
  failedConnections: number;
  /** Requests answered 429 in the end (after retries). */
  rateLimitedRequests: number;
  /** Retries made. */
  retries: number;
  /** Failed requests in the last 60 seconds. */
  failuresLastMinute: number;
  /** Failed connection attempts in the last 60 seconds. */
  connectionErrorsLastMinute: number;
  /** Over the last `statsWindowSize` finished requests (slot acquired → body read), milliseconds. */
  averageResponseTimeMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  /** How many finished requests the average and percentiles cover. */
  windowSize: number;
  /** activeConnections ÷ maxConnections, 0–1. */
  utilization: number;
  /** Epoch milliseconds of the last request start, or null. */
  lastRequestAt: number | null;
}
