/** alerts/poolscope.rules.yml is generated from src/health, complete, and every alert is documented. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALERT_NAMES, RUNBOOK_BASE_URL, alertRules } from '../../src/health/alert-rules.js';
import { ALERT_RULES_FILE, renderAlertRules } from '../../src/health/render-rules.js';
import { loadRuleFile, promqlErrors, readRepoFile, recordingRules, REPO } from './assets.js';

const committed = loadRuleFile(ALERT_RULES_FILE).groups.flatMap((group) => group.rules);

describe('alerts/poolscope.rules.yml', () => {
  it('is exactly what renderAlertRules() generates from src/health (regenerate: node scripts/generate-alert-rules.mjs)', () => {
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

  it.each(ALERT_NAMES.map((name) => [name]))('%s has for:, a severity, summary, description and a runbook that exists', (name) => {
    const rule = committed.find((candidate) => candidate.alert === name)!;
    expect(rule.for).toMatch(/^\d+[smh]$/);
    expect(['warning', 'critical']).toContain(rule.labels?.severity);
    expect(Object.keys(rule.annotations ?? {}).sort()).toEqual(['description', 'runbook_url', 'summary']);
    expect(rule.annotations?.description).toContain('{{ $value');
    if (name !== 'PoolscopeTargetDown') expect(rule.annotations?.description).toContain('{{ $labels.pool }}');
    expect(rule.annotations?.runbook_url).toBe(`${RUNBOOK_BASE_URL}${name}.md`);
    expect(existsSync(join(REPO, 'docs/runbooks', `${name}.md`)), `docs/runbooks/${name}.md`).toBe(true);
    expect(promqlErrors(rule.expr), rule.expr).toEqual([]);
  });

  it('alerts on connection errors that increased within a minute, never on the raw counter', () => {
    const expr = alertRules().find((rule) => rule.alert === 'ConnectionFailures')!.expr;
    expect(expr).toMatch(/(increase|rate)\(poolscope_pool_connection_errors_total\[1m\]\)/);
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

describe('prometheus/rules/recording.yml', () => {
  it.each(recordingRules().map((rule) => [rule.record, rule.expr]))('%s is named level:metric:operations and parses', (record, expr) => {
    expect(record).toMatch(/^[a-z_]+:poolscope_[a-z_]+:[a-z0-9_]+$/);
    expect(promqlErrors(expr), expr).toEqual([]);
  });
});
