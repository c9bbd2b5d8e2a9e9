/**
 * The numbers behind every poolscope alert. Both the Prometheus rules (`alert-rules.ts`, rendered into
 * `alerts/poolscope.rules.yml`) and the in-process evaluation behind `GET /api/monitoring/alerts`
 * (`evaluate.ts`) read them from here, so the two can never disagree about what "too high" means.
 *
 * Durations are Prometheus duration strings because they go into PromQL range selectors and `for:`.
 */
export interface Thresholds {
  /** Active connections ÷ max connections, per pool, in 90 % of the samples of `window`, for `for`. */
  utilization: { ratio: number; window: string; for: string };
  /** Failed connection attempts (refused, timeout, reset, TLS, DNS...) seen within `window`, sustained for `for`. */
  connectionErrors: { window: string; for: string };
  /** Requests waiting for a slot or a socket in 90 % of the samples of `window`, for `for`. */
  queue: { window: string; for: string };
  /** Requests rejected because the pool was saturated: waited `acquireMs` in vain, or found the queue full. */
  acquireTimeouts: { window: string; for: string };
  /** Failed ÷ finished requests, per pool. */
  errorRatio: { ratio: number; window: string; for: string };
  /** p95 request duration, per pool; pools listed in `byPoolSeconds` get their own limit. */
  latencyP95: { defaultSeconds: number; byPoolSeconds: Readonly<Record<string, number>>; window: string; for: string };
  /** Rate-limit headers' remaining ÷ limit, for the pools whose upstream sends them. */
  rateLimitHeadroom: { ratio: number; pools: readonly string[]; window: string; for: string };
  /** `poolscope_upstream_up == 0` (the health check failed). */
  upstreamDown: { for: string };
  /** Prometheus cannot scrape poolscope (`up == 0`). */
  targetDown: { job: string; for: string };
  /** A database (pg) pool with every connection in use and queries waiting for one, without a break for `for`. */
  postgresExhausted: { for: string };
  /** Database clients held longer than `leakDetectionThresholdMs` (`poolscope_pool_leaks_total`) within `window`. */
  postgresLeaks: { window: string; for: string };
  /** Leases held fleet-wide ÷ the fleet cap, per pool, at `ratio` in 90 % of a `window`'s minutes, for `for`. */
  fleetAtCap: { ratio: number; window: string; for: string };
  /** Requests a process ran outside the fleet cap, or leases it could not renew, because Redis was unreachable. */
  fleetUnavailable: { window: string; for: string };
}

export const THRESHOLDS = {
  // Every range below holds at least 4 scrapes at a 1 m scrape interval (Prometheus' default), so each alert can
  // fire whatever interval the user's Prometheus scrapes at; promtool tests run them at 15 s and at 1 m.
  // Severity: critical pages, and only for what users feel now (requests failing); the rest warn a human to look.

  // The reference design's rule: above 80 % for 5 minutes, time to grow the pool. Judged on the 10th percentile of
  // a 10 m window's samples (quantile_over_time), so the odd idle sample does not reset a pool saturated all along.
  utilization: { ratio: 0.8, window: '10m', for: '5m' },
  // Connects failing within 5 m, and for longer than the window: an upstream that keeps refusing connections, not
  // one stray reset (which keeps increase() above 0 for exactly one window). Warning: the pool retries and requests
  // may still succeed; HighErrorRatio pages when they do not.
  connectionErrors: { window: '5m', for: '10m' },
  // A queue now and then is what the bound is for; one in ~90 % of a 10 m window's samples, for 5 m, is a pool too small.
  queue: { window: '10m', for: '5m' },
  // Requests already failing for want of a slot: warn at once (1 m), they are user-visible but usually brief.
  acquireTimeouts: { window: '5m', for: '1m' },
  // Users see failed requests: the one page-worthy alert of a pool.
  errorRatio: { ratio: 0.05, window: '5m', for: '5m' },
  // Database and vector queries should answer within 2 s at p95; chat completions legitimately take much longer.
  latencyP95: { defaultSeconds: 2, byPoolSeconds: { openai: 30 }, window: '5m', for: '10m' },
  rateLimitHeadroom: { ratio: 0.1, pools: ['openai'], window: '5m', for: '2m' },
  // A failed health check is a probe, not a user: it times out in a saturated pool, and a flapping upstream is
  // caught by the error ratio. Warning, after 5 m (at least 4 checks at the service's 15 s, 1 at the worst).
  upstreamDown: { for: '5m' },
  // No scrapes means no other alert can fire for that instance: warn after 5 m (kube-prometheus' TargetDown
  // waits 10 m; poolscope is the only eye on its pools). Not a page: the app itself may be fine.
  targetDown: { job: 'poolscope', for: '5m' },
  // Sooner than the 5-minute utilization and queue warnings: every connection busy and queries waiting is the
  // state HikariCP calls exhausted, one step before acquire timeouts.
  postgresExhausted: { for: '2m' },
  // A leak is counted once, after the client was already held past leakDetectionThresholdMs: the detection is its
  // own delay, so no `for` on top. The 15 m window keeps the alert up long enough to be seen.
  postgresLeaks: { window: '15m', for: '0m' },
  // A fleet at its cap nearly all along: requests wait for leases, as a pool at its bound queues. Warning, like
  // HighConnectionPoolUtilization: the wait is bounded by acquireMs, and its failures page through HighErrorRatio.
  fleetAtCap: { ratio: 1, window: '10m', for: '5m' },
  // Redis unreachable: processes run under their local bound only ('local') or refuse ('reject'), so the fleet
  // cap no longer holds. Loud but not a page: requests are served (or HighErrorRatio pages). As ConnectionFailures:
  // longer than the window, so one dropped command does not alert.
  fleetUnavailable: { window: '5m', for: '10m' },
} as const satisfies Thresholds;

/** The p95 limit, in seconds, that applies to `pool`. */
export function latencyThresholdSeconds(pool: string, thresholds: Thresholds = THRESHOLDS): number {
  return thresholds.latencyP95.byPoolSeconds[pool] ?? thresholds.latencyP95.defaultSeconds;
}

/**
 * The setting a user changes to give a pool more room, by pool name. These are the service's environment
 * variables (the reference design's `SUPABASE_POOL_SIZE`...); a library user maps them to `connections` /
 * `maxConcurrent` of their own pool.
 */
export const POOL_SIZE_VARIABLES: Readonly<Record<string, string>> = {
  supabase: 'SUPABASE_POOL_SIZE',
  pinecone: 'PINECONE_POOL_SIZE',
  openai: 'OPENAI_MAX_CONCURRENT',
  postgres: 'DATABASE_POOL_SIZE',
};
