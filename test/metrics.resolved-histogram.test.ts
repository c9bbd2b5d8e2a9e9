import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { renderOpenMetrics } from '../src/http/metrics-route.js';
import { ResolvedHistogram } from '../src/metrics/resolved-histogram.js';

const NAME = 'poolscope_request_duration_seconds';
const HELP = 'Time from slot acquired to response body fully read.';
const BUCKETS = [0.005, 0.05, 0.5, 5];
const LABELS = ['pool', 'operation', 'outcome'] as const;

/** The same observations recorded by prom-client's own Histogram and by ResolvedHistogram, each in its registry. */
function recordBoth(observations: Array<[string, string, string, number]>) {
  const reference = new Registry();
  const resolved = new Registry();
  const promHistogram = new Histogram({
    name: NAME,
    help: HELP,
    labelNames: LABELS,
    buckets: BUCKETS,
    registers: [reference],
  });
  const ours = new ResolvedHistogram({
    name: NAME,
    help: HELP,
    labelNames: LABELS,
    buckets: BUCKETS,
    registers: [resolved],
  });
  for (const [pool, operation, outcome, seconds] of observations) {
    promHistogram.labels(pool, operation, outcome).observe(seconds);
    ours.labels(pool, operation, outcome).observe(seconds);
  }
  return { reference, resolved, ours };
}

const OBSERVATIONS: Array<[string, string, string, number]> = [
  ['openai', 'chat.completions', 'success', 1.2],
  ['openai', 'chat.completions', 'success', 0.004],
  ['openai', 'chat.completions', 'success', 0.05], // on a bucket bound: counted in le="0.05"
  ['openai', 'chat.completions', 'error', 9],
  ['supabase', 'select:uploads', 'success', 0.02],
  ['supabase', 'odd"name\\with\nescapes', 'success', 0.3],
];

describe('the request-path histogram scrapes exactly like a prom-client Histogram', () => {
  it('renders the same Prometheus text', async () => {
    const { reference, resolved } = recordBoth(OBSERVATIONS);
    const text = await resolved.metrics();
    expect(text).toBe(await reference.metrics());
    expect(text).toContain(`${NAME}_bucket{le="0.05",pool="openai",operation="chat.completions",outcome="success"} 2`);
    expect(text).toContain(`${NAME}_count{pool="openai",operation="chat.completions",outcome="error"} 1`);
  });

  it('renders the same OpenMetrics text (as GET /metrics negotiates it)', async () => {
    const { reference, resolved } = recordBoth(OBSERVATIONS);
    const openMetrics = await renderOpenMetrics(resolved);
    expect(openMetrics).toBe(await renderOpenMetrics(reference));
    expect(openMetrics).toContain(
      `${NAME}_bucket{le="+Inf",pool="supabase",operation="select:uploads",outcome="success"} 1`,
    );
  });

  it('returns the same JSON, registry default labels included', async () => {
    const { reference, resolved } = recordBoth(OBSERVATIONS);
    for (const registry of [reference, resolved]) registry.setDefaultLabels({ service: 'api' });
    // prom-client adds `exemplar: null` to its buckets; exemplars are off, so that field carries nothing.
    const withoutExemplars = (json: unknown) =>
      JSON.parse(JSON.stringify(json, (key, value) => (key === 'exemplar' ? undefined : value)));
    expect(withoutExemplars(await resolved.getMetricsAsJSON())).toEqual(
      withoutExemplars(await reference.getMetricsAsJSON()),
    );
    expect(await resolved.metrics()).toBe(await reference.metrics());
  });

  it('keeps recording through a child resolved before registry.resetMetrics()', async () => {
    const { resolved, ours } = recordBoth(OBSERVATIONS);
    const child = ours.labels('openai', 'embeddings', 'success');
    child.observe(0.01);
    resolved.resetMetrics();
    child.observe(0.2);
    const text = await resolved.metrics();
    expect(text).toContain(`${NAME}_count{pool="openai",operation="embeddings",outcome="success"} 1`);
    expect(text).toContain(`${NAME}_sum{pool="openai",operation="embeddings",outcome="success"} 0.2`);
    expect(text).toContain(`${NAME}_count{pool="openai",operation="chat.completions",outcome="success"} 0`);
  });
});
