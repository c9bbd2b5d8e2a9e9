/**
 * The recording rules behind the dashboard (`prometheus/rules/recording.yml`), from code so the selector of
 * `AssetOptions` scopes them like the alerts and panels. Named `level:metric:operations`, each at the level of
 * one replica (`instance_pool:...` keeps `job`, `instance` and `pool`): the dashboard aggregates across the
 * replicas a user picks, and only additive things (rates, bucket rates, sums of gauges) or extremes (max, min)
 * are recorded, so every aggregate it draws is exact for any set of replicas. Alerts do not read these.
 */
import { Document, isMap, isSeq } from 'yaml';
import { DEFAULT_SELECTOR, normalizeSelector, selectorOf, type AssetOptions } from './asset-options.js';

export const RECORDING_RULES_FILE = 'prometheus/rules/recording.yml';

/**
 * Every rate and increase in these rules looks back this far: at Prometheus' default 1 m scrape interval that is
 * 5 samples (rate() needs 2; 4 or more ride out one missed scrape), at 15 s it is 20.
 */
export const RATE_WINDOW = '5m';

export interface RecordingRule {
  record: string;
  expr: string;
  /** Why the rule is shaped as it is; written above it in the YAML. */
  comment?: string;
}

export interface RecordingRuleGroup {
  name: string;
  rules: RecordingRule[];
}

/** The label names a selector matches on (`job="api", env=~"prod|dev"` → `['job', 'env']`). */
export function selectorLabelNames(selector: string): string[] {
  return [...selector.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"/g)].map(
    (match) => match[1]!,
  );
}

/**
 * The labels every rule keeps: the selector's own (so two copies of these rules generated for `env="prod"` and
 * `env="staging"` never write the same series, and the dashboard can apply the selector to recorded series too),
 * then `job` and `instance` (one replica), then the signal's own labels.
 */
function keptLabels(selector: string): string[] {
  return [...new Set([...selectorLabelNames(selector), 'job', 'instance'])];
}

/** The rule groups, with `options.selector` in every `poolscope_*` selector. */
export function recordingRuleGroups(options: AssetOptions = {}): RecordingRuleGroup[] {
  const selector = normalizeSelector(options.selector ?? DEFAULT_SELECTOR);
  const kept = keptLabels(selector);
  const s = (metric: string, ...matchers: string[]) => selectorOf(metric, selector, ...matchers);
  const by = (...labels: string[]) => `by (${[...kept, ...labels].join(', ')})`;
  const w = RATE_WINDOW;
  const rate = (metric: string, ...matchers: string[]) => `rate(${s(metric, ...matchers)}[${w}])`;
  /** Summed per-replica bucket rates: the dashboard takes histogram_quantile over their sum across replicas. */
  const buckets = (level: string, histogram: string, ...labels: string[]): RecordingRule => ({
    record: `instance_${level}_le:${histogram}_bucket:rate${w}`,
    expr: `sum ${by(...labels, 'le')} (${rate(`${histogram}_bucket`)})`,
  });
  const counterRate = (level: string, metric: string, ...labels: string[]): RecordingRule => ({
    record: `instance_${level}:${metric.replace(/_total$/, '')}:rate${w}`,
    expr: `sum ${by(...labels)} (${rate(metric)})`,
  });
  const gauge = (level: string, op: 'sum' | 'max' | 'min', metric: string, ...labels: string[]): RecordingRule => ({
    record: `instance_${level}:${metric}:${op}`,
    expr: `${op} ${by(...labels)} (${s(metric)})`,
  });

  const failures = `sum ${by('pool')} (${rate('poolscope_request_failures_total')})`;
  const successes = `sum ${by('pool')} (${rate('poolscope_request_duration_seconds_count', 'outcome="success"')})`;
  const finished = `instance_pool:poolscope_requests_finished:rate${w}`;
  const leaks = s('poolscope_pool_leaks_total');

  return [
    {
      name: 'poolscope.pools',
      rules: [
        gauge('pool', 'max', 'poolscope_pool_utilization_ratio', 'pool'),
        gauge('pool_state', 'sum', 'poolscope_pool_connections', 'pool', 'state'),
        gauge('pool', 'sum', 'poolscope_pool_connections_max', 'pool'),
        gauge('pool', 'sum', 'poolscope_pool_active_requests', 'pool'),
        gauge('pool', 'sum', 'poolscope_pool_pending_requests', 'pool'),
        gauge('pool', 'sum', 'poolscope_pool_max_concurrent', 'pool'),
        buckets('pool', 'poolscope_pool_acquire_wait_seconds', 'pool'),
        counterRate('pool', 'poolscope_pool_connections_created_total', 'pool'),
        counterRate('pool', 'poolscope_pool_connections_closed_total', 'pool'),
        counterRate('pool_reason', 'poolscope_pool_connection_errors_total', 'pool', 'reason'),
        {
          ...counterRate('pool', 'poolscope_pool_acquire_timeouts_total', 'pool'),
          comment: "Checkouts that gave up waiting, whoever asked (database pools: the app's own pool.connect() too).",
        },
        buckets('pool', 'poolscope_pool_connection_create_seconds', 'pool'),
        gauge('pool', 'sum', 'poolscope_http2_sessions', 'pool'),
        gauge('pool', 'sum', 'poolscope_http2_streams', 'pool'),
        counterRate('pool_code', 'poolscope_http2_goaways_total', 'pool', 'code'),
        counterRate('pool_code', 'poolscope_http2_stream_resets_total', 'pool', 'code'),
      ],
    },
    {
      name: 'poolscope.requests',
      rules: [
        {
          ...counterRate(
            'pool_operation_outcome',
            'poolscope_request_duration_seconds_count',
            'pool',
            'operation',
            'outcome',
          ),
          comment: 'Requests that ran, by operation and outcome (refused requests have no duration: see failures).',
        },
        counterRate('pool', 'poolscope_request_duration_seconds_count', 'pool'),
        counterRate('pool', 'poolscope_request_duration_seconds_sum', 'pool'),
        {
          ...buckets('pool_operation', 'poolscope_request_duration_seconds', 'pool', 'operation'),
          comment:
            'By operation, so one rule serves both the latency by pool (summed over operations) and the Postgres query p95.',
        },
        counterRate('pool_operation_reason', 'poolscope_request_failures_total', 'pool', 'operation', 'reason'),
        counterRate('pool_reason', 'poolscope_request_retries_total', 'pool', 'reason'),
        {
          record: finished,
          comment:
            'Finished requests = successes + failures (failures include requests refused before they ran).\n' +
            'Either side may have no series yet for a pool: `or ... * 0` keeps the pool instead of dropping it.',
          expr: [
            '(',
            `  ${failures}`,
            `  or ${successes} * 0`,
            ')',
            '+',
            '(',
            `  ${successes}`,
            `  or ${failures} * 0`,
            ')',
          ].join('\n'),
        },
        {
          record: `instance_pool:poolscope_request_failures:rate${w}`,
          comment:
            'Failures per pool, 0 (not absent) for a pool that finished requests without one, so the error ratio\n' +
            'the dashboard divides out of the two sums is 0 rather than missing.',
          // The recorded series is read through the selector too: another copy of these rules, for another
          // selector, writes its own.
          expr: ['(', `  ${failures}`, `  or ${s(finished)} * 0`, ')'].join('\n'),
        },
      ],
    },
    {
      name: 'poolscope.upstreams',
      rules: [
        gauge('pool', 'min', 'poolscope_upstream_up', 'pool'),
        buckets('pool', 'poolscope_health_check_duration_seconds', 'pool'),
        {
          record: 'instance_pool_limit_type:poolscope_ratelimit_headroom:ratio',
          comment: 'Rate-limit headers: remaining ÷ limit; no limit reported, no ratio.',
          expr: `min ${by('pool', 'limit_type')} (${s('poolscope_ratelimit_remaining')} / (${s('poolscope_ratelimit_limit')} > 0))`,
        },
      ],
    },
    {
      name: 'poolscope.openai',
      rules: [
        counterRate('pool_model_token_type', 'poolscope_openai_tokens_total', 'pool', 'model', 'token_type'),
        buckets('pool_model', 'poolscope_openai_time_to_first_token_seconds', 'pool', 'model'),
      ],
    },
    {
      name: 'poolscope.postgres',
      rules: [
        buckets('pool', 'poolscope_pool_connection_usage_seconds', 'pool'),
        {
          record: 'instance_pool:poolscope_pool_leaks:increase1h',
          comment:
            'The leak counter starts at 0 with its pool, but a replica scraped for the first time after a leak (a pool\n' +
            'created lazily, a scrape missed at start) shows up above 0, and increase() would count that as nothing.\n' +
            'A series that did not exist an hour ago counts with its whole value; older ones with their increase.',
          expr: [
            `sum ${by('pool')} (`,
            `  (${leaks} unless ${leaks} offset 1h)`,
            `  or increase(${leaks}[1h])`,
            ')',
          ].join('\n'),
        },
      ],
    },
    {
      name: 'poolscope.fleet',
      rules: [
        {
          ...gauge('pool', 'sum', 'poolscope_fleet_leases', 'pool'),
          comment:
            'Leases this replica holds: additive, the fleet-wide in-use is the sum over every replica sharing the key.',
        },
        {
          ...gauge('pool', 'max', 'poolscope_fleet_max_concurrent', 'pool'),
          comment:
            'The fleet-wide cap, the same in every replica sharing the key: not additive, take the max across replicas.',
        },
        {
          ...gauge('pool', 'max', 'poolscope_fleet_tokens_per_minute', 'pool'),
          comment: 'The fleet-wide token budget, the same in every replica sharing the key: the max, like the cap.',
        },
        {
          ...gauge('pool', 'min', 'poolscope_fleet_tokens_remaining', 'pool'),
          comment:
            "Tokens left in the fleet's minute, as each replica last read the one count in Redis: the least is the latest.",
        },
        buckets('pool', 'poolscope_fleet_acquire_wait_seconds', 'pool'),
        counterRate('pool_reason', 'poolscope_fleet_errors_total', 'pool', 'reason'),
      ],
    },
  ];
}

const HEADER = [
  ' GENERATED from src/health/recording-rules.ts by scripts/generate-ops-assets.mjs. Do not edit: change the',
  ' definitions and regenerate; test/operations checks this file matches, alerts/tests/recording*.test.yml hold',
  ' the promtool unit tests.',
  '',
  ' Recording rules for the poolscope dashboard (grafana/dashboards/poolscope.json), named',
  ' level:metric:operations, one series per replica (job, instance): the dashboard sums rates and bucket rates,',
  ' and takes max/min of ratios, over the replicas picked in $job and $instance. The alerts do not use them.',
].join('\n');

/** The text of `prometheus/rules/recording.yml`. Deterministic: same options, byte-identical output. */
export function renderRecordingRules(options: AssetOptions = {}): string {
  const groups = recordingRuleGroups(options);
  const doc = new Document({
    groups: groups.map((group) => ({
      name: group.name,
      rules: group.rules.map(({ record, expr }) => ({ record, expr })),
    })),
  });
  doc.commentBefore = HEADER;
  // Each rule's comment goes above its `- record:` line.
  const groupNodes = doc.get('groups');
  if (isSeq(groupNodes)) {
    groupNodes.items.forEach((groupNode, g) => {
      if (g > 0 && isMap(groupNode)) groupNode.spaceBefore = true;
      const rules = isMap(groupNode) ? groupNode.get('rules') : undefined;
      if (!isSeq(rules)) return;
      rules.items.forEach((ruleNode, r) => {
        const comment = groups[g]!.rules[r]!.comment;
        if (comment && isMap(ruleNode))
          ruleNode.commentBefore = comment
            .split('\n')
            .map((line) => ` ${line}`)
            .join('\n');
      });
    });
  }
  // lineWidth 0: never fold long PromQL; multi-line expressions come out as `|-` blocks.
  return doc.toString({ lineWidth: 0, indent: 2, indentSeq: true });
}
