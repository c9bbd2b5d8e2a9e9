/** prometheus/rules/recording.yml is generated from src/health, scoped by the selector, and proven by promtool. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { RECORDING_RULES_FILE, recordingRuleGroups, renderRecordingRules } from '../../src/health/recording-rules.js';
import { promqlErrors, readRepoFile, recordingRuleNames, REPO } from './assets.js';
import { resampleTestFile } from './resample.js';
import { hasBinaries, run } from '../support/prometheus.js';

const rules = recordingRuleGroups().flatMap((group) => group.rules);
const seconds = (duration: string): number =>
  Number(duration.slice(0, -1)) * { s: 1, m: 60, h: 3600 }[duration.slice(-1) as 's' | 'm' | 'h'];

describe('prometheus/rules/recording.yml', () => {
  it('is exactly what renderRecordingRules() generates from src/health (regenerate: npm run generate:assets)', () => {
    expect(readRepoFile(RECORDING_RULES_FILE)).toBe(renderRecordingRules());
  });

  it('renders the same text twice', () => {
    expect(renderRecordingRules()).toBe(renderRecordingRules());
  });

  it.each(rules.map((rule) => [rule.record, rule.expr]))(
    "%s is one replica's series (by job, instance), named level:metric:operations",
    (record, expr) => {
      expect(record).toMatch(/^instance_[a-z_]+:poolscope_[a-z0-9_]+:[a-z0-9_]+$/);
      expect(promqlErrors(expr), expr).toEqual([]);
      for (const by of expr.match(/\bby \(([^)]*)\)/g) ?? []) expect(by, expr).toMatch(/^by \(job, instance, /);
    },
  );

  it('looks back at least 4 scrapes at a 1 m scrape interval in every range', () => {
    const ranges = rules.flatMap((rule) =>
      [...rule.expr.matchAll(/\[(\d+[smh])\]/g)].map((match) => [rule.record, match[1]!] as const),
    );
    expect(ranges.length).toBeGreaterThan(15);
    for (const [record, range] of ranges) expect(seconds(range), `${record} [${range}]`).toBeGreaterThanOrEqual(4 * 60);
  });

  it('puts the selector in every series it reads, raw or recorded, and keeps its labels so copies for other selectors never collide', () => {
    const selector = 'job="api", env=~"prod|staging"';
    const scoped = recordingRuleGroups({ selector }).flatMap((group) => group.rules);
    expect(scoped.map((rule) => rule.record)).toEqual(rules.map((rule) => rule.record));
    for (const { record, expr } of scoped) {
      // Every metric name (raw poolscope_* or a recorded level:metric:op) that is read, not written.
      const reads = [...expr.matchAll(/(?<![\w:])((?:[a-z_]+:)?poolscope_[a-z0-9_]+(?::[a-z0-9_]+)?)(\{[^}]*\})?/g)];
      expect(reads.length, record).toBeGreaterThan(0);
      for (const [, name, matchers] of reads)
        expect(matchers ?? '', `${record} reads ${name}`).toMatch(/^\{job="api", env=~"prod\|staging"/);
      for (const by of expr.match(/\bby \(([^)]*)\)/g) ?? []) expect(by, record).toMatch(/^by \(job, env, instance, /);
      expect(promqlErrors(expr), expr).toEqual([]);
    }
  });

  it('refuses a selector that is not label matchers', () => {
    expect(() => renderRecordingRules({ selector: 'job=api' })).toThrow(TypeError);
  });
});

describe.skipIf(!hasBinaries('promtool'))(
  "the recording rules' promtool tests (alerts/tests/recording.test.yml)",
  () => {
    it('check the value of every recording rule', () => {
      const tests = (
        parse(readRepoFile('alerts/tests/recording.test.yml')) as {
          tests: Array<{ promql_expr_test: Array<{ expr: string }> }>;
        }
      ).tests;
      const exprs = tests.flatMap((test) => test.promql_expr_test.map((check) => check.expr)).join('\n');
      expect(recordingRuleNames().filter((name) => !new RegExp(`(?<![\\w:])${name}(?![\\w:])`).test(exprs))).toEqual(
        [],
      );
    });

    it.each([
      [60, 'as written'],
      [15, 'resampled, with the same expected values'],
    ])('pass with series sampled every %i s (%s)', (interval) => {
      const work = mkdtempSync(join(tmpdir(), 'poolscope-recording-'));
      try {
        const file = join(work, `recording.${interval}s.test.yml`);
        const text = readRepoFile('alerts/tests/recording.test.yml');
        writeFileSync(file, resampleTestFile(text, interval, [join(REPO, RECORDING_RULES_FILE)]));
        const result = run('promtool', ['test', 'rules', file], work);
        // The details of a failure go to stderr.
        expect(result.status, result.stdout + result.stderr).toBe(0);
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    });
  },
);
