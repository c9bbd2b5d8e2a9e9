import type { Registry } from 'prom-client';

/** The value of one series in a registry (0 when the series does not exist yet). */
export async function metricValue(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = registry.getSingleMetric(name.replace(/_(sum|count|bucket)$/, ''));
  if (!metric) return 0;
  const data = await metric.get();
  const series = data.values.find(
    (v) => (v as { metricName?: string }).metricName === undefined || (v as { metricName?: string }).metricName === name,
  )
    ? data.values.filter((v) => ((v as { metricName?: string }).metricName ?? data.name) === name)
    : data.values;
  const match = series.find((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want));
  return match?.value ?? 0;
}
