/**
 * The end-to-end proof, on the real thing: the built service (`node dist/bin/poolscope.js`) in demo
 * mode — its simulators, its SDK workload and bursts, the local PostgreSQL — scraped every second by a real
 * Prometheus loaded with the repo's recording and alerting rules (`for:` cut to 0s), routed by a real Alertmanager
 * with the repo's config to a webhook on 127.0.0.1:0 (see shipped-stack.ts).
 *
 * One live run of ~10–25 s: the first Prometheus scrape comes ~6 s after it starts, and the alert rides on the
 * demo's first bursts (supabase ~3 s after listening, openai ~20 s). The demo's Postgres pool runs under a fleet
 * budget in a private redis-server, so the fleet's recording rules, and the panels reading them, are proven live.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALERT_NAMES } from '../../src/health/alert-rules.js';
import { POOL_SIZE_VARIABLES } from '../../src/health/thresholds.js';
import { dashboardExpressions, recordingRuleNames } from './assets.js';
import { buildIfStale, startDemoService, type DemoService } from './demo-service.js';
import { E2E_SATURATION_WINDOW, startShippedStack, type ShippedStack } from './shipped-stack.js';
import { hasBinaries, run, waitUntil, type PromSample } from '../support/prometheus.js';
import { testDatabaseUrl } from '../support/database.js';
import { hasRedis, startRedis, type RedisServer } from '../support/redis.js';

const available = hasBinaries('prometheus', 'alertmanager', 'promtool');
// Only asked when the stack runs: hasRedis() says loudly that the fleet rules go unproven without redis-server.
const withFleet = available && hasRedis();

/** The demo's pools: three SDK upstreams, Pinecone's control plane, and the local PostgreSQL. */
const DEMO_POOLS = ['openai', 'pinecone', 'pinecone_control', 'postgres', 'supabase'];
/** Pools with a health check: Pinecone is checked on its data plane (its host is resolved at start). */
const CHECKED_POOLS = DEMO_POOLS.filter((pool) => pool !== 'pinecone_control');

/**
 * Recording rules without a single series in this run, and why: the token budget's always, the rest of the fleet's
 * when redis-server is missing (CI installs it, and hasRedis() fails the run there without it). Their panels are
 * exempt below too; promtool proves their values (alerts/tests/recording.test.yml).
 */
const NO_DEMO_SERIES: Record<string, string> = {
  ...Object.fromEntries(
    ['instance_pool:poolscope_fleet_tokens_per_minute:max', 'instance_pool:poolscope_fleet_tokens_remaining:min'].map(
      (name) => [
        name,
        "the demo's OpenAI is a simulator: a configured OPENAI_FLEET_TOKENS_PER_MINUTE would spend the real " +
          "organisation's budget in Redis on simulated traffic, so the demo never has a token budget",
      ],
    ),
  ),
  ...Object.fromEntries(
    [
      'instance_pool:poolscope_http2_sessions:sum',
      'instance_pool:poolscope_http2_streams:sum',
      'instance_pool_code:poolscope_http2_goaways:rate5m',
      'instance_pool_code:poolscope_http2_stream_resets:rate5m',
    ].map((name) => [
      name,
      "the demo's simulators speak HTTP/1.1, so no demo pool has allowH2 (test/pool.h2.test.ts proves the series)",
    ]),
  ),
  ...(withFleet
    ? {}
    : Object.fromEntries(
        [
          'instance_pool:poolscope_fleet_leases:sum',
          'instance_pool:poolscope_fleet_max_concurrent:max',
          'instance_pool_le:poolscope_fleet_acquire_wait_seconds_bucket:rate5m',
          'instance_pool_reason:poolscope_fleet_errors:rate5m',
        ].map((name) => [name, 'redis-server is not installed, so the demo runs without a fleet budget']),
      )),
};

/**
 * Dashboard queries the demo may leave empty, by the recording rule they read, and why. Every other recording rule
 * returns data live; these panels' values are proven by `promtool test rules` (alerts/tests/recording.test.yml).
 */
const NO_DEMO_DATA: Record<string, string> = {
  'instance_pool_le:poolscope_pool_connection_create_seconds_bucket:rate5m':
    'the demo opens its database connections (min) before Prometheus first scrapes, and its HTTP pools open theirs in the first seconds: the p95 panel needs a creation while Prometheus watches (its bucket rates are all 0 otherwise, and the quantile of nothing is NaN), which the demo does not always give',
  ...NO_DEMO_SERIES,
};

/** Data means at least one sample with a number: a quantile over pools without traffic is NaN, and that is no proof. */
const hasData = (samples: PromSample[]): boolean => samples.some((sample) => !Number.isNaN(Number(sample.value[1])));
const exempt = (expr: string): string | undefined => Object.keys(NO_DEMO_DATA).find((name) => expr.includes(name));

describe.skipIf(!available)('the shipped Prometheus stack against the real service in demo mode', () => {
  let service: DemoService;
  let stack: ShippedStack;
  let redis: RedisServer | undefined;
  const at: Record<string, number> = {};
  let alertedPool = '';
  const since = (mark: string): number => at[mark]! - at.spawn!;

  beforeAll(async () => {
    at.buildStart = Date.now();
    const built = await buildIfStale();
    at.spawn = Date.now();
    if (built) console.log(`built dist in ${at.spawn - at.buildStart} ms`);
    // The demo keeps a configured database's fleet budget: its Postgres pool takes a lease in this Redis per
    // checkout. A cap above the pool's 4 connections never binds: a checkout waits only for the Redis round trip.
    redis = withFleet ? await startRedis() : undefined;
    // HEALTH_INTERVAL_SECONDS=1: upstream_up and the health-check histogram move every second, like the scrapes.
    const starting = startDemoService({
      HEALTH_INTERVAL_SECONDS: '1',
      LOG_LEVEL: 'info',
      DATABASE_URL: testDatabaseUrl(),
      ...(redis && { FLEET_REDIS_URL: redis.url, DATABASE_FLEET_MAX_CONCURRENT: '8' }),
    }).then((started) => {
      at.listening = Date.now();
      return (service = started);
    });
    // Receiver and Alertmanager start while the service boots; Prometheus as soon as it listens.
    const stacking = startShippedStack(starting.then((started) => started.target));
    [, stack] = await Promise.all([starting, stacking]);
    at.stackReady = Date.now();
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    const code = await service?.stop();
    if (code !== undefined && code !== 0)
      console.warn(`poolscope exited ${code} on SIGTERM; stderr: ${service.stderr()}`);
    await redis?.close();
    if (at.webhook) {
      console.log(
        `live e2e: spawn → listening ${since('listening')} ms, → Prometheus and Alertmanager ready ${since('stackReady')} ms, ` +
          `→ first scrape ${since('firstScrape')} ms, → webhook ${since('webhook')} ms (HighConnectionPoolUtilization, pool ${alertedPool})`,
      );
    }
  });

  /** Resolves once Prometheus has scraped the service (~6 s after Prometheus starts); every test waits for it. */
  let scraped: Promise<void> | undefined;
  const firstScrape = (): Promise<void> =>
    (scraped ??= waitUntil(async () => (await stack.prometheus.query('up{job="poolscope"} == 1')).length === 1, {
      timeoutMs: 20_000,
      intervalMs: 100,
      what: 'the first successful scrape of the poolscope job',
    }).then(() => {
      at.firstScrape = Date.now();
    }));

  it('scrapes the service (up == 1) and loads every recording and alerting rule', async () => {
    await firstScrape();
    const rules = await stack.prometheus.api<{
      groups: Array<{ rules: Array<{ name: string; type: string; health: string }> }>;
    }>('rules');
    const loaded = rules.groups.flatMap((group) => group.rules);
    expect(
      loaded
        .filter((rule) => rule.type === 'recording')
        .map((rule) => rule.name)
        .sort(),
    ).toEqual([...recordingRuleNames()].sort());
    expect(loaded.filter((rule) => rule.type === 'alerting').map((rule) => rule.name)).toEqual([...ALERT_NAMES]);
    expect(loaded.filter((rule) => rule.health === 'err')).toEqual([]);
  }, 30_000);

  it('serves a /metrics that promtool check metrics has nothing to say about', async () => {
    await firstScrape();
    const exposition = await (await fetch(`${service.url}/metrics`)).text();
    expect(exposition).toMatch(/^poolscope_build_info\{version="[^"]+",mode="demo"\} 1$/m);
    const result = run('promtool', ['check', 'metrics'], undefined, exposition);
    // Lint findings go to stderr, with exit code 3.
    expect({ status: result.status, findings: (result.stdout + result.stderr).trim() }).toEqual({
      status: 0,
      findings: '',
    });
  });

  it("offers the demo's pools in $pool, and its Postgres pool in $db_pool", async () => {
    await firstScrape();
    const values = async (metric: string) =>
      (await stack.prometheus.api<string[]>(`label/pool/values?match[]=${encodeURIComponent(metric)}`)).sort();
    expect(await values('poolscope_pool_connections_max')).toEqual(DEMO_POOLS);
    await waitUntil(async () => (await values('poolscope_pool_connection_usage_seconds_count')).length > 0, {
      timeoutMs: 10_000,
      what: 'a database pool in $db_pool (the demo runs on the test database)',
    });
    expect(await values('poolscope_pool_connection_usage_seconds_count')).toEqual(['postgres']);
  }, 15_000);

  it('returns data for every recording rule', async () => {
    await firstScrape();
    const all = recordingRuleNames();
    expect(
      Object.keys(NO_DEMO_DATA).filter((name) => !all.includes(name)),
      'exemptions name existing rules',
    ).toEqual([]);
    for (const name of Object.keys(NO_DEMO_SERIES)) console.log(`not proven live: ${name} — ${NO_DEMO_SERIES[name]}`);
    const names = all.filter((name) => !(name in NO_DEMO_SERIES));
    let empty: string[] = names;
    await waitUntil(
      async () => {
        const results = await Promise.all(
          names.map(async (name) => [name, hasData(await stack.prometheus.query(name))] as const),
        );
        empty = results.filter(([, data]) => !data).map(([name]) => name);
        return empty.length === 0;
      },
      {
        timeoutMs: 25_000,
        what: 'every recording rule to return data',
        describe: () => `still empty: ${empty.join(', ')}`,
      },
    );
  }, 30_000);

  it("returns data for every dashboard panel query, with $job and $pool at All, $instance at the demo's replica and $db_pool at the database pools", async () => {
    await firstScrape();
    const databasePools = await stack.prometheus.api<string[]>(
      `label/pool/values?match[]=${encodeURIComponent('poolscope_pool_connection_usage_seconds_count')}`,
    );
    // Grafana's All: `.*` for $job and $pool (their allValue), the listed values for $db_pool (it has none);
    // $instance picks the demo's one replica, as a user isolating it would.
    const all = (expr: string) =>
      expr
        .replaceAll('$db_pool', `(${databasePools.join('|')})`)
        .replaceAll('$pool', '.*')
        .replaceAll('$job', '.*')
        .replaceAll('$instance', service.target);
    const expressions = dashboardExpressions()
      .map(({ panel, expr }) => ({ panel, expr: all(expr) }))
      .filter(({ expr }) => !exempt(expr));
    expect(expressions.length).toBeGreaterThan(25);
    let empty: string[] = [];
    await waitUntil(
      async () => {
        const data = await Promise.all(
          expressions.map(async ({ expr }) => hasData(await stack.prometheus.query(expr))),
        );
        empty = expressions.filter((_, i) => !data[i]).map(({ panel, expr }) => `${panel}: ${expr}`);
        return empty.length === 0;
      },
      {
        timeoutMs: 25_000,
        what: 'every panel query to return data',
        describe: () => `still empty:\n${empty.join('\n')}`,
      },
    );
    // One line per panel, however many of its queries read an exempt rule.
    const notProven = new Set(
      dashboardExpressions()
        .filter(({ expr }) => exempt(expr))
        .map(({ panel, expr }) => `not proven live: ${panel} — ${NO_DEMO_DATA[exempt(expr)!]}`),
    );
    for (const line of notProven) console.log(line);
  }, 30_000);

  it.runIf(withFleet)(
    "shows the demo's Postgres fleet budget in the Fleet row: the cap it was given, alone",
    async () => {
      await firstScrape();
      const cap = dashboardExpressions().find(
        ({ panel, expr }) => panel === 'Fleet leases in use vs cap' && expr.startsWith('max'),
      );
      const query = cap!.expr.replaceAll('$job', '.*').replaceAll('$instance', '.*').replaceAll('$pool', '.*');
      let samples: PromSample[] = [];
      await waitUntil(async () => (samples = await stack.prometheus.query(query)).length > 0, {
        timeoutMs: 10_000,
        what: 'the fleet cap, recorded from the first scrapes',
      });
      expect(samples.map((sample) => [sample.metric, sample.value[1]])).toEqual([[{ pool: 'postgres' }, '8']]);
    },
  );

  it('delivers HighConnectionPoolUtilization of the pool a demo burst saturates to the warning webhook, with its labels and annotations', async () => {
    // The first burst (supabase, 24 requests on 4 connections, ~3.5 s) may come before the first scrape; the
    // next (openai, on 3) comes ~20 s after listening.
    const notification = await stack.webhook.waitFor(
      (n) =>
        n.body.status === 'firing' && n.body.alerts.some((a) => a.labels.alertname === 'HighConnectionPoolUtilization'),
      Math.max(1_000, at.listening! + 40_000 - Date.now()),
    );
    at.webhook = notification.receivedAt;
    const alert = notification.body.alerts.find((a) => a.labels.alertname === 'HighConnectionPoolUtilization')!;
    const pool = alert.labels.pool!;
    alertedPool = pool;
    expect(['supabase', 'openai', 'pinecone', 'postgres']).toContain(pool);
    expect(notification.path).toBe('/warning');
    expect(notification.body.receiver).toBe('poolscope-warning');
    expect(notification.body.groupLabels).toEqual({ alertname: 'HighConnectionPoolUtilization', pool });
    expect(alert.labels).toEqual({
      alertname: 'HighConnectionPoolUtilization',
      severity: 'warning',
      job: 'poolscope',
      instance: service.target,
      pool,
    });
    // A demo pool is small (3 or 4 connections): above 80 % means all of them.
    expect(alert.annotations).toEqual({
      summary: `Connection pool ${pool} is more than 80% utilized`,
      description:
        `100% of the ${pool} pool's connections on ${service.target} have been in use in at least 90 % of the last ` +
        `${E2E_SATURATION_WINDOW}, for more than 5m; requests will start to queue. Consider increasing ${POOL_SIZE_VARIABLES[pool]}.`,
      runbook_url: 'https://github.com/poolscope/poolscope/blob/main/docs/runbooks/HighConnectionPoolUtilization.md',
    });
  }, 45_000);

  it('delivers PoolQueueBuildingUp of the same burst as its own notification, with the requests waiting', async () => {
    const notification = await stack.webhook.waitFor(
      (n) =>
        n.body.status === 'firing' &&
        n.body.groupLabels.alertname === 'PoolQueueBuildingUp' &&
        n.body.groupLabels.pool === alertedPool,
      Math.max(1_000, at.listening! + 40_000 - Date.now()),
    );
    const [alert] = notification.body.alerts;
    expect(notification.body.receiver).toBe('poolscope-warning');
    expect(alert?.labels).toEqual({
      alertname: 'PoolQueueBuildingUp',
      severity: 'warning',
      job: 'poolscope',
      instance: service.target,
      pool: alertedPool,
    });
    // 24 requests on 3 or 4 connections: up to ~20 waiting, whatever the scrape caught.
    expect(alert?.annotations.summary).toBe(`Requests keep queueing in pool ${alertedPool}`);
    expect(alert?.annotations.description).toMatch(
      new RegExp(
        `^At least [\\d.]+ requests were waiting for a slot or a connection in the ${alertedPool} pool on ` +
          `${service.target.replaceAll('.', '\\.')} in at least 90 % of the last ${E2E_SATURATION_WINDOW}, for more than 5m\\. ` +
          `Consider increasing ${POOL_SIZE_VARIABLES[alertedPool]}, or find out why`,
      ),
    );
  }, 45_000);

  it('scrapes the service without a single failure and connects to every demo upstream without one: no PoolscopeTargetDown or ConnectionFailures, ever', async () => {
    await firstScrape();
    await waitUntil(
      async () => (await stack.prometheus.query('poolscope_upstream_up')).length === CHECKED_POOLS.length,
      {
        timeoutMs: 10_000,
        what: 'a health check of every demo upstream',
      },
    );
    // Every rule has been evaluated every second with `for: 0s` since the first scrape, and ALERTS keeps every
    // alert that fired, so a count over the whole run catches one that came and went.
    // Not UpstreamDown: health checks skip the pool's queue (pool.probe), but a burst slows the simulator to 600 ms
    // per request, so a check can still see a slow upstream; the shipped `for: 1m` outlasts a burst.
    const seconds = Math.ceil((Date.now() - at.stackReady!) / 1000) + 5;
    const trouble = await stack.prometheus.query(
      `count by (alertname, pool) (count_over_time(ALERTS{alertname=~"PoolscopeTargetDown|ConnectionFailures"}[${seconds}s]))`,
    );
    expect(trouble.map((sample) => sample.metric)).toEqual([]);
    expect(await stack.prometheus.query(`min_over_time(up{job="poolscope"}[${seconds}s]) == 1`)).toHaveLength(1);
    // Each upstream passed a health check during the run.
    const up = await stack.prometheus.query(`max_over_time(poolscope_upstream_up[${seconds}s])`);
    expect(up.map((sample) => [sample.metric.pool, sample.value[1]]).sort()).toEqual(
      CHECKED_POOLS.map((pool) => [pool, '1']),
    );
  });
});
