/**
 * The numbers behind every poolscope alert. Both the Prometheus rules (`alert-rules.ts`, rendered into
 * `alerts/poolscope.rules.yml`) and the in-process evaluation behind `GET /api/monitoring/alerts`
 * (`evaluate.ts`) read them from here, so the two can never disagree about what "too high" means.
 *
 * Durations are Prometheus duration strings because they go into PromQL range selectors and `for:`.
 */
export interface Thresholds {
  /** Active connections ÷ max connections, per pool. */
  utilization: { ratio: number; for: string };
  /** Failed connection attempts (refused, timeout, reset, TLS, DNS...) seen within `window`, sustained for `for`. */
  connectionErrors: { window: string; for: string };
  /** Requests waiting for a slot or a socket, without a break for `for`. */
  queue: { for: string };
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
}

export const THRESHOLDS = {
  // The reference design's rule: above 80 % for 5 minutes, time to grow the pool.
  utilization: { ratio: 0.8, for: '5m' },
  // Any failed connect within a minute, and it keeps happening for 2 more: one stray reset does not page,
  // an upstream that refuses connections does.
  connectionErrors: { window: '1m', for: '2m' },
  // A queue now and then is what the bound is for; a queue that never drains for 5 minutes is a pool too small.
  queue: { for: '5m' },
  acquireTimeouts: { window: '5m', for: '1m' },
  errorRatio: { ratio: 0.05, window: '5m', for: '5m' },
  // Database and vector queries should answer within 2 s at p95; chat completions legitimately take much longer.
  latencyP95: { defaultSeconds: 2, byPoolSeconds: { openai: 30 }, window: '5m', for: '10m' },
  rateLimitHeadroom: { ratio: 0.1, pools: ['openai'], window: '5m', for: '2m' },
  upstreamDown: { for: '1m' },
  targetDown: { job: 'poolscope', for: '2m' },
  // Sooner than the 5-minute utilization and queue warnings: every connection busy and queries waiting is the
  // state HikariCP calls exhausted, one step before acquire timeouts.
  postgresExhausted: { for: '2m' },
  // A leak is reported once, after the client was already held past the threshold: that is its `for:`.
  postgresLeaks: { window: '15m', for: '0m' },
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
