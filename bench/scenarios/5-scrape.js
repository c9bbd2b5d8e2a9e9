/**
 * 5. Scrape cost: rendering the registry `/metrics` serves, with 3 pools × 20 operations, each operation
 * with both outcomes in its duration histogram and 3 failure reasons, plus retries and Node's default
 * process metrics (as poolscope's own registry has them).
 */
import { Registry, collectDefaultMetrics } from 'prom-client';
import { PoolRequestError, createPool, renderOpenMetrics } from '../../dist/index.js';
import { latencies, now, round } from '../lib/measure.js';

export const id = 'scrape';
export const title = 'Scrape cost: rendering /metrics with 3 pools × 20 operations × outcomes';

const TARGET_MS = 5;
/** @type {import('../../src/index.js').FailureReason[]} */
const REASONS = ['http_5xx', 'timeout', 'rate_limited'];

/** @param {import('../run.js').Context} ctx */
export async function run(ctx) {
  const renders = ctx.quick ? 20 : 300;
  const warmup = ctx.quick ? 5 : 30;
  const measure = async (render) => {
    for (let i = 0; i < warmup; i++) await render();
    const t = latencies();
    for (let i = 0; i < renders; i++) {
      const start = now();
      await render();
      t.record(now() - start);
    }
    return t.summary();
  };

  const full = await populatedRegistry(true);
  const text = await full.registry.metrics();
  const samples = text.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length;
  const families = full.registry.getMetricsAsArray().length;
  const text004 = await measure(() => full.registry.metrics());
  const openMetrics = await measure(() => renderOpenMetrics(full.registry));
  await full.close();
  // The same pools without Node's default process metrics: how much of the cost is poolscope's own.
  const own = await populatedRegistry(false);
  const ownOnly = await measure(() => own.registry.metrics());
  await own.close();

  const results = [
    { format: 'Prometheus text 0.0.4', renders, p50Ms: text004.p50Ms, p95Ms: text004.p95Ms, maxMs: text004.maxMs },
    {
      format: 'OpenMetrics 1.0',
      renders,
      p50Ms: openMetrics.p50Ms,
      p95Ms: openMetrics.p95Ms,
      maxMs: openMetrics.maxMs,
    },
    {
      format: 'text 0.0.4, poolscope metrics only (no process metrics)',
      renders,
      p50Ms: ownOnly.p50Ms,
      p95Ms: ownOnly.p95Ms,
      maxMs: ownOnly.maxMs,
    },
  ];
  return {
    params: {
      pools: 3,
      operationsPerPool: 20,
      outcomes: ['success', 'error'],
      failureReasons: REASONS,
      defaultMetrics: true,
      renders,
    },
    results,
    summary: {
      medianMs: text004.p50Ms,
      openMetricsMedianMs: openMetrics.p50Ms,
      poolscopeOnlyMedianMs: ownOnly.p50Ms,
      samples,
      families,
      bytes: Buffer.byteLength(text),
    },
    target: {
      description: `median render ≤ ${TARGET_MS} ms`,
      threshold: TARGET_MS,
      value: text004.p50Ms,
      met: text004.p50Ms <= TARGET_MS,
      measured: `${text004.p50Ms} ms text, ${openMetrics.p50Ms} ms OpenMetrics`,
    },
    table: {
      headers: ['format', 'renders', 'median ms', 'p95 ms', 'max ms'],
      rows: results.map((r) => [r.format, r.renders, r.p50Ms, r.p95Ms, r.maxMs]),
    },
    notes: [
      `${families} metric families, ${samples} samples, ${round(Buffer.byteLength(text) / 1024, 1)} KiB per scrape.`,
    ],
  };
}

/** A registry like poolscope's own, with 3 pools whose operations have recorded every outcome. */
async function populatedRegistry(defaultMetrics) {
  const registry = new Registry();
  if (defaultMetrics) collectDefaultMetrics({ register: registry });
  const operations = Array.from({ length: 20 }, (_, i) => `operation_${String(i + 1).padStart(2, '0')}`);
  const pools = ['supabase', 'openai', 'pinecone'].map((name) =>
    createPool({ name, origin: 'http://127.0.0.1:9', registry, operations, maxOperations: 20 }),
  );
  for (const pool of pools) {
    for (const operation of operations) {
      // Several observations per series.
      for (let i = 0; i < 5; i++) await pool.run(operation, () => undefined);
      for (const reason of REASONS) {
        await pool.run(operation, () => Promise.reject(new PoolRequestError(pool.name, reason))).catch(() => undefined);
      }
    }
  }
  return { registry, close: () => Promise.all(pools.map((pool) => pool.close())) };
}
