/** grafana/dashboards/poolscope.json: structure Grafana and the provisioning rely on, and PromQL that parses. */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
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

const dashboard = loadDashboard();
const panels = allPanels(dashboard);
const queryPanels = panels.filter((panel) => panel.type !== 'row');
const variable = (name: string) => dashboard.templating.list.find((entry) => entry.name === name);

/** The panels under the (expanded) row titled `title`: those after it, up to the next row. */
function panelsOfRow(board: GrafanaDashboard, title: string): GrafanaPanel[] {
  const start = board.panels.findIndex((panel) => panel.type === 'row' && panel.title === title);
  if (start === -1) return [];
  const next = board.panels.findIndex((panel, i) => i > start && panel.type === 'row');
  return board.panels.slice(start + 1, next === -1 ? undefined : next);
}

describe('the poolscope dashboard', () => {
  it('has a $datasource variable of type prometheus, defaulting to the provisioned datasource uid', () => {
    const datasources = parse(readRepoFile('grafana/provisioning/datasources/prometheus.yml')) as { datasources: Array<{ uid: string }> };
    expect(variable('datasource')).toMatchObject({
      type: 'datasource',
      query: 'prometheus',
      current: { value: datasources.datasources[0]?.uid },
    });
  });

  it('has a multi-value $pool variable with All, from label_values(poolscope_pool_connections_max, pool)', () => {
    expect(variable('pool')).toMatchObject({
      type: 'query',
      datasource: { type: 'prometheus', uid: '${datasource}' },
      definition: 'label_values(poolscope_pool_connections_max, pool)',
      query: { query: 'label_values(poolscope_pool_connections_max, pool)' },
      multi: true,
      includeAll: true,
      allValue: '.*',
    });
  });

  it('has a multi-value $db_pool variable listing the database pools (the ones with a connection-usage histogram), All = those pools', () => {
    expect(variable('db_pool')).toMatchObject({
      type: 'query',
      datasource: { type: 'prometheus', uid: '${datasource}' },
      definition: 'label_values(poolscope_pool_connection_usage_seconds_count, pool)',
      query: { query: 'label_values(poolscope_pool_connection_usage_seconds_count, pool)' },
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
      for (const target of panel.targets ?? []) expect(target.datasource, panel.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
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

  it.each(dashboardExpressions(dashboard).map(({ panel, expr }) => [panel, expr]))('%s: %s parses as PromQL', (_panel, expr) => {
    expect(promqlErrors(expr)).toEqual([]);
  });

  it('uses only recording rules that prometheus/rules/recording.yml defines', () => {
    const defined = new Set(recordingRuleNames());
    const used = dashboardExpressions(dashboard).flatMap(({ expr }) => expr.match(/\b[a-z_]+:[a-z0-9_]+:[a-z0-9_]+\b/g) ?? []);
    expect(used.length).toBeGreaterThan(15);
    for (const name of used) expect(defined, name).toContain(name);
  });

  it('shows the panels operators need: utilization, connections, queue, acquire wait, rate, errors, latency, tokens, headroom, upstreams, Postgres', () => {
    const exprs = dashboardExpressions(dashboard).map(({ expr }) => expr).join('\n');
    for (const needle of [
      'pool:poolscope_pool_utilization_ratio:max',
      'pool_state:poolscope_pool_connections:sum',
      'pool:poolscope_pool_connections_max:sum',
      'pool:poolscope_pool_pending_requests:sum',
      'pool:poolscope_pool_acquire_wait_seconds:p95_rate5m',
      'pool_operation_outcome:poolscope_request_duration_seconds_count:rate5m',
      'pool_reason:poolscope_request_failures:ratio_rate5m',
      'pool:poolscope_request_duration_seconds:p50_rate5m',
      'pool:poolscope_request_duration_seconds:p95_rate5m',
      'pool:poolscope_request_duration_seconds:p99_rate5m',
      'model_token_type:poolscope_openai_tokens:rate5m',
      'pool_limit_type:poolscope_ratelimit_headroom:ratio',
      'pool:poolscope_upstream_up:min',
      'pool:poolscope_pool_connection_usage_seconds:p95_rate5m',
      'pool:poolscope_pool_leaks:increase1h',
      'pool:poolscope_pool_connection_create_seconds:p95_rate5m',
      'pool:poolscope_pool_acquire_timeouts:rate5m',
    ]) {
      expect(exprs).toContain(needle);
    }
  });

  it('filters every per-pool query by $pool, and the Postgres row by $db_pool', () => {
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
      // Recording rules aggregated to the pool level (`pool:...`, `pool_reason:...`) carry the pool label.
      if (!/(^|[^a-z_:])pool[a-z_]*:poolscope_/.test(expr)) continue;
      expect(expr, panel).toContain(postgresRow.has(panel) ? '{pool=~"$db_pool"}' : '{pool=~"$pool"}');
    }
  });

  it('shows in the Postgres row connections vs max, acquire wait, usage and query p95, connection create p95, acquire timeouts and leaks', () => {
    const exprs = panelsOfRow(dashboard, 'Postgres').flatMap((panel) => (panel.targets ?? []).map((target) => target.expr));
    expect(exprs).toEqual([
      'pool_state:poolscope_pool_connections:sum{pool=~"$db_pool"}',
      'pool:poolscope_pool_connections_max:sum{pool=~"$db_pool"}',
      'pool:poolscope_pool_pending_requests:sum{pool=~"$db_pool"}',
      'pool:poolscope_pool_acquire_wait_seconds:p95_rate5m{pool=~"$db_pool"}',
      'pool:poolscope_pool_connection_usage_seconds:p95_rate5m{pool=~"$db_pool"}',
      'pool_operation:poolscope_request_duration_seconds:p95_rate5m{pool=~"$db_pool"}',
      'pool:poolscope_pool_connection_create_seconds:p95_rate5m{pool=~"$db_pool"}',
      'pool:poolscope_pool_acquire_timeouts:rate5m{pool=~"$db_pool"}',
      'pool:poolscope_pool_leaks:increase1h{pool=~"$db_pool"}',
    ]);
  });
});
