import { Counter, Gauge, Histogram, type Aggregator, type Registry } from 'prom-client';
import { ACQUIRE_WAIT_BUCKETS, CONNECTION_CREATE_BUCKETS, REQUEST_DURATION_BUCKETS } from './buckets.js';
import { PoolConfigError } from '../errors/index.js';
import { ResolvedHistogram } from './resolved-histogram.js';
import type { FleetLive } from '../fleet/budget.js';
import { VERSION } from './registry.js';

/** What a pool reads from its own live state (sockets or pg clients, and its limiter) for gauges and snapshots. */
export interface LiveCounts {
  /** Connections carrying work now (a request on the socket, a database client checked out). */
  activeConnections: number;
  idleConnections: number;
  /** Connections still being opened, where the pool can tell (database pools); they are neither active nor idle. */
  connectingConnections?: number;
  /** The most connections the pool opens (`connections`, pg `max`): `poolscope_pool_connections_max`. */
  maxConnections: number;
  /** Connections the pool keeps open however idle (`min`); 0 for pools without one. */
  minConnections: number;
  activeRequests: number;
  pendingRequests: number;
  maxConcurrent: number;
  maxQueued: number;
  /** The pool's fleet budget, when it has one (`fleet` option). */
  fleet?: FleetLive;
  /** HTTP pools with `allowH2` only. */
  http2?: Http2Live;
}

/** An `allowH2` pool's HTTP/2 sessions, read from its sockets. */
export interface Http2Live {
  /** Sockets that negotiated `h2`, open now. */
  sessions: number;
  /** Requests running on those sessions (one stream each). */
  streams: number;
}

/** What the scrape-time gauges read from a live pool. */
export interface LivePoolGauges {
  readonly name: string;
  live(): LiveCounts;
}

export type BuildMode = 'library' | 'demo' | 'live';

/**
 * The metric families of one registry, shared by every pool recording into it. Gauges are computed at
 * scrape time from the live pools (`collect()`), so there is no state to keep in step by hand.
 */
export class PoolscopeMetrics {
  /** The live pools whose gauges this registry reports, one per name. */
  readonly pools = new Set<LivePoolGauges>();

  /**
   * Adds a pool to the live set. Two live pools of one name would write the same series (the last one read
   * wins at every scrape), so a name already live here is refused; `close()` frees it.
   */
  register(pool: LivePoolGauges): void {
    for (const live of this.pools) {
      if (live.name === pool.name) {
        throw new PoolConfigError(
          'name',
          'a live pool of this name already records into this registry: close it first, or pick another name',
          pool.name,
        );
      }
    }
    this.pools.add(pool);
  }

  /** Names held by client sets (`createClients`) for pools they build now or later, e.g. Pinecone's data plane. */
  readonly #reserved = new Set<string>();

  /**
   * Holds `names` for one client set, all or none: refused (`PoolConfigError` naming the first taken name,
   * `option` = `what`) when a live pool or another set has one. Returns the release, for the set's `close()`.
   */
  reserve(names: readonly string[], what: string): () => void {
    for (const name of names) {
      const live = [...this.pools].some((pool) => pool.name === name);
      if (live || this.#reserved.has(name)) {
        throw new PoolConfigError(
          what,
          `a ${live ? 'live pool' : 'client set'} named "${name}" already records into this registry: close it first, or give this set another poolPrefix`,
          name,
        );
      }
    }
    for (const name of names) this.#reserved.add(name);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const name of names) this.#reserved.delete(name);
    };
  }

  readonly connections: Gauge<'pool' | 'state'>;
  readonly connectionsMax: Gauge<'pool'>;
  readonly connectionsMin: Gauge<'pool'>;
  readonly utilization: Gauge<'pool'>;
  readonly activeRequests: Gauge<'pool'>;
  readonly pendingRequests: Gauge<'pool'>;
  readonly maxConcurrent: Gauge<'pool'>;
  readonly maxQueued: Gauge<'pool'>;
  readonly acquireWait: ResolvedHistogram<'pool'>;
  readonly connectionsCreated: Counter<'pool'>;
  readonly connectionsClosed: Counter<'pool'>;
  readonly acquireTimeouts: Counter<'pool'>;
  readonly connectionCreate: Histogram<'pool'>;
  readonly connectionErrors: Counter<'pool' | 'reason'>;
  readonly requestDuration: ResolvedHistogram<'pool' | 'operation' | 'outcome'>;
  readonly requestFailures: Counter<'pool' | 'operation' | 'reason'>;
  readonly requestRetries: Counter<'pool' | 'reason'>;
  readonly buildInfo: Gauge<'version' | 'mode'>;
  readonly openaiTokens: Counter<'pool' | 'model' | 'token_type'>;
  readonly openaiTimeToFirstToken: Histogram<'pool' | 'model'>;
  readonly rateLimitRemaining: Gauge<'pool' | 'limit_type'>;
  readonly rateLimitLimit: Gauge<'pool' | 'limit_type'>;
  readonly upstreamUp: Gauge<'pool'>;
  readonly healthCheckDuration: Histogram<'pool'>;
  readonly fleetLeases: Gauge<'pool'>;
  readonly fleetMaxConcurrent: Gauge<'pool'>;
  readonly fleetTokensPerMinute: Gauge<'pool'>;
  readonly fleetTokensRemaining: Gauge<'pool'>;
  readonly fleetAcquireWait: Histogram<'pool'>;
  readonly fleetErrors: Counter<'pool' | 'reason'>;
  readonly http2Sessions: Gauge<'pool'>;
  readonly http2Streams: Gauge<'pool'>;
  readonly http2Goaways: Counter<'pool' | 'code'>;
  readonly http2StreamResets: Counter<'pool' | 'code'>;

  constructor(readonly registry: Registry) {
    const registers = [registry];
    const pools = this.pools;
    // `aggregator`: how prom-client's AggregatorRegistry folds the workers of a node:cluster into one series
    // (docs/cluster.md): limits and counts add up across processes; a ratio averages; a shared cap is one value.
    const gauge = (
      name: string,
      help: string,
      read: (live: ReturnType<LivePoolGauges['live']>) => number,
      aggregator: Aggregator = 'sum',
    ) =>
      new Gauge({
        name,
        help,
        labelNames: ['pool'] as const,
        registers,
        aggregator,
        collect() {
          this.reset();
          for (const pool of pools) this.set({ pool: pool.name }, read(pool.live()));
        },
      });

    this.connections = new Gauge({
      name: 'poolscope_pool_connections',
      help: 'Connections to the upstream, by state: active (work on it), idle (kept alive), connecting (database pools: being opened).',
      labelNames: ['pool', 'state'] as const,
      registers,
      collect() {
        this.reset();
        for (const pool of pools) {
          const live = pool.live();
          this.set({ pool: pool.name, state: 'active' }, live.activeConnections);
          this.set({ pool: pool.name, state: 'idle' }, live.idleConnections);
          if (live.connectingConnections !== undefined)
            this.set({ pool: pool.name, state: 'connecting' }, live.connectingConnections);
        }
      },
    });
    this.connectionsMax = gauge(
      'poolscope_pool_connections_max',
      'Max sockets the pool opens to its upstream.',
      (l) => l.maxConnections,
    );
    this.connectionsMin = gauge(
      'poolscope_pool_connections_min',
      'Connections the pool keeps open however idle (min); 0 for pools without one.',
      (l) => l.minConnections,
    );
    this.utilization = gauge(
      'poolscope_pool_utilization_ratio',
      'Active connections divided by the pool maximum, 0-1.',
      (l) => (l.maxConnections > 0 ? l.activeConnections / l.maxConnections : 0),
      'average',
    );
    this.activeRequests = gauge(
      'poolscope_pool_active_requests',
      'Requests holding a concurrency slot.',
      (l) => l.activeRequests,
    );
    this.pendingRequests = gauge(
      'poolscope_pool_pending_requests',
      'Requests waiting for a concurrency slot or a socket.',
      (l) => l.pendingRequests,
    );
    this.maxConcurrent = gauge(
      'poolscope_pool_max_concurrent',
      'Concurrency limit of the pool.',
      (l) => l.maxConcurrent,
    );
    this.maxQueued = gauge('poolscope_pool_max_queued', 'Bound of the pool wait queue.', (l) => l.maxQueued);

    // The two histograms observed on every request: series resolved once, no label hashing per call.
    this.acquireWait = new ResolvedHistogram({
      name: 'poolscope_pool_acquire_wait_seconds',
      help: 'Time a request waited for a concurrency slot.',
      labelNames: ['pool'] as const,
      buckets: ACQUIRE_WAIT_BUCKETS,
      registers,
    });
    this.connectionsCreated = new Counter({
      name: 'poolscope_pool_connections_created_total',
      help: 'Sockets opened to the upstream.',
      labelNames: ['pool'] as const,
      registers,
    });
    this.connectionsClosed = new Counter({
      name: 'poolscope_pool_connections_closed_total',
      help: 'Sockets to the upstream that closed.',
      labelNames: ['pool'] as const,
      registers,
    });
    this.connectionCreate = new Histogram({
      name: 'poolscope_pool_connection_create_seconds',
      help: 'Time to open a connection that succeeded: TCP + TLS for HTTP pools, up to ready-for-query for database pools.',
      labelNames: ['pool'] as const,
      buckets: CONNECTION_CREATE_BUCKETS,
      registers,
    });
    this.acquireTimeouts = new Counter({
      name: 'poolscope_pool_acquire_timeouts_total',
      help: 'Checkouts that gave up waiting for a slot or a database client (acquireMs / connectionTimeoutMs), whoever asked.',
      labelNames: ['pool'] as const,
      registers,
    });
    this.connectionErrors = new Counter({
      name: 'poolscope_pool_connection_errors_total',
      help: 'Failed connection attempts, by reason (refused, timeout, reset, tls, dns, other).',
      labelNames: ['pool', 'reason'] as const,
      registers,
    });
    this.requestDuration = new ResolvedHistogram({
      name: 'poolscope_request_duration_seconds',
      help: 'Time from slot acquired to response body fully read (retries included), by operation and outcome.',
      labelNames: ['pool', 'operation', 'outcome'] as const,
      buckets: REQUEST_DURATION_BUCKETS,
      registers,
    });
    this.requestFailures = new Counter({
      name: 'poolscope_request_failures_total',
      help: 'Requests that failed, by operation and reason.',
      labelNames: ['pool', 'operation', 'reason'] as const,
      registers,
    });
    this.requestRetries = new Counter({
      name: 'poolscope_request_retries_total',
      help: 'Retries made, by reason.',
      labelNames: ['pool', 'reason'] as const,
      registers,
    });
    this.buildInfo = new Gauge({
      name: 'poolscope_build_info',
      help: 'poolscope version and mode (library, demo or live); always 1.',
      labelNames: ['version', 'mode'] as const,
      registers,
      aggregator: 'max',
    });
    this.openaiTokens = new Counter({
      name: 'poolscope_openai_tokens_total',
      help: 'OpenAI tokens used, from each response usage, by allow-listed model family and token type (input, output).',
      labelNames: ['pool', 'model', 'token_type'] as const,
      registers,
    });
    this.openaiTimeToFirstToken = new Histogram({
      name: 'poolscope_openai_time_to_first_token_seconds',
      help: 'Time from a streaming OpenAI request to its first content chunk.',
      labelNames: ['pool', 'model'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
      registers,
    });
    this.rateLimitRemaining = new Gauge({
      name: 'poolscope_ratelimit_remaining',
      help: 'Requests or tokens left in the upstream rate-limit window, from the last x-ratelimit-remaining-* headers.',
      labelNames: ['pool', 'limit_type'] as const,
      registers,
      aggregator: 'min',
    });
    this.rateLimitLimit = new Gauge({
      name: 'poolscope_ratelimit_limit',
      help: 'Size of the upstream rate-limit window, from the last x-ratelimit-limit-* headers.',
      labelNames: ['pool', 'limit_type'] as const,
      registers,
      aggregator: 'max',
    });
    this.upstreamUp = new Gauge({
      name: 'poolscope_upstream_up',
      help: 'Whether the last health check of the upstream passed (1) or not (0).',
      labelNames: ['pool'] as const,
      registers,
      aggregator: 'min',
    });
    this.healthCheckDuration = new Histogram({
      name: 'poolscope_health_check_duration_seconds',
      help: 'Duration of upstream health checks.',
      labelNames: ['pool'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    // Gauges of a part only some pools have (a fleet budget, HTTP/2): only those pools report them.
    const partGauge = (
      name: string,
      help: string,
      read: (live: LiveCounts) => number | undefined,
      aggregator: Aggregator,
    ) =>
      new Gauge({
        name,
        help,
        labelNames: ['pool'] as const,
        registers,
        aggregator,
        collect() {
          this.reset();
          for (const pool of pools) {
            const value = read(pool.live());
            if (value !== undefined) this.set({ pool: pool.name }, value);
          }
        },
      });
    const fleetGauge = (
      name: string,
      help: string,
      read: (fleet: FleetLive) => number | undefined,
      aggregator: Aggregator,
    ) => partGauge(name, help, (live) => live.fleet && read(live.fleet), aggregator);
    this.fleetLeases = fleetGauge(
      'poolscope_fleet_leases',
      'Fleet leases this process holds (requests in flight under the fleet-wide cap); sum over the fleet for its total.',
      (f) => f.leases,
      'sum',
    );
    this.fleetMaxConcurrent = fleetGauge(
      'poolscope_fleet_max_concurrent',
      'Fleet-wide cap of requests in flight (fleet.maxConcurrent), shared through Redis.',
      (f) => f.maxConcurrent,
      'max',
    );
    this.fleetTokensPerMinute = fleetGauge(
      'poolscope_fleet_tokens_per_minute',
      'Fleet-wide budget of tokens per minute (fleet.tokensPerMinute), shared through Redis.',
      (f) => f.tokensPerMinute,
      'max',
    );
    this.fleetTokensRemaining = fleetGauge(
      'poolscope_fleet_tokens_remaining',
      "Tokens left in the fleet's current minute, as Redis last said (0 while the upstream's own limit is spent).",
      (f) => f.tokensRemaining,
      'min',
    );
    this.fleetAcquireWait = new Histogram({
      name: 'poolscope_fleet_acquire_wait_seconds',
      help: 'Time a request waited for the fleet budget in Redis (tokens, then a lease), after its local slot (part of poolscope_pool_acquire_wait_seconds).',
      labelNames: ['pool'] as const,
      buckets: ACQUIRE_WAIT_BUCKETS,
      registers,
    });
    this.fleetErrors = new Counter({
      name: 'poolscope_fleet_errors_total',
      help: 'Fleet budget failures, by reason: unavailable (Redis unreachable when admitting a request or counting its tokens), renewal_failed, lease_lost, release_failed.',
      labelNames: ['pool', 'reason'] as const,
      registers,
    });
    this.http2Sessions = partGauge(
      'poolscope_http2_sessions',
      'HTTP/2 sessions open to the upstream (allowH2 pools: sockets that negotiated h2).',
      (live) => live.http2?.sessions,
      'sum',
    );
    this.http2Streams = partGauge(
      'poolscope_http2_streams',
      "HTTP/2 streams in flight: requests running on the pool's HTTP/2 sessions.",
      (live) => live.http2?.streams,
      'sum',
    );
    this.http2Goaways = new Counter({
      name: 'poolscope_http2_goaways_total',
      help: 'GOAWAY frames received from the upstream, by error code (no_error: a graceful shutdown of the session).',
      labelNames: ['pool', 'code'] as const,
      registers,
    });
    this.http2StreamResets = new Counter({
      name: 'poolscope_http2_stream_resets_total',
      help: 'Requests whose HTTP/2 stream the upstream reset (RST_STREAM), by error code; retried ones included.',
      labelNames: ['pool', 'code'] as const,
      registers,
    });
    this.setMode('library');
  }

  setMode(mode: BuildMode): void {
    this.buildInfo.reset();
    this.buildInfo.set({ version: VERSION, mode }, 1);
  }
}

const byRegistry = new WeakMap<Registry, PoolscopeMetrics>();

/** The metric families of a registry, created on first use. */
export function metricsFor(registry: Registry): PoolscopeMetrics {
  let metrics = byRegistry.get(registry);
  if (!metrics) {
    metrics = new PoolscopeMetrics(registry);
    byRegistry.set(registry, metrics);
  }
  return metrics;
}
