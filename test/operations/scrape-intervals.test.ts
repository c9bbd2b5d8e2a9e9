/**
 * Every alert fires at whatever interval Prometheus scrapes: each one is given a steady bad state, sampled every
 * 15 s and every 1 m (Prometheus' default), with rules evaluated every 15 s so evaluations fall between scrapes, and
 * must fire by 30 m. A range too short for two samples at 1 m (the `increase(...[1m])` this replaced) never fires.
 * Annotations are checked by alerts/tests/; here only what fires, from the generated rules' exprs, `for` and labels.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ALERT_NAMES, alertRules, type AlertName } from '../../src/health/alert-rules.js';
import { alertRuleGroups } from '../../src/health/render-rules.js';
import { hasBinaries, run } from '../support/prometheus.js';

const available = hasBinaries('promtool');
const INTERVALS = [15, 60] as const;
const MINUTES = 30;
const at = { job: 'poolscope', instance: 'app:9464' };

interface Series {
  metric: string;
  labels: Record<string, string>;
  /** The value at sample `index`, taken `seconds` after the start. */
  value: (seconds: number, index: number) => number;
}

interface Scenario {
  series: Series[];
  /** The labels of the alert that must be firing at 30 m (besides alertname and severity). */
  fires: Record<string, string>;
  /** Fleet-wide alerts aggregate away `job` and `instance`. */
  fleetWide?: boolean;
}

const counter = (perSecond: number) => (seconds: number) => Math.floor(seconds * perSecond);

/** A steady bad state per alert. Gauges that should hold "all along" dip once in 20 samples, as real ones do. */
const SCENARIOS: Record<AlertName, Scenario> = {
  HighConnectionPoolUtilization: {
    series: [
      {
        metric: 'poolscope_pool_utilization_ratio',
        labels: { pool: 'supabase' },
        value: (_, i) => (i % 20 === 7 ? 0.2 : 0.95),
      },
    ],
    fires: { pool: 'supabase' },
  },
  ConnectionFailures: {
    series: [
      {
        metric: 'poolscope_pool_connection_errors_total',
        labels: { pool: 'supabase', reason: 'refused' },
        value: counter(1 / 30),
      },
    ],
    fires: { pool: 'supabase', reason: 'refused' },
  },
  PoolQueueBuildingUp: {
    series: [
      {
        metric: 'poolscope_pool_pending_requests',
        labels: { pool: 'openai' },
        value: (_, i) => (i % 20 === 5 ? 0 : 3),
      },
    ],
    fires: { pool: 'openai' },
  },
  PoolAcquireTimeouts: {
    series: [{ metric: 'poolscope_pool_acquire_timeouts_total', labels: { pool: 'postgres' }, value: counter(1 / 60) }],
    fires: { pool: 'postgres', reason: 'acquire_timeout' },
  },
  HighErrorRatio: {
    series: [
      {
        metric: 'poolscope_request_failures_total',
        labels: { pool: 'supabase', operation: 'select', reason: 'http_5xx' },
        value: counter(1 / 6),
      },
      {
        metric: 'poolscope_request_duration_seconds_count',
        labels: { pool: 'supabase', operation: 'select', outcome: 'success' },
        value: counter(1 / 6),
      },
    ],
    fires: { pool: 'supabase' },
  },
  SlowRequests: {
    series: [
      { metric: 'poolscope_request_duration_seconds_bucket', labels: { pool: 'pinecone', le: '1' }, value: () => 0 },
      { metric: 'poolscope_request_duration_seconds_bucket', labels: { pool: 'pinecone', le: '5' }, value: counter(1) },
      {
        metric: 'poolscope_request_duration_seconds_bucket',
        labels: { pool: 'pinecone', le: '+Inf' },
        value: counter(1),
      },
    ],
    fires: { pool: 'pinecone' },
  },
  OpenAIRateLimitHeadroomLow: {
    series: [
      { metric: 'poolscope_ratelimit_remaining', labels: { pool: 'openai', limit_type: 'tokens' }, value: () => 500 },
      { metric: 'poolscope_ratelimit_limit', labels: { pool: 'openai', limit_type: 'tokens' }, value: () => 10_000 },
      {
        metric: 'poolscope_request_duration_seconds_count',
        labels: { pool: 'openai', operation: 'chat.completions', outcome: 'success' },
        value: counter(1),
      },
    ],
    fires: { pool: 'openai', limit_type: 'tokens' },
  },
  UpstreamDown: {
    series: [{ metric: 'poolscope_upstream_up', labels: { pool: 'pinecone' }, value: () => 0 }],
    fires: { pool: 'pinecone' },
  },
  PoolscopeTargetDown: {
    series: [{ metric: 'up', labels: {}, value: () => 0 }],
    fires: {},
  },
  PostgresPoolExhausted: {
    series: [
      { metric: 'poolscope_pool_pending_requests', labels: { pool: 'postgres' }, value: () => 2 },
      { metric: 'poolscope_pool_utilization_ratio', labels: { pool: 'postgres' }, value: () => 1 },
      { metric: 'poolscope_pool_connection_usage_seconds_count', labels: { pool: 'postgres' }, value: counter(1) },
    ],
    fires: { pool: 'postgres' },
  },
  PostgresConnectionLeak: {
    // Exported at 0 from the pool's creation; one leak at 20 m.
    series: [
      {
        metric: 'poolscope_pool_leaks_total',
        labels: { pool: 'postgres' },
        value: (seconds) => (seconds >= 20 * 60 ? 1 : 0),
      },
    ],
    fires: { pool: 'postgres' },
  },
  FleetAtCap: {
    // Two processes holding 6 + 4 of a cap of 10, but for one sample in twenty.
    series: [
      {
        metric: 'poolscope_fleet_leases',
        labels: { pool: 'openai', instance: 'a:9464' },
        value: (_, i) => (i % 20 === 3 ? 2 : 6),
      },
      { metric: 'poolscope_fleet_leases', labels: { pool: 'openai', instance: 'b:9464' }, value: () => 4 },
      { metric: 'poolscope_fleet_max_concurrent', labels: { pool: 'openai', instance: 'a:9464' }, value: () => 10 },
      { metric: 'poolscope_fleet_max_concurrent', labels: { pool: 'openai', instance: 'b:9464' }, value: () => 10 },
    ],
    fires: { pool: 'openai' },
    fleetWide: true,
  },
  FleetRedisUnavailable: {
    series: [
      {
        metric: 'poolscope_fleet_errors_total',
        labels: { pool: 'openai', reason: 'unavailable' },
        value: counter(1 / 30),
      },
    ],
    fires: { pool: 'openai', reason: 'unavailable' },
  },
};

function seriesText({ metric, labels, value }: Series, interval: number): { series: string; values: string } {
  const all = { ...at, ...labels };
  const values = Array.from({ length: (MINUTES * 60) / interval + 1 }, (_, i) => value(i * interval, i));
  return {
    series: `${metric}{${Object.entries(all)
      .map(([k, v]) => `${k}="${v}"`)
      .join(',')}}`,
    values: values.join(' '),
  };
}

const work = mkdtempSync(join(tmpdir(), 'poolscope-intervals-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function promtoolTest(interval: number): { status: number | null; output: string } {
  // The generated rules without annotations: promtool compares annotations in full, and they are alerts/tests/' job.
  const groups = alertRuleGroups(alertRules());
  for (const rule of groups.groups[0]!.rules) delete rule.annotations;
  writeFileSync(join(work, 'rules.yml'), stringify(groups, { lineWidth: 0 }));
  const severity = new Map(alertRules().map((rule) => [rule.alert, rule.severity]));
  const tests = ALERT_NAMES.map((alert) => ({
    name: `${alert} at a ${interval} s scrape interval`,
    interval: `${interval}s`,
    input_series: SCENARIOS[alert].series.map((series) => seriesText(series, interval)),
    alert_rule_test: [
      {
        eval_time: `${MINUTES}m`,
        alertname: alert,
        exp_alerts: [
          {
            exp_labels: {
              severity: severity.get(alert),
              ...(SCENARIOS[alert].fleetWide ? {} : at),
              ...SCENARIOS[alert].fires,
            },
          },
        ],
      },
    ],
  }));
  const file = join(work, `intervals-${interval}s.test.yml`);
  writeFileSync(file, stringify({ rule_files: ['rules.yml'], evaluation_interval: '15s', tests }, { lineWidth: 0 }));
  const result = run('promtool', ['test', 'rules', file], work);
  return { status: result.status, output: result.stdout + result.stderr };
}

describe.skipIf(!available)('every alert fires at a 15 s and at a 1 m scrape interval', () => {
  it('has a scenario for every alert', () => {
    expect(Object.keys(SCENARIOS).sort()).toEqual([...ALERT_NAMES].sort());
  });

  it.each(INTERVALS)('fires each alert on its steady bad state sampled every %i s', (interval) => {
    const result = promtoolTest(interval);
    expect(result.status, result.output).toBe(0);
  });

  it('keeps every range of every rule at four or more scrapes of 1 m', () => {
    const ranges = alertRules().flatMap((rule) =>
      [...rule.expr.matchAll(/\[(\d+)([smh])\]/g)].map((m) => ({
        alert: rule.alert,
        range: m[0],
        seconds: Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2] as 's' | 'm' | 'h'],
      })),
    );
    expect(ranges.length).toBeGreaterThan(0);
    expect(ranges.filter((r) => r.seconds < 4 * 60)).toEqual([]);
  });
});
