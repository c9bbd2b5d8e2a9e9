import {
  DEFAULT_SELECTOR,
  DEFAULT_TARGET_SELECTOR,
  normalizeSelector,
  selectorOf,
  type AssetOptions,
} from './asset-options.js';
import { POOL_SIZE_VARIABLES, THRESHOLDS, type Thresholds } from './thresholds.js';

export type Severity = 'warning' | 'critical';

/** One Prometheus alerting rule, as shipped in `alerts/poolscope.rules.yml`. */
export interface AlertRule {
  alert: AlertName;
  expr: string;
  for: string;
  severity: Severity;
  summary: string;
  description: string;
  runbookUrl: string;
}

export const ALERT_NAMES = [
  'HighConnectionPoolUtilization',
  'ConnectionFailures',
  'PoolQueueBuildingUp',
  'PoolAcquireTimeouts',
  'HighErrorRatio',
  'SlowRequests',
  'OpenAIRateLimitHeadroomLow',
  'UpstreamDown',
  'PoolscopeTargetDown',
  'PostgresPoolExhausted',
  'PostgresConnectionLeak',
  'FleetAtCap',
  'FleetRedisUnavailable',
] as const;
export type AlertName = (typeof ALERT_NAMES)[number];

/**
 * Where the runbooks live by default: `docs/runbooks/` of the repository package.json names (a test keeps the two
 * equal; scripts/generate-ops-assets.mjs derives it with `runbookBaseUrlFor`). Each alert links to
 * `<base><AlertName>.md`.
 */
export const RUNBOOK_BASE_URL = 'https://github.com/poolscope/poolscope/blob/main/docs/runbooks/';

/** What the alert rules take: the assets' selector, the `up` selector of PoolscopeTargetDown, the runbook base. */
export type AlertRuleOptions = AssetOptions;

export function runbookUrl(alert: AlertName, runbookBaseUrl: string = RUNBOOK_BASE_URL): string {
  return `${runbookBaseUrl}${alert}.md`;
}

/** `url` as a runbook base: an absolute http(s) URL, ending in `/` so that `<base><AlertName>.md` is a page in it. */
export function normalizeRunbookBaseUrl(url: string): string {
  const parsed = new URL(url); // throws ERR_INVALID_URL for anything but an absolute URL
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new TypeError(`runbookBaseUrl must be an http(s) URL, not ${parsed.protocol}`);
  }
  return url.endsWith('/') ? url : `${url}/`;
}

/**
 * The runbook base of a GitHub repository as package.json names it (`repository`: a URL, `github:owner/name`,
 * `owner/name`, or `{ url, directory }`): its `docs/runbooks/` on the `main` branch.
 */
export function runbookBaseUrlFor(repository: string | { url: string; directory?: string }): string {
  const { url, directory } = typeof repository === 'string' ? { url: repository, directory: undefined } : repository;
  const shorthand = /^(?:github:)?([\w.-]+\/[\w.-]+)$/.exec(url);
  const web = shorthand
    ? `https://github.com/${shorthand[1]}`
    : url.replace(/^git\+/, '').replace(/^git:\/\//, 'https://');
  const repo = web.replace(/\.git$/, '').replace(/\/+$/, '');
  if (!/^https:\/\/github\.com\/[\w.-]+\/[\w.-]+$/.test(repo)) {
    throw new TypeError(
      `cannot derive a runbook URL from repository ${JSON.stringify(url)}: pass the runbook base URL`,
    );
  }
  const folder = directory ? `${directory.replace(/^\/+|\/+$/g, '')}/` : '';
  return `${repo}/blob/main/${folder}docs/runbooks/`;
}

// Every per-pool series keeps job and instance, so a notification says which replica is in trouble and
// PoolscopeTargetDown can inhibit the alerts of the instance it covers.
const BY = 'job, instance, pool';

/** Builds every alerting rule from `thresholds`. Pure: the same arguments give the same rules, in the same order. */
export function alertRules(thresholds: Thresholds = THRESHOLDS, options: AlertRuleOptions = {}): AlertRule[] {
  const runbookBaseUrl = normalizeRunbookBaseUrl(options.runbookBaseUrl ?? RUNBOOK_BASE_URL);
  const selector = normalizeSelector(options.selector ?? DEFAULT_SELECTOR);
  const targetSelector = normalizeSelector(options.targetSelector ?? DEFAULT_TARGET_SELECTOR, 'targetSelector');
  /** A poolscope series, scoped by the selector. */
  const m = (metric: string, ...matchers: string[]) => selectorOf(metric, selector, ...matchers);
  const t = thresholds;
  const latencyPools = Object.keys(t.latencyP95.byPoolSeconds).sort();
  const headroomPools = regexAlternatives(t.rateLimitHeadroom.pools);
  const w = t.errorRatio.window;
  const rules: Array<Omit<AlertRule, 'runbookUrl'>> = [
    {
      alert: 'HighConnectionPoolUtilization',
      // In 90 % of the window's samples, not in the last one: one idle sample must not reset a saturated pool.
      expr: `quantile_over_time(0.1, ${m('poolscope_pool_utilization_ratio')}[${t.utilization.window}]) > ${t.utilization.ratio}`,
      for: t.utilization.for,
      severity: 'warning',
      summary: 'Connection pool {{ $labels.pool }} is more than ' + percent(t.utilization.ratio) + ' utilized',
      description:
        "{{ $value | humanizePercentage }} of the {{ $labels.pool }} pool's connections on {{ $labels.instance }} " +
        `have been in use in at least 90 % of the last ${t.utilization.window}, for more than ${t.utilization.for}; requests will start to queue. ` +
        `Consider increasing ${poolSizeVariableTemplate()}.`,
    },
    {
      alert: 'ConnectionFailures',
      expr: `sum by (${BY}, reason) (increase(${m('poolscope_pool_connection_errors_total')}[${t.connectionErrors.window}])) > 0`,
      for: t.connectionErrors.for,
      severity: 'warning',
      summary: 'Pool {{ $labels.pool }} keeps failing to connect to its upstream ({{ $labels.reason }})',
      description:
        `{{ $value | humanize }} connection attempts of the {{ $labels.pool }} pool on {{ $labels.instance }} failed ` +
        `with reason {{ $labels.reason }} in the last ${t.connectionErrors.window}, and failures have gone on for more ` +
        `than ${t.connectionErrors.for}. Check the upstream's address, DNS, TLS and its connection limit.`,
    },
    {
      alert: 'PoolQueueBuildingUp',
      // In 90 % of the window's samples: a queue that empties for one scrape has not drained. The quantile
      // interpolates between samples (0.1 between a 0 and a 1): rounded up, the description counts whole requests
      // ("at least 1", never "at least 100m"), and the alert fires exactly when it did.
      expr: `ceil(quantile_over_time(0.1, ${m('poolscope_pool_pending_requests')}[${t.queue.window}])) > 0`,
      for: t.queue.for,
      severity: 'warning',
      summary: 'Requests keep queueing in pool {{ $labels.pool }}',
      description:
        'At least {{ $value | humanize }} requests were waiting for a slot or a connection in the {{ $labels.pool }} pool on ' +
        `{{ $labels.instance }} in at least 90 % of the last ${t.queue.window}, for more than ${t.queue.for}. ` +
        `Consider increasing ${poolSizeVariableTemplate()}, or find out why requests hold their slots so long.`,
    },
    {
      alert: 'PoolAcquireTimeouts',
      // Queue-full refusals are request failures; acquire timeouts come from their own counter, which also counts
      // the checkouts an app makes on an instrumented pg.Pool itself (they are no poolscope request).
      expr: [
        `sum by (${BY}, reason) (increase(${m('poolscope_request_failures_total', 'reason="queue_full"')}[${t.acquireTimeouts.window}])) > 0`,
        'or',
        `label_replace(sum by (${BY}) (increase(${m('poolscope_pool_acquire_timeouts_total')}[${t.acquireTimeouts.window}])), ` +
          `"reason", "acquire_timeout", "", "") > 0`,
      ].join('\n'),
      for: t.acquireTimeouts.for,
      severity: 'warning',
      summary: 'Pool {{ $labels.pool }} is rejecting requests ({{ $labels.reason }})',
      description:
        `{{ $value | humanize }} requests to the {{ $labels.pool }} pool on {{ $labels.instance }} failed with ` +
        `{{ $labels.reason }} in the last ${t.acquireTimeouts.window}: the pool is saturated. ` +
        `Consider increasing ${poolSizeVariableTemplate()}.`,
    },
    {
      alert: 'HighErrorRatio',
      // Failed ÷ finished. Requests refused before they ran (acquire_timeout, queue_full) have no duration, so
      // "finished" is failures plus successes, not the histogram's count. A pool with failures and not a single
      // success has no success series: `or ... * 0` stands in for it instead of dropping the pool. No traffic,
      // no ratio: `> 0` on the denominator drops idle pools instead of dividing by zero.
      expr: [
        `sum by (${BY}) (rate(${m('poolscope_request_failures_total')}[${w}]))`,
        '/',
        '(',
        '  (',
        `    sum by (${BY}) (rate(${m('poolscope_request_failures_total')}[${w}]))`,
        '    +',
        `    (sum by (${BY}) (rate(${m('poolscope_request_duration_seconds_count', 'outcome="success"')}[${w}])) or sum by (${BY}) (rate(${m('poolscope_request_failures_total')}[${w}])) * 0)`,
        '  ) > 0',
        ')',
        `> ${t.errorRatio.ratio}`,
      ].join('\n'),
      for: t.errorRatio.for,
      severity: 'critical',
      summary: 'More than ' + percent(t.errorRatio.ratio) + ' of requests through pool {{ $labels.pool }} fail',
      description:
        '{{ $value | humanizePercentage }} of the requests through the {{ $labels.pool }} pool on {{ $labels.instance }} ' +
        `failed over the last ${t.errorRatio.window}. See poolscope_request_failures_total by reason for why.`,
    },
    {
      alert: 'SlowRequests',
      expr: [
        ...latencyPools.map(
          (pool) =>
            `${p95Expr(m('poolscope_request_duration_seconds_bucket', `pool="${pool}"`), t.latencyP95.window)} > ${t.latencyP95.byPoolSeconds[pool] ?? t.latencyP95.defaultSeconds}`,
        ),
        latencyPools.length > 0
          ? `${p95Expr(m('poolscope_request_duration_seconds_bucket', `pool!~"${regexAlternatives(latencyPools)}"`), t.latencyP95.window)} > ${t.latencyP95.defaultSeconds}`
          : `${p95Expr(m('poolscope_request_duration_seconds_bucket'), t.latencyP95.window)} > ${t.latencyP95.defaultSeconds}`,
      ].join('\nor\n'),
      for: t.latencyP95.for,
      severity: 'warning',
      summary: 'p95 latency of pool {{ $labels.pool }} is above its threshold',
      description:
        '95 % of the requests through the {{ $labels.pool }} pool on {{ $labels.instance }} took up to ' +
        `{{ $value | humanizeDuration }} over the last ${t.latencyP95.window} ` +
        `(threshold ${latencyThresholdTemplate(t)}), for more than ${t.latencyP95.for}.`,
    },
    {
      alert: 'OpenAIRateLimitHeadroomLow',
      expr: [
        '(',
        `  ${m('poolscope_ratelimit_remaining', `pool=~"${headroomPools}"`)}`,
        `  / (${m('poolscope_ratelimit_limit', `pool=~"${headroomPools}"`)} > 0)`,
        `) < ${t.rateLimitHeadroom.ratio}`,
        // The gauges keep the last headers seen: without traffic they would report an exhausted window forever.
        `and on (${BY})`,
        `sum by (${BY}) (rate(${m('poolscope_request_duration_seconds_count', `pool=~"${headroomPools}"`)}[${t.rateLimitHeadroom.window}])) > 0`,
      ].join('\n'),
      for: t.rateLimitHeadroom.for,
      severity: 'warning',
      summary: 'Pool {{ $labels.pool }} is close to its {{ $labels.limit_type }} rate limit',
      description:
        'Only {{ $value | humanizePercentage }} of the {{ $labels.limit_type }} rate limit of the {{ $labels.pool }} ' +
        `pool on {{ $labels.instance }} is left (threshold ${percent(t.rateLimitHeadroom.ratio)}), for more than ` +
        `${t.rateLimitHeadroom.for}; 429s are next. Lower ${poolSizeVariableTemplate()} or ask for a higher limit.`,
    },
    {
      alert: 'UpstreamDown',
      expr: `${m('poolscope_upstream_up')} == 0`,
      for: t.upstreamDown.for,
      severity: 'warning',
      summary: 'Upstream of pool {{ $labels.pool }} fails its health check',
      description:
        'The health check of the {{ $labels.pool }} upstream, run by {{ $labels.instance }}, has failed for more ' +
        `than ${t.upstreamDown.for} (poolscope_upstream_up = {{ $value }}).`,
    },
    {
      alert: 'PoolscopeTargetDown',
      // The job of the thresholds when the caller names no target selector of its own.
      expr: `${selectorOf('up', options.targetSelector === undefined ? `job="${t.targetDown.job}"` : targetSelector)} == 0`,
      for: t.targetDown.for,
      severity: 'warning',
      summary: 'Prometheus cannot scrape poolscope on {{ $labels.instance }}',
      description:
        `Scrapes of {{ $labels.instance }} (job {{ $labels.job }}) have failed for more than ${t.targetDown.for} ` +
        '(up = {{ $value }}): none of its pools is being watched.',
    },
    {
      alert: 'PostgresPoolExhausted',
      // Database pools are the ones with a connection-usage histogram, whatever their name (the service calls its
      // pool "postgres"; createPgPool / instrumentPgPool users pick their own). The value is the queries waiting.
      expr: [
        `${m('poolscope_pool_pending_requests')} > 0`,
        `and on (${BY}) ${m('poolscope_pool_utilization_ratio')} >= 1`,
        `and on (${BY}) ${m('poolscope_pool_connection_usage_seconds_count')}`,
      ].join('\n'),
      for: t.postgresExhausted.for,
      severity: 'warning',
      summary: 'Database pool {{ $labels.pool }} is exhausted: every connection in use, queries waiting',
      description:
        '{{ $value | humanize }} queries are waiting for a connection of the {{ $labels.pool }} database pool on ' +
        `{{ $labels.instance }}, and every connection has been in use for more than ${t.postgresExhausted.for}. ` +
        'Waits past the connection timeout fail as acquire_timeout. Find what holds the connections (long ' +
        `transactions, slow queries, leaks), or increase ${databasePoolSizeTemplate()} within the server's max_connections.`,
    },
    {
      alert: 'PostgresConnectionLeak',
      // The counter is exported at 0 from the pool's creation, so increase() sees the first leak too.
      expr: `increase(${m('poolscope_pool_leaks_total')}[${t.postgresLeaks.window}]) > 0`,
      for: t.postgresLeaks.for,
      severity: 'warning',
      summary: 'Database pool {{ $labels.pool }} reported a possible connection leak',
      description:
        'The {{ $labels.pool }} database pool on {{ $labels.instance }} reported {{ $value | humanize }} possible ' +
        `connection leak(s) in the last ${t.postgresLeaks.window}: clients held longer than leakDetectionThresholdMs. ` +
        'Each one logged "Possible connection leak" with the stack that acquired the client: that code path does not ' +
        'release it.',
    },
    {
      alert: 'FleetAtCap',
      // Fleet-wide: the leases every process holds against the cap they share (the same in each, hence max), at
      // the cap in at least 90 % of the window's minutes (a subquery of 0/1 per minute), so a dip does not reset it.
      expr: [
        `avg_over_time((`,
        `  sum by (pool) (${m('poolscope_fleet_leases')})`,
        `  / max by (pool) (${m('poolscope_fleet_max_concurrent')} > 0)`,
        `  >= bool ${t.fleetAtCap.ratio}`,
        // 0.85, not 0.9: 9 of 10 minutes, whatever float rounding makes of 9 ÷ 10.
        `)[${t.fleetAtCap.window}:1m]) > 0.85`,
      ].join('\n'),
      for: t.fleetAtCap.for,
      severity: 'warning',
      summary: 'The fleet budget of pool {{ $labels.pool }} is at its cap',
      description:
        `Every process sharing the {{ $labels.pool }} fleet budget together held all its leases in ` +
        `{{ $value | humanizePercentage }} of the last ${t.fleetAtCap.window}, for more than ${t.fleetAtCap.for}: ` +
        'requests wait for a lease (poolscope_fleet_acquire_wait_seconds), and past acquireMs fail as acquire_timeout. ' +
        "Raise the cap only as far as the upstream's own limit allows.",
    },
    {
      alert: 'FleetRedisUnavailable',
      expr: `sum by (${BY}, reason) (increase(${m('poolscope_fleet_errors_total', 'reason=~"unavailable|renewal_failed"')}[${t.fleetUnavailable.window}])) > 0`,
      for: t.fleetUnavailable.for,
      severity: 'warning',
      summary: 'Pool {{ $labels.pool }} cannot reach the Redis of its fleet budget ({{ $labels.reason }})',
      description:
        `{{ $value | humanize }} requests of the {{ $labels.pool }} pool on {{ $labels.instance }} ran without a fleet ` +
        `lease, or held leases went unrenewed ({{ $labels.reason }}), in the last ${t.fleetUnavailable.window}, for more ` +
        `than ${t.fleetUnavailable.for}: the fleet-wide cap does not hold (onUnavailable 'local') or requests are ` +
        "refused ('reject') while Redis is unreachable. Check FLEET_REDIS_URL and the Redis server.",
    },
  ];
  return rules.map((rule) => ({ ...rule, runbookUrl: runbookUrl(rule.alert, runbookBaseUrl) }));
}

function p95Expr(buckets: string, window: string): string {
  return `histogram_quantile(0.95, sum by (${BY}, le) (rate(${buckets}[${window}])))`;
}

function percent(ratio: number): string {
  return `${Math.round(ratio * 1000) / 10}%`;
}

/** `a|b|c` for a `=~` matcher; pool and reason names are `[a-z0-9_]`, nothing to escape. */
function regexAlternatives(values: readonly string[]): string {
  return [...values].sort().join('|');
}

/** A Go template naming the setting to change for `$labels.pool`, so the notification says it outright. */
function poolSizeVariableTemplate(): string {
  const branches = Object.entries(POOL_SIZE_VARIABLES)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([pool, variable], i) => `{{ ${i === 0 ? 'if' : 'else if'} eq $labels.pool "${pool}" }}${variable}`);
  return `${branches.join('')}{{ else }}the pool's connections / maxConcurrent{{ end }}`;
}

/** The service's variable for its database pool ("postgres"); a library user's pg pool has its `max` option. */
function databasePoolSizeTemplate(): string {
  return `{{ if eq $labels.pool "postgres" }}${POOL_SIZE_VARIABLES.postgres}{{ else }}the pool's max option{{ end }}`;
}

function latencyThresholdTemplate(t: Thresholds): string {
  const pools = Object.keys(t.latencyP95.byPoolSeconds).sort();
  if (pools.length === 0) return `${t.latencyP95.defaultSeconds}s`;
  const branches = pools.map(
    (pool, i) => `{{ ${i === 0 ? 'if' : 'else if'} eq $labels.pool "${pool}" }}${t.latencyP95.byPoolSeconds[pool]}s`,
  );
  return `${branches.join('')}{{ else }}${t.latencyP95.defaultSeconds}s{{ end }}`;
}
