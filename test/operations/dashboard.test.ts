/** grafana/dashboards/poolscope.json: generated from src/health, valid for Grafana, scoped, and correct for N replicas. */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DASHBOARD_FILE, poolscopeDashboard, renderDashboard, type FieldOverride } from '../../src/health/dashboard.js';
import { THRESHOLDS } from '../../src/health/thresholds.js';
import {
  allPanels,
  dashboardExpressions,
  loadDashboard,
  promqlErrors,
  readRepoFile,
  recordingRuleNames,
  type GrafanaDashboard,
  type GrafanaPanel,
} from './assets.js';
import { dashboardSchemaErrors } from './grafana-schema.js';

const dashboard = loadDashboard();
const panels = allPanels(dashboard);
const queryPanels = panels.filter((panel) => panel.type !== 'row');
const variable = (name: string) => dashboard.templating.list.find((entry) => entry.name === name);
const RECORDED = /\b[a-z_]+:poolscope_[a-z0-9_]+:[a-z0-9_]+\b/g;
const REPLICAS = 'job=~"$job", instance=~"$instance"';

/** The panels under the (expanded) row titled `title`: those after it, up to the next row. */
function panelsOfRow(board: GrafanaDashboard, title: string): GrafanaPanel[] {
  const start = board.panels.findIndex((panel) => panel.type === 'row' && panel.title === title);
  if (start === -1) return [];
  const next = board.panels.findIndex((panel, i) => i > start && panel.type === 'row');
  return board.panels.slice(start + 1, next === -1 ? undefined : next);
}

/** A panel's field defaults and overrides, as Grafana reads them. */
function fieldConfig(title: string): {
  defaults: Record<string, unknown> & {
    unit?: string;
    thresholds?: { steps: Array<{ value: number | null; color: string }> };
  };
  overrides: unknown[];
} {
  const panel = panels.find((candidate) => candidate.title === title) as unknown as
    { fieldConfig: ReturnType<typeof fieldConfig> } | undefined;
  expect(panel, title).toBeDefined();
  return panel!.fieldConfig;
}

describe('grafana/dashboards/poolscope.json', () => {
  it('is exactly what renderDashboard() generates from src/health (regenerate: npm run generate:assets)', () => {
    expect(readRepoFile(DASHBOARD_FILE)).toBe(renderDashboard());
  });

  it('renders the same text twice', () => {
    expect(renderDashboard()).toBe(renderDashboard());
  });

  it("type-checks against @grafana/schema's Dashboard type", () => {
    expect(dashboardSchemaErrors(readRepoFile(DASHBOARD_FILE))).toEqual([]);
  }, 30_000);

  it("fails that type check on a link without the fields the schema requires (the hand-written dashboard's mistake)", () => {
    const board = JSON.parse(renderDashboard()) as { links: Array<Record<string, unknown>> };
    board.links = board.links.map(({ title, type, url, targetBlank, icon }) => ({
      title,
      type,
      url,
      targetBlank,
      icon,
    }));
    const errors = dashboardSchemaErrors(JSON.stringify(board));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/missing the following properties .*: asDropdown, includeVars, keepTime, tags, tooltip$/);
  }, 30_000);
});

describe('the poolscope dashboard', () => {
  it('has a $datasource variable of type prometheus, defaulting to the provisioned datasource uid', () => {
    const datasources = parse(readRepoFile('grafana/provisioning/datasources/prometheus.yml')) as {
      datasources: Array<{ uid: string }>;
    };
    expect(variable('datasource')).toMatchObject({
      type: 'datasource',
      query: 'prometheus',
      current: { value: datasources.datasources[0]?.uid },
    });
  });

  it.each([
    ['job', 'label_values(poolscope_pool_connections_max, job)'],
    ['instance', 'label_values(poolscope_pool_connections_max{job=~"$job"}, instance)'],
    ['pool', `label_values(poolscope_pool_connections_max{${REPLICAS}}, pool)`],
  ])('has a multi-value $%s variable with All (.*), from %s', (name, query) => {
    expect(variable(name)).toMatchObject({
      type: 'query',
      datasource: { type: 'prometheus', uid: '${datasource}' },
      query: { query },
      multi: true,
      includeAll: true,
      allValue: '.*',
    });
  });

  it('lists $job, $instance, $pool and $db_pool in that order, each narrowing the next', () => {
    expect(dashboard.templating.list.map((entry) => entry.name)).toEqual([
      'datasource',
      'job',
      'instance',
      'pool',
      'db_pool',
    ]);
  });

  it('has a multi-value $db_pool variable listing the database pools (the ones with a connection-usage histogram), All = those pools', () => {
    expect(variable('db_pool')).toMatchObject({
      type: 'query',
      datasource: { type: 'prometheus', uid: '${datasource}' },
      query: { query: `label_values(poolscope_pool_connection_usage_seconds_count{${REPLICAS}}, pool)` },
      multi: true,
      includeAll: true,
    });
    // No allValue: All expands to the listed pools, so the Postgres row never shows an HTTP pool.
    expect(variable('db_pool')).not.toHaveProperty('allValue');
  });

  it('gives every panel and every query the ${datasource} variable', () => {
    expect(queryPanels.length).toBeGreaterThan(15);
    for (const panel of queryPanels) {
      expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets ?? [])
        expect(target.datasource, panel.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
    }
  });

  it('gives every panel a unique id, and no two panels the same place on the grid', () => {
    const ids = panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Map<string, string>();
    for (const panel of panels) {
      const { x, y, w, h } = panel.gridPos!;
      expect(x + w, panel.title).toBeLessThanOrEqual(24);
      for (let row = y; row < y + h; row++) {
        for (let column = x; column < x + w; column++) {
          const cell = `${column},${row}`;
          expect(cells.get(cell), `${panel.title} overlaps ${cells.get(cell)}`).toBeUndefined();
          cells.set(cell, panel.title);
        }
      }
    }
  });

  it.each(dashboardExpressions(dashboard).map(({ panel, expr }) => [panel, expr]))(
    '%s: %s parses as PromQL',
    (_panel, expr) => {
      expect(promqlErrors(expr)).toEqual([]);
    },
  );

  it('uses only recording rules that prometheus/rules/recording.yml defines', () => {
    const defined = new Set(recordingRuleNames());
    const used = dashboardExpressions(dashboard).flatMap(({ expr }) => expr.match(RECORDED) ?? []);
    expect(used.length).toBeGreaterThan(15);
    for (const name of used) expect(defined, name).toContain(name);
  });

  it('shows the panels operators need: utilization, connections, queue, acquire wait, rate, errors, latency, tokens, headroom, upstreams, Postgres', () => {
    const exprs = dashboardExpressions(dashboard)
      .map(({ expr }) => expr)
      .join('\n');
    for (const needle of [
      'max by (pool) (instance_pool:poolscope_pool_utilization_ratio:max',
      'sum by (pool, state) (instance_pool_state:poolscope_pool_connections:sum',
      'sum by (pool) (instance_pool:poolscope_pool_connections_max:sum',
      'sum by (pool) (instance_pool:poolscope_pool_pending_requests:sum',
      'histogram_quantile(0.95, sum by (pool, le) (instance_pool_le:poolscope_pool_acquire_wait_seconds_bucket:rate5m',
      'sum by (pool, operation, outcome) (instance_pool_operation_outcome:poolscope_request_duration_seconds_count:rate5m',
      'sum by (pool, reason) (instance_pool_operation_reason:poolscope_request_failures:rate5m',
      'histogram_quantile(0.5, sum by (pool, le) (instance_pool_operation_le:poolscope_request_duration_seconds_bucket:rate5m',
      'histogram_quantile(0.95, sum by (pool, le) (instance_pool_operation_le:poolscope_request_duration_seconds_bucket:rate5m',
      'histogram_quantile(0.99, sum by (pool, le) (instance_pool_operation_le:poolscope_request_duration_seconds_bucket:rate5m',
      'sum by (model, token_type) (instance_pool_model_token_type:poolscope_openai_tokens:rate5m',
      'min by (pool, limit_type) (instance_pool_limit_type:poolscope_ratelimit_headroom:ratio',
      'min by (pool) (instance_pool:poolscope_upstream_up:min',
      'instance_pool_le:poolscope_pool_connection_usage_seconds_bucket:rate5m',
      'sum by (pool) (instance_pool:poolscope_pool_leaks:increase1h',
      'instance_pool_le:poolscope_pool_connection_create_seconds_bucket:rate5m',
      'sum by (pool) (instance_pool:poolscope_pool_acquire_timeouts:rate5m',
    ]) {
      expect(exprs).toContain(needle);
    }
  });

  it('aggregates every recorded series across replicas: sum, max (utilization), min (up, headroom) or histogram_quantile over summed buckets', () => {
    for (const { panel, expr } of dashboardExpressions(dashboard)) {
      for (const match of expr.matchAll(/([a-z_]+:poolscope_[a-z0-9_]+:[a-z0-9_]+)\{/g)) {
        const name = match[1]!;
        const before = expr.slice(0, match.index);
        const aggregation = /(sum|max|min) by \(([^)]*)\) \($/.exec(before);
        expect(aggregation, `${panel}: ${name} is read without an aggregation across replicas`).not.toBeNull();
        const [, op, labels] = aggregation!;
        expect(labels, panel).not.toMatch(/\b(job|instance)\b/);
        if (name.endsWith('_bucket:rate5m')) {
          expect(op, panel).toBe('sum');
          expect(labels, panel).toMatch(/, le$/);
          expect(before, panel).toMatch(/histogram_quantile\(0\.\d+, sum by \([^)]*\) \($/);
        } else if (/:(max|ratio)$/.test(name)) {
          expect([name, op]).toEqual([name, name.includes('headroom') ? 'min' : 'max']);
        } else if (name.endsWith(':min')) {
          expect(op, panel).toBe('min');
        } else {
          expect(op, `${panel}: ${name}`).toBe('sum');
        }
      }
    }
  });

  it('filters every query by $job and $instance, per-pool queries by $pool, and the Postgres row by $db_pool', () => {
    const postgresRow = new Set(panelsOfRow(dashboard, 'Postgres').map((panel) => panel.title));
    expect([...postgresRow]).toEqual([
      'Postgres connections: active / idle / connecting vs max',
      'Postgres acquire wait p95',
      'Postgres connection usage p95',
      'Postgres query p95 by operation',
      'Postgres connection create p95',
      'Postgres acquire timeouts',
      'Postgres connection leaks (last hour)',
    ]);
    for (const { panel, expr } of dashboardExpressions(dashboard)) {
      const selectors = expr.match(/(?<![\w:])(?:[a-z_]+:)?poolscope_[a-z0-9_:]+\{[^}]*\}|\bup\{[^}]*\}/g) ?? [];
      expect(selectors.length, `${panel}: ${expr}`).toBeGreaterThan(0);
      for (const selector of selectors) {
        expect(selector, panel).toContain(REPLICAS);
        if (RECORDED.test(selector))
          expect(selector, panel).toContain(postgresRow.has(panel) ? 'pool=~"$db_pool"' : 'pool=~"$pool"');
        RECORDED.lastIndex = 0;
      }
    }
  });

  it('shows in the Postgres row connections vs max, acquire wait, usage and query p95, connection create p95, acquire timeouts and leaks', () => {
    const exprs = panelsOfRow(dashboard, 'Postgres').flatMap((panel) =>
      (panel.targets ?? []).map((target) => target.expr),
    );
    const db = `{${REPLICAS}, pool=~"$db_pool"}`;
    expect(exprs).toEqual([
      `sum by (pool, state) (instance_pool_state:poolscope_pool_connections:sum${db})`,
      `sum by (pool) (instance_pool:poolscope_pool_connections_max:sum${db})`,
      `sum by (pool) (instance_pool:poolscope_pool_pending_requests:sum${db})`,
      `histogram_quantile(0.95, sum by (pool, le) (instance_pool_le:poolscope_pool_acquire_wait_seconds_bucket:rate5m${db}))`,
      `histogram_quantile(0.95, sum by (pool, le) (instance_pool_le:poolscope_pool_connection_usage_seconds_bucket:rate5m${db}))`,
      `histogram_quantile(0.95, sum by (pool, operation, le) (instance_pool_operation_le:poolscope_request_duration_seconds_bucket:rate5m${db}))`,
      `histogram_quantile(0.95, sum by (pool, le) (instance_pool_le:poolscope_pool_connection_create_seconds_bucket:rate5m${db}))`,
      `sum by (pool) (instance_pool:poolscope_pool_acquire_timeouts:rate5m${db})`,
      `sum by (pool) (instance_pool:poolscope_pool_leaks:increase1h${db})`,
    ]);
  });

  it('shows in the Fleet row the leases in use summed over replicas against the cap (a max: every replica reports it), their ratio, tokens spent per minute against the token budget (a max) with what is left (a min), the budget wait p95 and fleet errors by reason', () => {
    const exprs = panelsOfRow(dashboard, 'Fleet').flatMap((panel) =>
      (panel.targets ?? []).map((target) => target.expr),
    );
    const pools = `{${REPLICAS}, pool=~"$pool"}`;
    const inUse = `sum by (pool) (instance_pool:poolscope_fleet_leases:sum${pools})`;
    const cap = `max by (pool) (instance_pool:poolscope_fleet_max_concurrent:max${pools})`;
    const budget = `max by (pool) (instance_pool:poolscope_fleet_tokens_per_minute:max${pools})`;
    expect(exprs).toEqual([
      inUse,
      cap,
      `${inUse}\n/ (${cap} > 0)`,
      // Tokens spent per minute, only for the pools with a budget.
      `sum by (pool) (instance_pool_model_token_type:poolscope_openai_tokens:rate5m${pools}) * 60\nand on (pool) ${budget}`,
      budget,
      `min by (pool) (instance_pool:poolscope_fleet_tokens_remaining:min${pools})`,
      `histogram_quantile(0.95, sum by (pool, le) (instance_pool_le:poolscope_fleet_acquire_wait_seconds_bucket:rate5m${pools}))`,
      `sum by (pool, reason) (instance_pool_reason:poolscope_fleet_errors:rate5m${pools})`,
    ]);
  });

  it.each([
    ['Fleet leases in use vs cap', 1],
    ['Fleet tokens per minute vs budget', 1],
  ])('draws the limit of %s as a dashed line, on the limit series (target %i) only', (title, limitIndex) => {
    const panel = panels.find((candidate) => candidate.title === title)!;
    const legends = (panel.targets ?? []).map((target) => target.legendFormat!.replace('{{pool}}', 'openai'));
    const overrides = fieldConfig(title).overrides as FieldOverride[];
    expect(overrides).toHaveLength(1);
    const { matcher, properties } = overrides[0]!;
    expect(matcher.id).toBe('byRegexp');
    // Grafana's byRegexp matcher takes /pattern/ and tests it against a series' display name (its legend).
    const pattern = new RegExp(/^\/(.*)\/$/.exec(matcher.options)![1]!);
    expect(legends.map((legend) => pattern.test(legend))).toEqual(legends.map((_, i) => i === limitIndex));
    expect(properties).toContainEqual({ id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } });
  });

  it("names in each Fleet panel's description the metrics it reads, and warns that its sums are the fleet's only with every replica selected", () => {
    const fleetRow = panelsOfRow(dashboard, 'Fleet');
    for (const panel of fleetRow) {
      // The raw metric under each recorded series: level:<metric>[_bucket]:operation.
      const metrics = new Set(
        (panel.targets ?? []).flatMap((target) =>
          [...(target.expr ?? '').matchAll(/:(poolscope_[a-z0-9_]+?)(?:_bucket)?:/g)].map((match) =>
            match[1] === 'poolscope_fleet_errors' ? 'poolscope_fleet_errors_total' : match[1]!,
          ),
        ),
      );
      expect(metrics.size, panel.title).toBeGreaterThan(0);
      for (const metric of metrics) expect(panel.description, panel.title).toContain(metric);
      if (metrics.has('poolscope_fleet_leases'))
        expect(panel.description, panel.title).toMatch(/select every replica sharing the budget's key \(All\)/);
    }
    const description = (title: string) => fleetRow.find((panel) => panel.title === title)?.description;
    expect(description('Fleet leases in use vs cap')).toMatch(/FLEET_REDIS_URL.*OPENAI_FLEET_MAX_CONCURRENT/);
    expect(description('Fleet use of the cap')).toContain('FleetAtCap');
    expect(description('Fleet errors by reason')).toContain('FleetRedisUnavailable');
  });

  it('draws the alert thresholds of src/health/thresholds.ts on the panels they judge', () => {
    const steps = (title: string) => fieldConfig(title).defaults.thresholds?.steps.map((step) => step.value);
    expect(steps('Connection pool utilization')).toEqual([null, THRESHOLDS.utilization.ratio]);
    expect(steps('Error ratio by pool')).toEqual([null, THRESHOLDS.errorRatio.ratio]);
    expect(steps('Error ratio by reason')).toEqual([null, THRESHOLDS.errorRatio.ratio]);
    expect(steps('Request latency p50 / p95 / p99')).toEqual([null, THRESHOLDS.latencyP95.defaultSeconds]);
    expect(steps('Rate-limit headroom')).toEqual([null, THRESHOLDS.rateLimitHeadroom.ratio]);
    expect(steps('Fleet use of the cap')).toEqual([null, THRESHOLDS.fleetAtCap.ratio]);
    // A pool with its own p95 limit gets its line on its own p95 series.
    expect(fieldConfig('Request latency p50 / p95 / p99').overrides).toEqual(
      Object.entries(THRESHOLDS.latencyP95.byPoolSeconds).map(([pool, seconds]) => ({
        matcher: { id: 'byName', options: `${pool} p95` },
        properties: [
          {
            id: 'thresholds',
            value: {
              mode: 'absolute',
              steps: [
                { color: 'green', value: null },
                { color: 'red', value: seconds },
              ],
            },
          },
        ],
      })),
    );
  });

  it('follows other thresholds when given them', () => {
    const board = poolscopeDashboard({ ...THRESHOLDS, utilization: { ...THRESHOLDS.utilization, ratio: 0.9 } });
    const panel = board.panels.find((candidate) => candidate.title === 'Connection pool utilization')!;
    expect(panel.type === 'row' ? undefined : panel.fieldConfig.defaults.thresholds?.steps.at(-1)?.value).toBe(0.9);
  });

  it('counts tokens in tokens per second, not a bare number', () => {
    expect(fieldConfig('OpenAI tokens per second by model').defaults.unit).toBe('count:tokens/s');
  });

  it('puts the selector in every query and variable, on recorded series too (the recording rules keep its labels)', () => {
    const selector = 'job="api", env="prod"';
    const board = poolscopeDashboard(THRESHOLDS, { selector, targetSelector: 'job="api"' });
    const exprs = dashboardExpressions(board as unknown as GrafanaDashboard).map(({ expr }) => expr);
    const queries = board.templating.list.flatMap((entry) =>
      typeof entry.query === 'object' ? [entry.query.query] : [],
    );
    for (const text of [...exprs, ...queries].filter((text) => text.includes('poolscope_'))) {
      const selectors = text.match(/(?<![\w:])(?:[a-z_]+:)?poolscope_[a-z0-9_:]+\{[^}]*\}/g) ?? [];
      expect(selectors.length, text).toBeGreaterThan(0);
      for (const s of selectors) expect(s, text).toContain(`{${selector}`);
    }
    // label_values() is Grafana's, not PromQL: only the panel queries go through the parser.
    for (const expr of exprs) expect(promqlErrors(expr), expr).toEqual([]);
    expect(exprs).toContain(`sum(up{job="api", ${REPLICAS}})`);
  });
});
