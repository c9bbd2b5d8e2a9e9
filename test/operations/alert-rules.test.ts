/** alerts/poolscope.rules.yml is generated from src/health, complete, and every alert is documented. */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ALERT_NAMES, RUNBOOK_BASE_URL, alertRules, runbookBaseUrlFor } from '../../src/health/alert-rules.js';
import { ALERT_RULES_FILE, renderAlertRules } from '../../src/health/render-rules.js';
import { THRESHOLDS } from '../../src/health/thresholds.js';
import { buildIfStale } from '../support/built-service.js';
import {
  loadRuleFile,
  promqlErrors,
  readRepoFile,
  recordingRules,
  REPO,
  vectorSelectors,
  type RuleFile,
} from './assets.js';

const committed = loadRuleFile(ALERT_RULES_FILE).groups.flatMap((group) => group.rules);

describe('alerts/poolscope.rules.yml', () => {
  it('is exactly what renderAlertRules() generates from src/health (regenerate: npm run generate:assets)', () => {
    expect(readRepoFile(ALERT_RULES_FILE)).toBe(renderAlertRules());
  });

  it('renders the same text twice', () => {
    expect(renderAlertRules()).toBe(renderAlertRules());
  });

  it('has every alert poolscope promises, in order', () => {
    expect(committed.map((rule) => rule.alert)).toEqual([...ALERT_NAMES]);
    expect(ALERT_NAMES).toEqual(
      expect.arrayContaining([
        'HighConnectionPoolUtilization',
        'ConnectionFailures',
        'PoolQueueBuildingUp',
        'PoolAcquireTimeouts',
        'HighErrorRatio',
        'SlowRequests',
        'OpenAIRateLimitHeadroomLow',
        'UpstreamDown',
        'PoolscopeTargetDown',
      ]),
    );
  });

  it.each(ALERT_NAMES.map((name) => [name]))(
    '%s has for:, a severity, summary, description and a runbook that exists',
    (name) => {
      const rule = committed.find((candidate) => candidate.alert === name)!;
      expect(rule.for).toMatch(/^\d+[smh]$/);
      expect(['warning', 'critical']).toContain(rule.labels?.severity);
      expect(Object.keys(rule.annotations ?? {}).sort()).toEqual(['description', 'runbook_url', 'summary']);
      expect(rule.annotations?.description).toContain('{{ $value');
      if (name !== 'PoolscopeTargetDown') expect(rule.annotations?.description).toContain('{{ $labels.pool }}');
      expect(rule.annotations?.runbook_url).toBe(`${RUNBOOK_BASE_URL}${name}.md`);
      expect(existsSync(join(REPO, 'docs/runbooks', `${name}.md`)), `docs/runbooks/${name}.md`).toBe(true);
      expect(promqlErrors(rule.expr), rule.expr).toEqual([]);
    },
  );

  it('scopes every poolscope series of every rule by the selector, and `up` by the target selector', () => {
    const rules = alertRules(THRESHOLDS, { selector: 'job="api", env=~"prod|staging"', targetSelector: 'job="api"' });
    const selectors = rules.flatMap((rule) =>
      vectorSelectors(rule.expr).map((selector) => ({ alert: rule.alert, ...selector })),
    );
    const poolscope = selectors.filter((selector) => selector.metric.startsWith('poolscope_'));
    expect(poolscope.length).toBeGreaterThan(15);
    expect(poolscope.filter((selector) => !selector.matchers.startsWith('{job="api", env=~"prod|staging"'))).toEqual(
      [],
    );
    expect(selectors.filter((selector) => selector.metric === 'up')).toEqual([
      { alert: 'PoolscopeTargetDown', metric: 'up', matchers: '{job="api"}' },
    ]);
    for (const rule of rules) expect(promqlErrors(rule.expr), rule.expr).toEqual([]);
    // Unscoped by default: poolscope_* names are poolscope's own, whatever job scrapes them.
    expect(vectorSelectors(alertRules().find((rule) => rule.alert === 'UpstreamDown')!.expr)).toEqual([
      { metric: 'poolscope_upstream_up', matchers: '' },
    ]);
  });

  it('refuses a selector that is not label matchers, naming it', () => {
    expect(() => alertRules(THRESHOLDS, { selector: 'job=api' })).toThrow(/selector must be PromQL label matchers/);
    expect(() => alertRules(THRESHOLDS, { targetSelector: '{job="x"}' })).toThrow(
      /targetSelector must be PromQL label matchers/,
    );
  });

  it('alerts on connection errors that increased within the window, never on the raw counter', () => {
    const expr = alertRules().find((rule) => rule.alert === 'ConnectionFailures')!.expr;
    expect(expr).toMatch(/(increase|rate)\(poolscope_pool_connection_errors_total\[5m\]\)/);
    expect(expr).not.toMatch(/poolscope_pool_connection_errors_total\s*>/);
  });

  it('guards every division against an idle denominator', () => {
    for (const rule of alertRules().filter((candidate) => candidate.expr.includes('/'))) {
      expect(rule.expr, rule.alert).toMatch(/\/\s*\(?[\s\S]*>\s*0\s*\)/);
    }
  });

  it('watches the poolscope scrape job', () => {
    expect(alertRules().find((rule) => rule.alert === 'PoolscopeTargetDown')!.expr).toBe('up{job="poolscope"} == 0');
  });
});

describe('runbook URLs', () => {
  const base = 'https://runbooks.example.com/poolscope/';
  const runbookUrls = (text: string) =>
    (parse(text) as RuleFile).groups.flatMap((group) => group.rules).map((rule) => rule.annotations?.runbook_url);

  it('point every runbook_url at runbookBaseUrl when one is given, and change nothing else', () => {
    const text = renderAlertRules(THRESHOLDS, { runbookBaseUrl: base });
    expect(runbookUrls(text)).toEqual(ALERT_NAMES.map((name) => `${base}${name}.md`));
    expect(text.replaceAll(base, RUNBOOK_BASE_URL)).toBe(renderAlertRules());
  });

  it('add the slash a base URL lacks, and refuse one that is not http(s)', () => {
    expect(alertRules(THRESHOLDS, { runbookBaseUrl: 'https://wiki.example.com/ops' })[0]!.runbookUrl).toBe(
      'https://wiki.example.com/ops/HighConnectionPoolUtilization.md',
    );
    expect(() => alertRules(THRESHOLDS, { runbookBaseUrl: 'docs/runbooks/' })).toThrow(TypeError);
    expect(() => alertRules(THRESHOLDS, { runbookBaseUrl: 'file:///srv/runbooks/' })).toThrow(/http\(s\)/);
  });

  it('default to docs/runbooks/ of the repository package.json names', () => {
    const { repository } = JSON.parse(readRepoFile('package.json')) as { repository: { url: string } };
    expect(runbookBaseUrlFor(repository)).toBe(RUNBOOK_BASE_URL);
  });

  it.each([
    ['git+https://github.com/acme/pools.git', 'https://github.com/acme/pools/blob/main/docs/runbooks/'],
    ['https://github.com/acme/pools', 'https://github.com/acme/pools/blob/main/docs/runbooks/'],
    ['github:acme/pools', 'https://github.com/acme/pools/blob/main/docs/runbooks/'],
    ['acme/pools', 'https://github.com/acme/pools/blob/main/docs/runbooks/'],
  ])('derive the base of repository %s', (url, expected) => {
    expect(runbookBaseUrlFor(url)).toBe(expected);
    expect(runbookBaseUrlFor({ url, directory: 'packages/poolscope' })).toBe(
      expected.replace('/main/', '/main/packages/poolscope/'),
    );
  });

  it('ask for the base URL when the repository is not on GitHub', () => {
    expect(() => runbookBaseUrlFor('git+https://gitlab.com/acme/pools.git')).toThrow(/pass the runbook base URL/);
  });

  it('come from the generator: by default the committed file, with --runbook-base-url the given base', async () => {
    await buildIfStale();
    const run = (args: string[]) =>
      promisify(execFile)(process.execPath, ['scripts/generate-ops-assets.mjs', ...args], { cwd: REPO });
    await expect(run(['--check'])).resolves.toMatchObject({
      stdout: expect.stringContaining(`${ALERT_RULES_FILE} is up to date`),
    });

    const dir = mkdtempSync(join(tmpdir(), 'poolscope-rules-'));
    try {
      await run(['--runbook-base-url', base, '--out', dir]);
      expect(readFileSync(join(dir, ALERT_RULES_FILE), 'utf8')).toBe(
        renderAlertRules(THRESHOLDS, { runbookBaseUrl: base }),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('prometheus/rules/recording.yml', () => {
  it.each(recordingRules().map((rule) => [rule.record, rule.expr]))(
    '%s is named level:metric:operations and parses',
    (record, expr) => {
      expect(record).toMatch(/^[a-z_]+:poolscope_[a-z0-9_]+:[a-z0-9_]+$/);
      expect(promqlErrors(expr), expr).toEqual([]);
    },
  );
});
