import {
  CONNECTION_ERROR_REASONS,
  FAILURE_REASONS,
  type ConnectionErrorReason,
  type FailureReason,
} from '../errors/index.js';
import type { LiveCounts, PoolscopeMetrics } from '../metrics/families.js';
export type { LiveCounts } from '../metrics/families.js';
import type { Outcome } from './events.js';
import { RETRY_REASONS, type RetryReason } from './retry.js';
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

export type CounterChild = { inc(value?: number): void };

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
  readonly #acquireTimeouts: CounterChild;
  readonly #connectionCreate: { observe(value: number): void };
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
    this.#acquireTimeouts = exported(metrics.acquireTimeouts.labels(pool));
    this.#connectionCreate = metrics.connectionCreate.labels(pool);
    // Every bounded reason is exported from 0, so `increase()` sees the first failure and a query can tell
    // "none happened" from "not recorded".
    for (const reason of CONNECTION_ERROR_REASONS)
      this.#connectionErrors.set(reason, exported(metrics.connectionErrors.labels(pool, reason)));
    for (const reason of RETRY_REASONS)
      this.#retries.set(reason, exported(metrics.requestRetries.labels(pool, reason)));
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
    this.#connectionErrors.get(reason)!.inc();
    this.#counts.failedConnections++;
    this.#connectionErrorsPerMinute.record();
  }

  /** A connection was opened in `ms` (connect started → usable). */
  connectionCreated(ms: number): void {
    this.#connectionCreate.observe(ms / 1000);
  }

  /** A checkout gave up waiting for a slot or a client (HikariCP's `timeout` count). */
  acquireTimedOut(): void {
    this.#acquireTimeouts.inc();
  }

  retried(reason: RetryReason): void {
    this.#counts.retries++;
    this.#retries.get(reason)!.inc();
  }

  /** The snapshot of `stats()`: live counts now, plus what was recorded since start or `reset()`. */
  snapshot(live: LiveCounts): PoolStats {
    const window = this.#window.summary();
    const now = Date.now();
    const counts = this.#counts;
    return {
      name: this.pool,
      maxConnections: live.maxConnections,
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
      utilization: live.maxConnections > 0 ? live.activeConnections / live.maxConnections : 0,
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
    // Every reason from 0, for the operation's first request: a failures panel shows 0, not "No data", and
    // increase() sees the first failure. Bounded: operations are (maxOperations + declared) × 10 reasons.
    const failures = new Map<FailureReason, CounterChild>(
      FAILURE_REASONS.map((reason) => [reason, exported(metrics.requestFailures.labels(pool, operation, reason))]),
    );
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
          failures.get(key)!.inc();
        }
        if (ran) this.onRequestEnd(operation, outcome, reason, status, durationMs);
      },
    };
  }
}

/** prom-client creates a series on its first `inc`: an `inc(0)` exports it at 0. */
/** A counter's series, exported at 0 from now on: `increase()` then sees the first event. */
export function exported(counter: CounterChild): CounterChild {
  counter.inc(0);
  return counter;
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
