import { readFileSync } from 'node:fs';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { metricsFor } from '../src/metrics/families.js';
import { postgresMetricsFor } from '../src/metrics/postgres.js';

describe('docs/metrics.md', () => {
  it('has a row for every poolscope family a registry exports, and none for a family it does not', () => {
    const registry = new Registry();
    metricsFor(registry);
    postgresMetricsFor(registry); // registered with the first database pool
    const exported = registry
      .getMetricsAsArray()
      .map((metric) => metric.name)
      .filter((name) => name.startsWith('poolscope_'));
    const doc = readFileSync(new URL('../docs/metrics.md', import.meta.url), 'utf8');
    const rows = new Set([...doc.matchAll(/^\| `(poolscope_[a-z0-9_]+)`/gm)].map((match) => match[1]!));
    expect(exported.length).toBeGreaterThan(25);
    expect(
      exported.filter((name) => !rows.has(name)),
      'exported but not documented',
    ).toEqual([]);
    expect(
      [...rows].filter((name) => !exported.includes(name)),
      'documented but not exported',
    ).toEqual([]);
  });
});
