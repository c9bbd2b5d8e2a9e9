/**
 * The shipped operations assets against a real Prometheus and Alertmanager (see shipped-stack.ts), scraping a
 * test-only metrics server every second.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOT_POOL, FAKE_POOLS, startFakePoolscope, type FakePoolscope } from './fake-poolscope.js';
import { dashboardExpressions, recordingRuleNames } from './assets.js';
import { startShippedStack, type ShippedStack } from './shipped-stack.js';
import { hasBinaries, waitUntil } from '../support/prometheus.js';

const available = hasBinaries('prometheus', 'alertmanager');

describe.skipIf(!available)('the shipped Prometheus stack, live', () => {
  let fake: FakePoolscope;
  let stack: ShippedStack;
  let startedAt = 0;

  beforeAll(async () => {
    fake = await startFakePoolscope();
    startedAt = Date.now();
    stack = await startShippedStack(fake.target);
  }, 30_000);

  afterAll(async () => {
    await stack?.stop();
    await fake?.close();
  });

  it('scrapes the poolscope job and loads every recording and alerting rule', async () => {
    await waitUntil(async () => (await stack.prometheus.query('up{job="poolscope"} == 1')).length === 1, {
      timeoutMs: 20_000,
      what: 'the first successful scrape of the poolscope job',
    });
    const rules = await stack.prometheus.api<{ groups: Array<{ rules: Array<{ name: string; type: string; health: string }> }> }>('rules');
    const loaded = rules.groups.flatMap((group) => group.rules);
    expect(loaded.filter((rule) => rule.type === 'recording').map((rule) => rule.name).sort()).toEqual([...recordingRuleNames()].sort());
    expect(loaded.filter((rule) => rule.type === 'alerting')).toHaveLength(9);
  }, 30_000);

  it('returns data for every recording rule', async () => {
    const names = recordingRuleNames();
    let empty: string[] = names;
    await waitUntil(
      async () => {
        const results = await Promise.all(names.map(async (name) => [name, (await stack.prometheus.query(name)).length] as const));
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
        const counts = await Promise.all(expressions.map(async ({ expr }) => (await stack.prometheus.query(expr)).length));
        empty = expressions.filter((_, i) => counts[i] === 0).map(({ panel, expr }) => `${panel}: ${expr}`);
        return empty.length === 0;
      },
      { timeoutMs: 25_000, what: 'every panel query to return data', describe: () => `still empty:\n${empty.join('\n')}` },
    );
  }, 30_000);

  it('offers every pool in the $pool variable (label_values(poolscope_pool_connections_max, pool))', async () => {
    const values = await stack.prometheus.api<string[]>(`label/pool/values?match[]=${encodeURIComponent('poolscope_pool_connections_max')}`);
    expect(values.sort()).toEqual(Object.keys(FAKE_POOLS).sort());
  });

  it('delivers HighConnectionPoolUtilization for the saturated pool to the warning webhook, with labels and annotations', async () => {
    const notification = await stack.webhook.waitFor(
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
    const firing = await stack.prometheus.query('ALERTS{alertstate="firing"}');
    expect(firing.map((sample) => `${sample.metric.alertname}/${sample.metric.pool}`)).toEqual([`HighConnectionPoolUtilization/${HOT_POOL}`]);
    const pending = await stack.prometheus.query('ALERTS{alertstate="pending"}');
    expect(pending).toEqual([]);
  });
});
