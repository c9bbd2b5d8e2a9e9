import type { Registry } from 'prom-client';

/**
 * The value of one series in a registry. A series that does not exist is an error, never 0: a test that
 * expects "nothing happened" must see the series exported at 0, or it cannot tell that from "never recorded".
 * Use `metricValueOrAbsent` where absence itself is the behaviour under test.
 */
export async function metricValue(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const value = await metricValueOrAbsent(registry, name, labels);
  if (value === undefined) {
    const known = await seriesOf(registry, name);
    throw new Error(`no series ${name}${JSON.stringify(labels)} in the registry; it has: ${known.join(' ') || 'none'}`);
  }
  return value;
}

/** The value of one series, or `undefined` when the registry has no such series. */
export async function metricValueOrAbsent(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number | undefined> {
  const series = await samplesOf(registry, name);
  return series.find((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))?.value;
}

type Sample = { value: number; labels: Record<string, string | number>; metricName?: string };

async function samplesOf(registry: Registry, name: string): Promise<Sample[]> {
  const metric = registry.getSingleMetric(name.replace(/_(sum|count|bucket)$/, ''));
  if (!metric) return [];
  const data = await metric.get();
  const values = data.values as Sample[];
  // Histograms list _bucket/_sum/_count samples under one metric: keep those of the name asked for.
  return values.some((v) => v.metricName !== undefined)
    ? values.filter((v) => (v.metricName ?? data.name) === name)
    : values;
}

async function seriesOf(registry: Registry, name: string): Promise<string[]> {
  return (await samplesOf(registry, name)).slice(0, 8).map((v) => JSON.stringify(v.labels));
}
