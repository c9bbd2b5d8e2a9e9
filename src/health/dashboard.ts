/**
 * The Grafana dashboard (`grafana/dashboards/poolscope.json`), from code: the selector of `AssetOptions` in every
 * query, the alert thresholds of `thresholds.ts` drawn on the panels they judge, and `$job` / `$instance`
 * variables so one replica can be isolated. The types below are the part of Grafana's dashboard model (schema
 * version 39) this dashboard uses; test/operations type-checks the generated JSON against `@grafana/schema`.
 *
 * Aggregating N replicas (the rule every panel follows, and docs/operations.md states):
 *   - counts and rates (requests, failures, connections, queue, tokens): `sum` over the replicas;
 *   - ratios of a pool's own capacity (utilization) and of a limit (rate-limit headroom), health (up): the worst
 *     replica, `max` (utilization) or `min` (headroom, up): an average would hide one saturated replica;
 *   - a value every replica reports alike (a fleet budget's cap, shared in Redis): `max`, never a sum; the leases
 *     held against it are counts, summed;
 *   - ratios of two rates (error ratio, mean latency): sum of the numerators ÷ sum of the denominators;
 *   - latency quantiles: `histogram_quantile` over the bucket rates summed across replicas, never an average of
 *     per-replica quantiles.
 */
import {
  DEFAULT_SELECTOR,
  DEFAULT_TARGET_SELECTOR,
  normalizeSelector,
  selectorOf,
  type AssetOptions,
} from './asset-options.js';
import { RUNBOOK_BASE_URL } from './alert-rules.js';
import { RATE_WINDOW } from './recording-rules.js';
import { THRESHOLDS, type Thresholds } from './thresholds.js';

export const DASHBOARD_FILE = 'grafana/dashboards/poolscope.json';
export const DASHBOARD_UID = 'poolscope-pools';

export interface DataSourceRef {
  type: string;
  uid: string;
}

export interface DashboardTarget {
  datasource: DataSourceRef;
  refId: string;
  expr: string;
  legendFormat: string;
  range: boolean;
}

export interface ThresholdStep {
  color: string;
  value: number | null;
}

export interface FieldDefaults {
  unit?: string;
  min?: number;
  max?: number;
  thresholds?: { mode: 'absolute'; steps: ThresholdStep[] };
  mappings?: Array<{ type: 'value'; options: Record<string, { text: string; color: string; index: number }> }>;
  custom?: Record<string, unknown>;
}

export interface FieldOverride {
  matcher: { id: string; options: string };
  properties: Array<{ id: string; value: unknown }>;
}

export interface GridPos {
  h: number;
  w: number;
  x: number;
  y: number;
}

export interface DashboardPanel {
  id: number;
  type: 'timeseries' | 'stat';
  title: string;
  description: string;
  datasource: DataSourceRef;
  gridPos: GridPos;
  targets: DashboardTarget[];
  fieldConfig: { defaults: FieldDefaults; overrides: FieldOverride[] };
  options: Record<string, unknown>;
}

export interface DashboardRow {
  id: number;
  type: 'row';
  title: string;
  collapsed: boolean;
  gridPos: GridPos;
  panels: DashboardPanel[];
}

export interface DashboardVariable {
  name: string;
  label: string;
  type: 'datasource' | 'query';
  description?: string;
  datasource?: DataSourceRef;
  query: string | { query: string; refId: string };
  multi: boolean;
  includeAll: boolean;
  allValue?: string;
  current: { selected: boolean; text: string | string[]; value: string | string[] };
  hide: 0;
  options: [];
  refresh: 1 | 2;
  regex: string;
  sort?: 1;
}

export interface DashboardLink {
  title: string;
  tooltip: string;
  type: 'link';
  url: string;
  icon: string;
  tags: string[];
  asDropdown: boolean;
  includeVars: boolean;
  keepTime: boolean;
  targetBlank: boolean;
}

export interface DashboardJson {
  annotations: {
    list: Array<
      Record<string, unknown> & { name: string; enable: boolean; datasource: DataSourceRef; iconColor: string }
    >;
  };
  description: string;
  editable: boolean;
  graphTooltip: 1;
  id: null;
  links: DashboardLink[];
  panels: Array<DashboardRow | DashboardPanel>;
  refresh: string;
  schemaVersion: number;
  tags: string[];
  templating: { list: DashboardVariable[] };
  time: { from: string; to: string };
  timepicker: Record<string, never>;
  timezone: string;
  title: string;
  uid: string;
  version: number;
  weekStart: string;
}

const DATASOURCE: DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

/** What a panel is before it has an id and a place on the grid. */
interface PanelSpec {
  type?: 'timeseries' | 'stat';
  title: string;
  description: string;
  unit?: string;
  min?: number;
  max?: number;
  /** Threshold steps above the base colour: `[[0.8, 'red']]` is green below 0.8, red from it. */
  thresholds?: { base: string; steps: Array<[number, string]> };
  targets: Array<[expr: string, legend: string]>;
  overrides?: FieldOverride[];
  mappings?: FieldDefaults['mappings'];
  options?: Record<string, unknown>;
  w?: number;
  h?: number;
}

function thresholdsOf(spec: PanelSpec): FieldDefaults['thresholds'] {
  if (!spec.thresholds) return undefined;
  return {
    mode: 'absolute',
    steps: [
      { color: spec.thresholds.base, value: null },
      ...spec.thresholds.steps.map(([value, color]) => ({ color, value })),
    ],
  };
}

const TIMESERIES_OPTIONS = {
  legend: { displayMode: 'table', placement: 'bottom', showLegend: true, calcs: ['lastNotNull', 'max'] },
  tooltip: { mode: 'multi', sort: 'desc' },
};
const STAT_OPTIONS = {
  reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
  colorMode: 'background',
  graphMode: 'none',
  textMode: 'value_and_name',
  orientation: 'auto',
};

function panelOf(spec: PanelSpec, id: number, gridPos: GridPos): DashboardPanel {
  const type = spec.type ?? 'timeseries';
  const thresholds = thresholdsOf(spec);
  const defaults: FieldDefaults = {
    ...(spec.unit !== undefined && { unit: spec.unit }),
    ...(spec.min !== undefined && { min: spec.min }),
    ...(spec.max !== undefined && { max: spec.max }),
    ...(thresholds && { thresholds }),
    ...(spec.mappings && { mappings: spec.mappings }),
    ...(type === 'timeseries' && {
      custom: {
        drawStyle: 'line',
        lineWidth: 1,
        fillOpacity: 10,
        showPoints: 'never',
        spanNulls: false,
        stacking: { mode: 'none', group: 'A' },
        // The alert's threshold as a dashed line across the graph.
        ...(thresholds && { thresholdsStyle: { mode: 'dashed' } }),
      },
    }),
  };
  return {
    id,
    type,
    title: spec.title,
    description: spec.description,
    datasource: DATASOURCE,
    gridPos,
    targets: spec.targets.map(([expr, legendFormat], i) => ({
      datasource: DATASOURCE,
      refId: String.fromCharCode(65 + i),
      expr,
      legendFormat,
      range: true,
    })),
    fieldConfig: { defaults, overrides: spec.overrides ?? [] },
    options: spec.options ?? (type === 'stat' ? STAT_OPTIONS : TIMESERIES_OPTIONS),
  };
}

/** Rows of panels, laid out left to right on Grafana's 24-column grid, ids in reading order. */
function layout(sections: Array<{ title: string; panels: PanelSpec[] }>): Array<DashboardRow | DashboardPanel> {
  const out: Array<DashboardRow | DashboardPanel> = [];
  let id = 0;
  let y = 0;
  for (const section of sections) {
    out.push({
      id: ++id,
      type: 'row',
      title: section.title,
      collapsed: false,
      gridPos: { h: 1, w: 24, x: 0, y },
      panels: [],
    });
    y += 1;
    let x = 0;
    let lineHeight = 0;
    for (const spec of section.panels) {
      const w = spec.w ?? 12;
      const h = spec.h ?? 8;
      if (x + w > 24) {
        y += lineHeight;
        x = 0;
        lineHeight = 0;
      }
      out.push(panelOf(spec, ++id, { h, w, x, y }));
      x += w;
      lineHeight = Math.max(lineHeight, h);
    }
    y += lineHeight;
  }
  return out;
}

function queryVariable(
  name: string,
  label: string,
  query: string,
  extra: Partial<DashboardVariable> = {},
): DashboardVariable {
  return {
    name,
    label,
    type: 'query',
    datasource: DATASOURCE,
    // No `definition` (the text Grafana's editor shows): @grafana/schema's VariableModel has no such field.
    query: { query, refId: 'PrometheusVariableQueryEditor-VariableQuery' },
    multi: true,
    includeAll: true,
    allValue: '.*',
    current: { selected: true, text: ['All'], value: ['$__all'] },
    hide: 0,
    options: [],
    refresh: 2,
    regex: '',
    sort: 1,
    ...extra,
  };
}

/** The dashboard, scoped by `options.selector`, with the alert thresholds of `thresholds`. */
export function poolscopeDashboard(thresholds: Thresholds = THRESHOLDS, options: AssetOptions = {}): DashboardJson {
  const selector = normalizeSelector(options.selector ?? DEFAULT_SELECTOR);
  const targetSelector = normalizeSelector(options.targetSelector ?? DEFAULT_TARGET_SELECTOR, 'targetSelector');
  const runbooks = options.runbookBaseUrl ?? RUNBOOK_BASE_URL;
  const w = RATE_WINDOW;
  const replicas = ['job=~"$job"', 'instance=~"$instance"'];
  // Recording rules keep the selector's labels, so the selector applies to them as to the raw series.
  const q = (series: string, pools = '$pool') => selectorOf(series, selector, ...replicas, `pool=~"${pools}"`);
  const sumBy = (labels: string, series: string, pools?: string) => `sum by (${labels}) (${q(series, pools)})`;
  const quantile = (phi: number, histogram: string, labels = 'pool', level = 'pool', pools?: string) =>
    `histogram_quantile(${phi}, sum by (${labels}, le) (${q(`instance_${level}_le:${histogram}_bucket:rate${w}`, pools)}))`;
  const finished = (pools?: string) =>
    `(${sumBy('pool', `instance_pool:poolscope_requests_finished:rate${w}`, pools)} > 0)`;

  const latency = thresholds.latencyP95;
  // Each pool with its own p95 limit gets its own line on its own series.
  const latencyOverrides: FieldOverride[] = Object.entries(latency.byPoolSeconds).map(([pool, seconds]) => ({
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
  }));

  const db = '$db_pool';
  /** A limit drawn as a series (each pool has its own, so no threshold line fits): dashed, unfilled. */
  const dashedSeries = (legendSuffix: string): FieldOverride => ({
    matcher: { id: 'byRegexp', options: `/ ${legendSuffix}$/` },
    properties: [
      { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } },
      { id: 'custom.fillOpacity', value: 0 },
    ],
  });
  const fleetAtCap = thresholds.fleetAtCap;
  // A budget is shared by every replica whose pool uses its key: only all of them together show the fleet's use.
  const fleetWide =
    "Fleet-wide only when $job and $instance select every replica sharing the budget's key (All); one replica " +
    'picked in $instance shows its own share.';
  const sections: Array<{ title: string; panels: PanelSpec[] }> = [
    {
      title: 'Pools',
      panels: [
        {
          title: 'Connection pool utilization',
          description:
            `Active connections ÷ max connections, the busiest replica per pool (max). HighConnectionPoolUtilization fires above ` +
            `${thresholds.utilization.ratio * 100} % (the dashed line): grow the pool (SUPABASE_POOL_SIZE, PINECONE_POOL_SIZE, OPENAI_MAX_CONCURRENT, DATABASE_POOL_SIZE).`,
          unit: 'percentunit',
          min: 0,
          max: 1,
          thresholds: { base: 'green', steps: [[thresholds.utilization.ratio, 'red']] },
          targets: [[`max by (pool) (${q('instance_pool:poolscope_pool_utilization_ratio:max')})`, '{{pool}}']],
        },
        {
          title: 'Connections: active / idle vs max',
          description: 'Open connections by state, and the configured maximum, summed over the selected replicas.',
          unit: 'short',
          min: 0,
          targets: [
            [sumBy('pool, state', 'instance_pool_state:poolscope_pool_connections:sum'), '{{pool}} {{state}}'],
            [sumBy('pool', 'instance_pool:poolscope_pool_connections_max:sum'), '{{pool}} max'],
          ],
        },
        {
          title: 'Requests in flight and queued',
          description:
            'Requests waiting for a slot or a connection (queued), running (in flight), and the concurrency limit, summed over the selected replicas.',
          unit: 'short',
          min: 0,
          targets: [
            [sumBy('pool', 'instance_pool:poolscope_pool_pending_requests:sum'), '{{pool}} queued'],
            [sumBy('pool', 'instance_pool:poolscope_pool_active_requests:sum'), '{{pool}} in flight'],
            [sumBy('pool', 'instance_pool:poolscope_pool_max_concurrent:sum'), '{{pool}} limit'],
          ],
        },
        {
          title: 'Acquire wait p95',
          description: `Time from asking the pool to a slot or connection in hand (95th percentile over ${w}, across the selected replicas).`,
          unit: 's',
          min: 0,
          targets: [[quantile(0.95, 'poolscope_pool_acquire_wait_seconds'), '{{pool}}']],
        },
        {
          title: 'Connections opened and failed',
          description:
            'Connections opened, closed, and failed connection attempts by reason (ConnectionFailures), per second.',
          unit: 'ops',
          min: 0,
          targets: [
            [sumBy('pool', `instance_pool:poolscope_pool_connections_created:rate${w}`), '{{pool}} opened'],
            [sumBy('pool', `instance_pool:poolscope_pool_connections_closed:rate${w}`), '{{pool}} closed'],
            [
              sumBy('pool, reason', `instance_pool_reason:poolscope_pool_connection_errors:rate${w}`),
              '{{pool}} failed: {{reason}}',
            ],
          ],
        },
        {
          title: 'HTTP/2 sessions and streams',
          description:
            'Pools with allowH2 only: HTTP/2 sessions open (poolscope_http2_sessions) and streams in flight on them ' +
            "(poolscope_http2_streams), summed over the selected replicas. Streams above sessions × the server's " +
            'SETTINGS_MAX_CONCURRENT_STREAMS cannot be: the rest wait, as queued.',
          unit: 'short',
          min: 0,
          targets: [
            [sumBy('pool', 'instance_pool:poolscope_http2_sessions:sum'), '{{pool}} sessions'],
            [sumBy('pool', 'instance_pool:poolscope_http2_streams:sum'), '{{pool}} streams'],
          ],
        },
        {
          title: 'HTTP/2 GOAWAYs and stream resets',
          description:
            'Pools with allowH2 only, per second: GOAWAY frames by error code (no_error is a graceful shutdown, as ' +
            "nginx's keepalive_requests or a reload sends) and streams the upstream reset by code " +
            '(refused_stream is retried for any method; see the Retries panel).',
          unit: 'ops',
          min: 0,
          targets: [
            [
              sumBy('pool, code', `instance_pool_code:poolscope_http2_goaways:rate${w}`) + ' > 0',
              '{{pool}} GOAWAY {{code}}',
            ],
            [
              sumBy('pool, code', `instance_pool_code:poolscope_http2_stream_resets:rate${w}`) + ' > 0',
              '{{pool}} reset {{code}}',
            ],
          ],
        },
        {
          title: 'Retries',
          description: 'Retries by reason, per second.',
          unit: 'ops',
          min: 0,
          targets: [
            [sumBy('pool, reason', `instance_pool_reason:poolscope_request_retries:rate${w}`), '{{pool}} {{reason}}'],
          ],
        },
      ],
    },
    {
      title: 'Requests',
      panels: [
        {
          title: 'Request rate by operation and outcome',
          description:
            'Requests that ran, per second, by operation and outcome (refused requests are in the error panels).',
          unit: 'reqps',
          min: 0,
          targets: [
            [
              sumBy(
                'pool, operation, outcome',
                `instance_pool_operation_outcome:poolscope_request_duration_seconds_count:rate${w}`,
              ),
              '{{pool}} {{operation}} {{outcome}}',
            ],
          ],
        },
        {
          title: 'Error ratio by pool',
          description:
            `Failed ÷ finished requests over ${w}, summed over the selected replicas before dividing. HighErrorRatio fires above ` +
            `${thresholds.errorRatio.ratio * 100} % (the dashed line).`,
          unit: 'percentunit',
          min: 0,
          thresholds: { base: 'green', steps: [[thresholds.errorRatio.ratio, 'red']] },
          targets: [
            [`${sumBy('pool', `instance_pool:poolscope_request_failures:rate${w}`)}\n/ ${finished()}`, '{{pool}}'],
          ],
        },
        {
          title: 'Error ratio by reason',
          description: `Failed ÷ finished requests over ${w}, by failure reason.`,
          unit: 'percentunit',
          min: 0,
          thresholds: { base: 'green', steps: [[thresholds.errorRatio.ratio, 'red']] },
          targets: [
            [
              `${sumBy('pool, reason', `instance_pool_operation_reason:poolscope_request_failures:rate${w}`)}\n/ on (pool) group_left ()\n${finished()}`,
              '{{pool}} {{reason}}',
            ],
          ],
        },
        {
          title: 'Request latency p50 / p95 / p99',
          description:
            `Request duration quantiles over ${w}, from the bucket rates summed over the selected replicas. SlowRequests fires when p95 ` +
            `stays above ${latency.defaultSeconds} s (the dashed line)` +
            Object.entries(latency.byPoolSeconds)
              .map(([pool, seconds]) => `, ${seconds} s for ${pool}`)
              .join('') +
            '.',
          unit: 's',
          min: 0,
          thresholds: { base: 'green', steps: [[latency.defaultSeconds, 'red']] },
          overrides: latencyOverrides,
          targets: ([0.5, 0.95, 0.99] as const).map((phi) => [
            quantile(phi, 'poolscope_request_duration_seconds', 'pool', 'pool_operation'),
            `{{pool}} p${Math.round(phi * 100)}`,
          ]),
        },
        {
          title: 'Average request latency',
          description: `Mean request duration over ${w}: summed durations ÷ summed counts across the selected replicas.`,
          unit: 's',
          min: 0,
          targets: [
            [
              `${sumBy('pool', `instance_pool:poolscope_request_duration_seconds_sum:rate${w}`)}\n/ (${sumBy('pool', `instance_pool:poolscope_request_duration_seconds_count:rate${w}`)} > 0)`,
              '{{pool}}',
            ],
          ],
        },
      ],
    },
    {
      title: 'Upstreams and OpenAI',
      panels: [
        {
          type: 'stat',
          title: 'Upstream health',
          description:
            'The last health check per pool, the least healthy of the selected replicas (min). UpstreamDown fires when it stays down.',
          thresholds: { base: 'red', steps: [[1, 'green']] },
          mappings: [
            {
              type: 'value',
              options: { '0': { text: 'DOWN', color: 'red', index: 0 }, '1': { text: 'UP', color: 'green', index: 1 } },
            },
          ],
          targets: [[`min by (pool) (${q('instance_pool:poolscope_upstream_up:min')})`, '{{pool}}']],
          w: 8,
        },
        {
          title: 'Health check duration p95',
          description: `Health check duration (95th percentile over ${w}, across the selected replicas).`,
          unit: 's',
          min: 0,
          targets: [[quantile(0.95, 'poolscope_health_check_duration_seconds'), '{{pool}}']],
          w: 8,
        },
        {
          title: 'Rate-limit headroom',
          description:
            `Remaining ÷ limit from the upstream's rate-limit headers, the least of the selected replicas (min). ` +
            `OpenAIRateLimitHeadroomLow fires below ${thresholds.rateLimitHeadroom.ratio * 100} % (the dashed line).`,
          unit: 'percentunit',
          min: 0,
          max: 1,
          thresholds: { base: 'red', steps: [[thresholds.rateLimitHeadroom.ratio, 'green']] },
          targets: [
            [
              `min by (pool, limit_type) (${q('instance_pool_limit_type:poolscope_ratelimit_headroom:ratio')})`,
              '{{pool}} {{limit_type}}',
            ],
          ],
          w: 8,
        },
        {
          title: 'OpenAI tokens per second by model',
          description: 'Tokens per second by model and type (prompt, completion), summed over the selected replicas.',
          // Grafana's custom count unit: scaled (K, M) and labelled tokens/s.
          unit: 'count:tokens/s',
          min: 0,
          targets: [
            [
              sumBy('model, token_type', `instance_pool_model_token_type:poolscope_openai_tokens:rate${w}`),
              '{{model}} {{token_type}}',
            ],
          ],
        },
        {
          title: 'OpenAI time to first token p95',
          description: `Time to the first streamed token (95th percentile over ${w}, across the selected replicas).`,
          unit: 's',
          min: 0,
          targets: [
            [quantile(0.95, 'poolscope_openai_time_to_first_token_seconds', 'model', 'pool_model'), '{{model}}'],
          ],
        },
      ],
    },
    {
      title: 'Postgres',
      panels: [
        {
          title: 'Postgres connections: active / idle / connecting vs max',
          description:
            'Database connections by state, the pool maximum, and queries waiting for a connection, summed over the selected replicas.',
          unit: 'short',
          min: 0,
          targets: [
            [sumBy('pool, state', 'instance_pool_state:poolscope_pool_connections:sum', db), '{{pool}} {{state}}'],
            [sumBy('pool', 'instance_pool:poolscope_pool_connections_max:sum', db), '{{pool}} max'],
            [sumBy('pool', 'instance_pool:poolscope_pool_pending_requests:sum', db), '{{pool}} waiting'],
          ],
        },
        {
          title: 'Postgres acquire wait p95',
          description:
            `Time from query()/run()/pool.connect() to a client in hand (95th percentile over ${w}), new connections included. ` +
            'Waits reaching DATABASE_CONNECTION_TIMEOUT_MS fail as acquire_timeout (PoolAcquireTimeouts).',
          unit: 's',
          min: 0,
          targets: [[quantile(0.95, 'poolscope_pool_acquire_wait_seconds', 'pool', 'pool', db), '{{pool}}']],
        },
        {
          title: 'Postgres connection usage p95',
          description: `How long a client is held between checkout and release (95th percentile over ${w}).`,
          unit: 's',
          min: 0,
          targets: [[quantile(0.95, 'poolscope_pool_connection_usage_seconds', 'pool', 'pool', db), '{{pool}}']],
        },
        {
          title: 'Postgres query p95 by operation',
          description: `Query duration by operation (run() names and SQL verbs), 95th percentile over ${w}.`,
          unit: 's',
          min: 0,
          targets: [
            [
              quantile(0.95, 'poolscope_request_duration_seconds', 'pool, operation', 'pool_operation', db),
              '{{pool}} {{operation}}',
            ],
          ],
        },
        {
          title: 'Postgres connection create p95',
          description: `Time to open a new database connection (95th percentile over ${w}).`,
          unit: 's',
          min: 0,
          targets: [[quantile(0.95, 'poolscope_pool_connection_create_seconds', 'pool', 'pool', db), '{{pool}}']],
        },
        {
          title: 'Postgres acquire timeouts',
          description:
            "Checkouts that gave up waiting for a connection, per second, whoever asked (the app's own pool.connect() too).",
          unit: 'reqps',
          min: 0,
          targets: [[sumBy('pool', `instance_pool:poolscope_pool_acquire_timeouts:rate${w}`, db), '{{pool}}']],
        },
        {
          type: 'stat',
          title: 'Postgres connection leaks (last hour)',
          description:
            'Clients held past the leak-detection threshold in the last hour, summed over the selected replicas (PostgresConnectionLeak).',
          unit: 'short',
          thresholds: { base: 'green', steps: [[1, 'red']] },
          targets: [[sumBy('pool', 'instance_pool:poolscope_pool_leaks:increase1h', db), '{{pool}}']],
          w: 24,
          h: 6,
        },
      ],
    },
    {
      title: 'Fleet',
      panels: [
        {
          title: 'Fleet leases in use vs cap',
          description:
            'Fleet budgets in Redis (FLEET_REDIS_URL with <UPSTREAM>_FLEET_MAX_CONCURRENT, e.g. OPENAI_FLEET_MAX_CONCURRENT, ' +
            "or a pool's fleet option): leases held, poolscope_fleet_leases summed over the selected replicas, against " +
            'the fleet-wide cap, poolscope_fleet_max_concurrent (the same in every replica, so the max; the dashed line). ' +
            fleetWide,
          unit: 'short',
          min: 0,
          overrides: [dashedSeries('cap')],
          targets: [
            [sumBy('pool', 'instance_pool:poolscope_fleet_leases:sum'), '{{pool}} in use'],
            [`max by (pool) (${q('instance_pool:poolscope_fleet_max_concurrent:max')})`, '{{pool}} cap'],
          ],
        },
        {
          title: 'Fleet use of the cap',
          description:
            'Leases held ÷ the fleet-wide cap: sum of poolscope_fleet_leases over the selected replicas ÷ the max of ' +
            `poolscope_fleet_max_concurrent. FleetAtCap fires when it stays at ${fleetAtCap.ratio * 100} % (the dashed ` +
            `line) in 90 % of ${fleetAtCap.window}, for ${fleetAtCap.for}: requests wait for leases. ${fleetWide}`,
          unit: 'percentunit',
          min: 0,
          thresholds: { base: 'green', steps: [[fleetAtCap.ratio, 'red']] },
          targets: [
            [
              `${sumBy('pool', 'instance_pool:poolscope_fleet_leases:sum')}\n/ (max by (pool) (${q('instance_pool:poolscope_fleet_max_concurrent:max')}) > 0)`,
              '{{pool}}',
            ],
          ],
        },
        {
          title: 'Fleet tokens per minute vs budget',
          description:
            'Fleet token budgets (OPENAI_FLEET_TOKENS_PER_MINUTE, or fleet.tokensPerMinute): tokens spent per minute, ' +
            'poolscope_openai_tokens_total summed over the selected replicas (its rate × 60), against the budget, ' +
            'poolscope_fleet_tokens_per_minute (the same in every replica, so the max; the dashed line), and what the ' +
            "fleet's current minute has left, poolscope_fleet_tokens_remaining (the least a replica last read; 0 while " +
            'OpenAI said x-ratelimit-remaining-tokens: 0). Requests wait while nothing is left. ' +
            fleetWide,
          unit: 'short',
          min: 0,
          overrides: [dashedSeries('budget')],
          targets: [
            [
              `${sumBy('pool', `instance_pool_model_token_type:poolscope_openai_tokens:rate${w}`)} * 60\nand on (pool) max by (pool) (${q('instance_pool:poolscope_fleet_tokens_per_minute:max')})`,
              '{{pool}} spent per minute',
            ],
            [`max by (pool) (${q('instance_pool:poolscope_fleet_tokens_per_minute:max')})`, '{{pool}} budget'],
            [`min by (pool) (${q('instance_pool:poolscope_fleet_tokens_remaining:min')})`, '{{pool}} left this minute'],
          ],
        },
        {
          title: 'Fleet budget wait p95',
          description:
            'Time a request waited for its fleet budget in Redis after its local slot (tokens per minute, then a lease), ' +
            `poolscope_fleet_acquire_wait_seconds (95th percentile over ${w}, across the selected replicas); part of ` +
            'the acquire wait above. It grows when the fleet is at its cap (FleetAtCap) or its minute of tokens is ' +
            'spent; with the local wait it is bounded by acquireMs (connectionTimeoutMs for Postgres), past which ' +
            'requests fail as acquire_timeout.',
          unit: 's',
          min: 0,
          targets: [[quantile(0.95, 'poolscope_fleet_acquire_wait_seconds'), '{{pool}}']],
        },
        {
          title: 'Fleet errors by reason',
          description:
            'poolscope_fleet_errors_total per second, summed over the selected replicas: unavailable (Redis unreachable ' +
            'when admitting a request or counting its tokens: it ran under the local bound only, or failed with ' +
            'FLEET_ON_UNAVAILABLE=reject), ' +
            'renewal_failed, lease_lost (Redis lost a held lease), release_failed. FleetRedisUnavailable fires while ' +
            'unavailable or renewal_failed keep counting: check FLEET_REDIS_URL and the Redis server.',
          unit: 'ops',
          min: 0,
          targets: [
            [sumBy('pool, reason', `instance_pool_reason:poolscope_fleet_errors:rate${w}`), '{{pool}} {{reason}}'],
          ],
        },
      ],
    },
    {
      title: 'Service',
      panels: [
        {
          type: 'stat',
          title: 'poolscope instances scraped',
          description: 'Targets of the poolscope scrape job that answered their last scrape (PoolscopeTargetDown).',
          targets: [[`sum(${selectorOf('up', targetSelector, ...replicas)})`, 'up']],
          w: 8,
        },
        {
          type: 'stat',
          title: 'Version and mode',
          description: 'Replicas by poolscope version and mode.',
          targets: [
            [
              `count by (version, mode) (${selectorOf('poolscope_build_info', selector, ...replicas)})`,
              '{{version}} ({{mode}})',
            ],
          ],
          w: 16,
        },
      ],
    },
  ];

  const replicaSource = selectorOf('poolscope_pool_connections_max', selector);
  return {
    annotations: {
      list: [
        {
          builtIn: 1,
          datasource: { type: 'grafana', uid: '-- Grafana --' },
          enable: true,
          hide: true,
          iconColor: 'rgba(0, 211, 255, 1)',
          name: 'Annotations & Alerts',
          type: 'dashboard',
        },
      ],
    },
    description:
      'poolscope: bounded, observable upstream connection pools (Supabase, Pinecone, OpenAI, Postgres). GENERATED from src/health ' +
      '(scripts/generate-ops-assets.mjs); reads the recording rules of prometheus/rules/recording.yml.',
    editable: true,
    graphTooltip: 1,
    id: null,
    links: [
      {
        title: 'Runbooks',
        tooltip: 'What to do when a poolscope alert fires',
        type: 'link',
        url: runbooks,
        icon: 'doc',
        tags: [],
        asDropdown: false,
        includeVars: false,
        keepTime: false,
        targetBlank: true,
      },
    ],
    panels: layout(sections),
    refresh: '30s',
    schemaVersion: 39,
    tags: ['poolscope'],
    templating: {
      list: [
        {
          name: 'datasource',
          label: 'Data source',
          type: 'datasource',
          query: 'prometheus',
          multi: false,
          includeAll: false,
          current: { selected: false, text: 'Prometheus', value: 'prometheus' },
          hide: 0,
          options: [],
          refresh: 1,
          regex: '',
        },
        queryVariable('job', 'Job', `label_values(${replicaSource}, job)`, {
          description: 'Scrape jobs that expose poolscope pools.',
        }),
        queryVariable(
          'instance',
          'Instance',
          `label_values(${selectorOf('poolscope_pool_connections_max', selector, 'job=~"$job"')}, instance)`,
          {
            description: 'Replicas: pick one to see it alone; All aggregates every replica of the selected jobs.',
          },
        ),
        queryVariable(
          'pool',
          'Pool',
          `label_values(${selectorOf('poolscope_pool_connections_max', selector, ...replicas)}, pool)`,
        ),
        queryVariable(
          'db_pool',
          'Database pool',
          `label_values(${selectorOf('poolscope_pool_connection_usage_seconds_count', selector, ...replicas)}, pool)`,
          {
            // No allValue: All expands to the listed pools, so the Postgres row never shows an HTTP pool.
            allValue: undefined,
            description:
              'Direct database (pg) pools: the pools with a connection-usage histogram. Filters the Postgres row.',
          },
        ),
      ],
    },
    time: { from: 'now-1h', to: 'now' },
    timepicker: {},
    timezone: 'browser',
    title: 'poolscope — connection pools',
    uid: DASHBOARD_UID,
    version: 1,
    weekStart: '',
  };
}

/** The text of `grafana/dashboards/poolscope.json`. Deterministic: same arguments, byte-identical output. */
export function renderDashboard(thresholds: Thresholds = THRESHOLDS, options: AssetOptions = {}): string {
  // JSON.stringify drops the `allValue: undefined` that removes db_pool's `.*`.
  return `${JSON.stringify(poolscopeDashboard(thresholds, options), null, 2)}\n`;
}
