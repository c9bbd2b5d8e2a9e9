/**
 * The repo's Prometheus stack, live: prometheus.yml, recording rules, alert rules (`for:` cut to 0s) and
 * alertmanager.yml (webhooks sent to a local receiver), with 1 s scrape and evaluation intervals, scraping
 * `target`: stack.e2e.test.ts points it at the real service in demo mode.
 */
import { parse, stringify } from 'yaml';
import { readRepoFile } from './assets.js';
import {
  startAlertmanager,
  startPrometheus,
  startWebhookReceiver,
  type RunningBinary,
  type RunningPrometheus,
  type WebhookReceiver,
} from '../support/prometheus.js';
import { renderAlertRules } from '../../src/health/render-rules.js';
import { THRESHOLDS } from '../../src/health/thresholds.js';

export interface ShippedStack {
  prometheus: RunningPrometheus;
  alertmanager: RunningBinary;
  webhook: WebhookReceiver;
  stop(): Promise<void>;
}

interface AlertmanagerRoute {
  group_wait?: string;
  group_interval?: string;
  repeat_interval?: string;
  routes?: AlertmanagerRoute[];
}

/** alertmanager.yml with every webhook sent to `url` (path kept) and timers short enough for a test. */
export function testAlertmanagerConfig(url: string): unknown {
  const config = parse(readRepoFile('alertmanager/alertmanager.yml')) as {
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
    for (const webhook of receiver.webhook_configs ?? [])
      webhook.url = new URL(new URL(webhook.url).pathname, url).href;
  }
  return config;
}

/** The windows the e2e's rules judge saturation over: two scrapes of its 1 s interval, inside a 3.5 s demo burst. */
export const E2E_SATURATION_WINDOW = '2s';

/**
 * alerts/poolscope.rules.yml with every `for:` cut to 0s and the saturation windows (utilization, queue) to
 * E2E_SATURATION_WINDOW: same expressions otherwise, same labels and annotations, firing at the first evaluation
 * that finds the condition, so a 3.5 s demo burst is enough. Checked to be the shipped file but for those.
 */
export function alertRulesWithShortFor(): string {
  const shipped = readRepoFile('alerts/poolscope.rules.yml');
  if (shipped !== renderAlertRules())
    throw new Error('alerts/poolscope.rules.yml is not what src/health generates: regenerate it');
  const short = { window: E2E_SATURATION_WINDOW };
  const rules = parse(
    renderAlertRules({
      ...THRESHOLDS,
      utilization: { ...THRESHOLDS.utilization, ...short },
      queue: { ...THRESHOLDS.queue, ...short },
    }),
  ) as { groups: Array<{ rules: Array<{ for?: string }> }> };
  for (const group of rules.groups) for (const rule of group.rules) rule.for = '0s';
  return stringify(rules);
}

/**
 * prometheus.yml scraping `target` with the poolscope job every second, alerting `alertmanager`; without them
 * (not known yet), the same file with nothing to scrape and nobody to alert.
 */
export function testPrometheusConfig(target?: string, alertmanager?: string): unknown {
  const config = parse(readRepoFile('prometheus/prometheus.yml')) as {
    global: Record<string, string>;
    rule_files: string[];
    alerting: { alertmanagers: Array<{ static_configs: Array<{ targets: string[] }> }> };
    scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
  };
  config.global.scrape_interval = '1s';
  config.global.evaluation_interval = '1s';
  // Same files, laid out flat in the temp dir.
  const expected = ['rules/recording.yml', '../alerts/poolscope.rules.yml'];
  if (JSON.stringify(config.rule_files) !== JSON.stringify(expected)) {
    throw new Error(`prometheus.yml rule_files changed (${config.rule_files.join(', ')}): update shipped-stack.ts`);
  }
  config.rule_files = ['rules/recording.yml', 'alerts/poolscope.rules.yml'];
  config.alerting.alertmanagers = [{ static_configs: [{ targets: alertmanager ? [alertmanager] : [] }] }];
  const job = config.scrape_configs.find((scrape) => scrape.job_name === 'poolscope');
  if (!job) throw new Error('prometheus.yml has no poolscope scrape job');
  job.static_configs = [{ targets: target ? [target] : [] }];
  // Only the poolscope job: nothing listens on the compose stack's localhost:9090 here.
  config.scrape_configs = [job];
  return config;
}

/**
 * Starts the webhook receiver, then Alertmanager and Prometheus; `stop()` ends all three. `target` may be a
 * promise (a service still starting): everything starts meanwhile, and Prometheus learns the target when it
 * resolves.
 */
export async function startShippedStack(target: string | Promise<string>): Promise<ShippedStack> {
  const started: Array<{ stop?: () => Promise<void>; close?: () => Promise<void> }> = [];
  const stop = async (): Promise<void> => {
    for (const part of started.reverse()) await (part.stop ?? part.close)?.call(part);
  };
  try {
    const webhook = await startWebhookReceiver();
    started.push(webhook);
    // Prometheus scrapes ~5 s after it starts, whenever its targets arrive (its target set is applied on a 5 s
    // tick): start it at once with nothing to scrape, and give it the target and Alertmanager by a reload.
    const starting = await Promise.allSettled([
      startAlertmanager({ config: testAlertmanagerConfig(webhook.url) }),
      startPrometheus({
        config: testPrometheusConfig(),
        files: {
          'rules/recording.yml': readRepoFile('prometheus/rules/recording.yml'),
          'alerts/poolscope.rules.yml': alertRulesWithShortFor(),
        },
      }),
    ]);
    for (const result of starting) if (result.status === 'fulfilled') started.push(result.value);
    const [alertmanager, prometheus] = starting;
    if (alertmanager.status === 'rejected') throw alertmanager.reason;
    if (prometheus.status === 'rejected') throw prometheus.reason;
    await prometheus.value.reconfigure(testPrometheusConfig(await target, `127.0.0.1:${alertmanager.value.port}`));
    return { prometheus: prometheus.value, alertmanager: alertmanager.value, webhook, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
