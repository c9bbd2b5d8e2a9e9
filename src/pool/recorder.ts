import type { ConnectionErrorReason, FailureReason } from '../errors/index.js';
import type { LiveCounts, PoolscopeMetrics } from '../metrics/families.js';
export type { LiveCounts } from '../metrics/families.js';
import type { Outcome } from './events.js';
import type { RetryReason } from './retry.js';
import type { PoolStats } from './stats.js';
import { LatencyWindow, MinuteCounter } from './window.js';


/** One operation's metric children, cached so the request path allocates no label objects. */
export interface OperationRecorder {
  readonly name: string;
  /** `durationMs` NaN marks a request refused before it ran: counted, but with no duration. */
  finish(outcome: Outcome, reason: FailureReason | undefined, status: number | undefined, durationMs: number): void;
}

export type RequestEndListener = (
  operation: string,
  outcome: Outcome,
  reason: FailureReason | undefined,
  status: number | undefined,
  durationMs: number,
) => void;

interface Counts {
  total: number;
  successful: number;
  failed: number;
  failedConnections: number;
  rateLimited: number;
  retries: number;
  connectionsOpened: number;
  lastRequestAt: number | null;
}

const zeroCounts = (): Counts => ({
  total: 0,
  successful: 0,
  failed: 0,
  failedConnections: 0,
  rateLimited: 0,
  retries: 0,
  connectionsOpened: 0,
  lastRequestAt: null,
});

type CounterChild = { inc(value?: number): void };

/**
 * What every pool (HTTP or Postgres) records: the Prometheus counters and histograms of its requests and
 * connections, and the resettable snapshot behind `stats()`. Gauges are not here: they are read live.
 */
export class PoolRecorder {
  readonly #window: LatencyWindow;
  readonly #failuresPerMinute = new MinuteCounter();
  readonly #connectionErrorsPerMinute = new MinuteCounter();
  readonly #operations = new Map<string, OperationRecorder>();
  readonly #connectionErrors = new Map<ConnectionErrorReason, CounterChild>();
  readonly #retries = new Map<RetryReason, CounterChild>();
  readonly #created: CounterChild;
  readonly #closed: CounterChild;
  #counts = zeroCounts();

  constructor(
    readonly pool: string,
    private readonly metrics: PoolscopeMetrics,
    windowSize: number,
    private readonly onRequestEnd: RequestEndListener,
  ) {
    this.#window = new LatencyWindow(windowSize);
    this.#created = metrics.connectionsCreated.labels(pool);
    this.#closed = metrics.connectionsClosed.labels(pool);
  }

  requestStarted(): void {
    this.#counts.lastRequestAt = Date.now();
  }

  operation(name: string): OperationRecorder {
    let recorder = this.#operations.get(name);
    if (!recorder) this.#operations.set(name, (recorder = this.#createOperation(name)));
    return recorder;
  }

  connectionOpened(): void {
    this.#created.inc();
    this.#counts.connectionsOpened++;
  }

  connectionClosed(): void {
    this.#closed.inc();
  }

  connectionFailed(reason: ConnectionErrorReason): void {
    let counter = this.#connectionErrors.get(reason);
    if (!counter) this.#connectionErrors.set(reason, (counter = this.metrics.connectionErrors.labels(this.pool, reason)));
    counter.inc();
    this.#counts.failedConnections++;
    this.#connectionErrorsPerMinute.record();
  }

  retried(reason: RetryReason): void {
    this.#counts.retries++;
    let counter = this.#retries.get(reason);
    if (!counter) this.#retries.set(reason, (counter = this.metrics.requestRetries.labels(this.pool, reason)));
    counter.inc();
  }

  /** The snapshot of `stats()`: live counts now, plus what was recorded since start or `reset()`. */
  snapshot(live: LiveCounts): PoolStats {
    const window = this.#window.summary();
    const now = Date.now();
    const counts = this.#counts;
    return {
      name: this.pool,
      poolSize: live.poolSize,
      totalConnections: counts.connectionsOpened,
      activeConnections: live.activeConnections,
      idleConnections: live.idleConnections,
      pendingRequests: live.pendingRequests,
      activeRequests: live.activeRequests,
      maxConcurrent: live.maxConcurrent,
      maxQueued: live.maxQueued,
      totalRequests: counts.total,
      successfulRequests: counts.successful,
      failedRequests: counts.failed,
      failedConnections: counts.failedConnections,
      rateLimitedRequests: counts.rateLimited,
      retries: counts.retries,
      failuresLastMinute: this.#failuresPerMinute.lastMinute(now),
      connectionErrorsLastMinute: this.#connectionErrorsPerMinute.lastMinute(now),
      averageResponseTimeMs: round2(window.averageMs),
      p50Ms: round2(window.p50Ms),
      p95Ms: round2(window.p95Ms),
      p99Ms: round2(window.p99Ms),
      windowSize: window.count,
      utilization: live.poolSize > 0 ? live.activeConnections / live.poolSize : 0,
      lastRequestAt: counts.lastRequestAt,
    };
  }

  /** Resets the snapshot, never a Prometheus counter (they only go up). */
  reset(): void {
    this.#counts = zeroCounts();
    this.#window.reset();
    this.#failuresPerMinute.reset();
    this.#connectionErrorsPerMinute.reset();
  }

  #createOperation(operation: string): OperationRecorder {
    const { metrics, pool } = this;
    const success = metrics.requestDuration.labels(pool, operation, 'success');
    const failure = metrics.requestDuration.labels(pool, operation, 'error');
    const failures = new Map<FailureReason, CounterChild>();
    return {
      name: operation,
      finish: (outcome, reason, status, durationMs) => {
        const counts = this.#counts;
        counts.total++;
        const ran = !Number.isNaN(durationMs);
        if (ran) {
          (outcome === 'success' ? success : failure).observe(durationMs / 1000);
          this.#window.record(durationMs);
        }
        if (outcome === 'success') counts.successful++;
        else {
          counts.failed++;
          this.#failuresPerMinute.record();
          const key = reason ?? 'other';
          if (key === 'rate_limited') counts.rateLimited++;
          let counter = failures.get(key);
          if (!counter) failures.set(key, (counter = metrics.requestFailures.labels(pool, operation, key)));
          counter.inc();
        }
        if (ran) this.onRequestEnd(operation, outcome, reason, status, durationMs);
      },
    };
  }
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
