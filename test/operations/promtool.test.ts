/** The shipped Prometheus and Alertmanager configuration, checked by the tools that will load it. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from './assets.js';
import { hasBinaries, run } from '../support/prometheus.js';

const available = hasBinaries('promtool', 'amtool');

describe.skipIf(!available)('promtool and amtool accept the shipped configuration', () => {
  it('promtool check config accepts prometheus/prometheus.yml and finds both rule files relative to it', () => {
    const result = run('promtool', ['check', 'config', 'prometheus/prometheus.yml'], REPO);
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('SUCCESS: 2 rule files found');
    expect(result.stdout).toContain('Checking prometheus/rules/recording.yml');
    expect(result.stdout).toContain('Checking alerts/poolscope.rules.yml');
  });

  it('promtool check rules accepts the recording and alerting rules', () => {
    const result = run(
      'promtool',
      ['check', 'rules', 'prometheus/rules/recording.yml', 'alerts/poolscope.rules.yml'],
      REPO,
    );
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('SUCCESS: 13 rules found');
  });

  it('promtool test rules passes every unit test in alerts/tests/', () => {
    const files = readdirSync(join(REPO, 'alerts/tests'))
      .filter((file) => file.endsWith('.yml'))
      .map((file) => `alerts/tests/${file}`);
    expect(files).toEqual(
      expect.arrayContaining(['alerts/tests/poolscope.rules.test.yml', 'alerts/tests/recording.test.yml']),
    );
    const result = run('promtool', ['test', 'rules', ...files], REPO);
    // The details of a failure go to stderr.
    expect(result.status, result.stdout + result.stderr).toBe(0);
  });

  it('amtool check-config accepts alertmanager/alertmanager.yml', () => {
    const result = run('amtool', ['check-config', 'alertmanager/alertmanager.yml'], REPO);
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('3 inhibit rules');
  });

  it.each([
    ['critical', 'HighErrorRatio', 'poolscope-critical'],
    ['warning', 'UpstreamDown', 'poolscope-warning'],
    ['warning', 'HighConnectionPoolUtilization', 'poolscope-warning'],
    ['', 'SomethingUnlabelled', 'poolscope-warning'],
  ])('routes severity=%s (%s) to %s', (severity, alertname, receiver) => {
    const labels = [`alertname=${alertname}`, 'pool=supabase', ...(severity ? [`severity=${severity}`] : [])];
    const result = run(
      'amtool',
      [
        'config',
        'routes',
        'test',
        '--config.file=alertmanager/alertmanager.yml',
        `--verify.receivers=${receiver}`,
        ...labels,
      ],
      REPO,
    );
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe(receiver);
  });
});
