/**
 * The shipped operations assets against a real Prometheus and Alertmanager: the repo's prometheus.yml,
 * recording rules, alert rules (a copy with `for: 1s`), alertmanager.yml (webhooks pointed here) and
 * dashboard, scraping a test-only metrics server every second.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { HOT_POOL, FAKE_POOLS, startFakePoolscope, type FakePoolscope } from './fake-poolscope.js';
import { dashboardExpressions, recordingRuleNames, REPO } from './assets.js';
import {
  hasBinaries,
  startAlertmanager,
  startPrometheus,
  startWebhookReceiver,
  waitUntil,
  type RunningBinary,
  type RunningPrometheus,
  type WebhookReceiver,
} from '../support/prometheus.js';

const available = hasBinaries('prometheus', 'alertmanager');

interface AlertmanagerRoute {
  group_wait?: string;
  group_interval?: string;
  repeat_interval?: string;
  routes?: AlertmanagerRoute[];
}

/** Alertmanager's config with every webhook sent to `url` (path kept) and timers short enough for a test. */
function testAlertmanagerConfig(url: string): unknown {
  const config = parse(readFileSync(join(REPO, 'alertmanager/alertmanager.yml'), 'utf8')) as {
    route: AlertmanagerRoute;
    receivers: Array<{ webhook_configs?: Array<{ url: string }> }>;
  };
  const shorten = (route: AlertmanagerRoute): void => {
    if (route.group_wait !== undefined) route.group_wait = '1s';
    if (route.group_interval !== undefined) route.group_interval = '1s';
    if (route.repeat_interval !== undefined) route.repeat_interval = '1m';
    route.routes?.forEach(shorten);
  };
  shorten(config.route);
  for (const receiver of config.receivers) {
    for (const webhook of receiver.webhook_configs ?? []) webhook.url = new URL(new URL(webhook.url).pathname, url).href;
  }
  return config;
}

/** The repo's alert rules with every `for:` cut to 1s: same expressions, labels and annotations. */
function alertRulesWithShortFor(): string {
  const rules = parse(readFileSync(join(REPO, 'alerts/poolscope.rules.yml'), 'utf8')) as {
    groups: Array<{ rules: Array<{ for?: string }> }>;
  };
  for (const group of rules.groups) for (const rule of group.rules) rule.for = '1s';
  return stringify(rules);
}

/** The repo's prometheus.yml, scraping `target` every second and alerting `alertmanager`. */
function testPrometheusConfig(target: string, alertmanager: string): unknown {
  const config = parse(readFileSync(join(REPO, 'prometheus/prometheus.yml'), 'utf8')) as {
    global: Record<string, string>;
    rule_files: string[];
    alerting: { alertmanagers: Array<{ static_configs: Array<{ targets: string[] }> }> };
    scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
  };
  config.global.scrape_interval = '1s';
  config.global.evaluation_interval = '1s';
  expect(config.rule_files).toEqual(['rules/recording.yml', '../alerts/poolscope.rules.yml']);
  config.rule_files = ['rules/recording.yml', 'alerts/poolscope.rules.yml'];
  config.alerting.alertmanagers = [{ static_configs: [{ targets: [alertmanager] }] }];
  const job = config.scrape_configs.find((scrape) => scrape.job_name === 'poolscope');
  expect(job, 'prometheus.yml has a poolscope scrape job').toBeDefined();
  job!.static_configs = [{ targets: [target] }];
  // Nothing listens on the compose stack's localhost:9090 here.
  config.scrape_configs = [job!];
  return config;
}

describe.skipIf(!available)('the shipped Prometheus stack, live', () => {
  let fake: FakePoolscope;
  let webhook: WebhookReceiver;
  let alertmanager: RunningBinary;
  let prometheus: RunningPrometheus;
  const startedAt = Date.now();

  beforeAll(async () => {
    fake = await startFakePoolscope();
    webhook = await startWebhookReceiver();
    alertmanager = await startAlertmanager({ config: testAlertmanagerConfig(webhook.url) });
    prometheus = await startPrometheus({
      config: testPrometheusConfig(fake.target, `127.0.0.1:${alertmanager.port}`),
      files: {
        'rules/recording.yml': readFileSync(join(REPO, 'prometheus/rules/recording.yml'), 'utf8'),
        'alerts/poolscope.rules.yml': alertRulesWithShortFor(),
      },
    });
  }, 30_000);

  afterAll(async () => {
    await prometheus?.stop();
    await alertmanager?.stop();
    await webhook?.close();
    await fake?.close();
  });

  it('scrapes the poolscope job and loads every recording and alerting rule', async () => {
    await waitUntil(async () => (await prometheus.query('up{job="poolscope"} == 1')).length === 1, {
      timeoutMs: 20_000,
      what: 'the first successful scrape of the poolscope job',
    });
    const rules = await prometheus.api<{ groups: Array<{ rules: Array<{ name: string; type: string; health: string }> }> }>('rules');
    const loaded = rules.groups.flatMap((group) => group.rules);
    expect(loaded.filter((rule) => rule.type === 'recording').map((rule) => rule.name).sort()).toEqual([...recordingRuleNames()].sort());
    expect(loaded.filter((rule) => rule.type === 'alerting')).toHaveLength(9);
  }, 30_000);

  it('returns data for every recording rule', async () => {
    const names = recordingRuleNames();
    let empty: string[] = names;
    await waitUntil(
      async () => {
        const results = await Promise.all(names.map(async (name) => [name, (await prometheus.query(name)).length] as const));
        empty = results.filter(([, count]) => count === 0).map(([name]) => name);
        return empty.length === 0;
      },
      { timeoutMs: 25_000, what: 'every recording rule to return data', describe: () => `still empty: ${empty.join(', ')}` },
    );
  }, 30_000);

  it('returns data for every dashboard panel query, with the $pool variable at All', async () => {
    const expressions = dashboardExpressions().map(({ panel, expr }) => ({ panel, expr: expr.replaceAll('$pool', '.*') }));
    expect(expressions.length).toBeGreaterThan(20);
    let empty: string[] = [];
    await waitUntil(
      async () => {
        const counts = await Promise.all(expressions.map(async ({ expr }) => (await prometheus.query(expr)).length));
        empty = expressions.filter((_, i) => counts[i] === 0).map(({ panel, expr }) => `${panel}: ${expr}`);
        return empty.length === 0;
      },
      { timeoutMs: 25_000, what: 'every panel query to return data', describe: () => `still empty:\n${empty.join('\n')}` },
    );
  }, 30_000);

  it('offers every pool in the $pool variable (label_values(poolscope_pool_connections_max, pool))', async () => {
    const values = await prometheus.api<string[]>(`label/pool/values?match[]=${encodeURIComponent('poolscope_pool_connections_max')}`);
    expect(values.sort()).toEqual(Object.keys(FAKE_POOLS).sort());
  });

  it('delivers HighConnectionPoolUtilization for the saturated pool to the warning webhook, with labels and annotations', async () => {
    const notification = await webhook.waitFor(
      (n) => n.body.status === 'firing' && n.body.alerts.some((a) => a.labels.alertname === 'HighConnectionPoolUtilization'),
      25_000,
    );
    console.log(`spawn → webhook: ${Date.now() - startedAt} ms after the stack started`);
    expect(notification.path).toBe('/warning');
    expect(notification.body.receiver).toBe('poolscope-warning');
    expect(notification.body.groupLabels).toEqual({ alertname: 'HighConnectionPoolUtilization', pool: HOT_POOL });
    const alert = notification.body.alerts.find((a) => a.labels.alertname === 'HighConnectionPoolUtilization');
    expect(alert?.labels).toEqual({
      alertname: 'HighConnectionPoolUtilization',
      severity: 'warning',
      job: 'poolscope',
      instance: fake.target,
      pool: HOT_POOL,
    });
    expect(alert?.annotations).toEqual({
      summary: 'Connection pool supabase is more than 80% utilized',
      description:
        `90% of the supabase pool's connections on ${fake.target} have been in use for more than 5m; ` +
        'requests will start to queue. Consider increasing SUPABASE_POOL_SIZE.',
      runbook_url: 'https://github.com/poolscope/poolscope/blob/main/docs/runbooks/HighConnectionPoolUtilization.md',
    });
  }, 30_000);

  it('raises no other alert on otherwise healthy traffic (2.9 % errors, fast, headroom left, upstreams up)', async () => {
    // By now every rule has been evaluated many times with `for: 1s`: anything true would be firing.
    const firing = await prometheus.query('ALERTS{alertstate="firing"}');
    expect(firing.map((sample) => `${sample.metric.alertname}/${sample.metric.pool}`)).toEqual([`HighConnectionPoolUtilization/${HOT_POOL}`]);
    const pending = await prometheus.query('ALERTS{alertstate="pending"}');
    expect(pending).toEqual([]);
  });
});
