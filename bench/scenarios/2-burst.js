/**
 * 2. Burst: N requests fired at once, against an upstream that takes a fixed time per request (a small
 * query). Wall time to the last body, peak sockets the upstream saw open, success rate. Every measurement
 * gets a fresh upstream and a fresh client; the variants' order rotates between repetitions.
 */
import { latencies, median, ratio, round } from '../lib/measure.js';
import { withUpstream } from '../lib/upstreams.js';
import { VARIANTS, tally } from '../lib/variants.js';
import { pct } from './1-reuse.js';

export const id = 'burst';
export const title = 'Burst: N concurrent requests, pooled vs a new connection per request vs Node fetch';

const ORDER = ['poolscope', 'poolscope-warm', 'fresh', 'node-fetch'];
const PATH = '/rest/v1/uploads?select=*';

/** @param {import('../run.js').Context} ctx */
export async function run(ctx) {
  const upstreamLatencyMs = 20;
  const poolConnections = 20;
  const sizes = ctx.quick ? [10, 40] : [100, 1000];
  const repetitions = ctx.quick ? [1, 1] : [3, 2];
  const results = [];
  const summary = { upstreamLatencyMs, poolConnections };

  const measure = (tls, variantName, size) =>
    withUpstream(ctx.host, { tls, behaviour: { latencyMs: upstreamLatencyMs } }, async (upstream) => {
      const warm = variantName === 'poolscope-warm';
      const variant = VARIANTS[warm ? 'poolscope' : variantName](upstream, { connections: poolConnections });
      try {
        // Warm: the pool has just served a burst, so its sockets are open (a pool in steady state).
        if (warm) await Promise.all(Array.from({ length: poolConnections }, () => variant.send(PATH)));
        await upstream.resetStats();
        const t0 = performance.now();
        const outcomes = await Promise.all(Array.from({ length: size }, () => variant.send(PATH)));
        const wallMs = Math.max(...outcomes.map((o) => o.endAt)) - t0;
        const stats = await upstream.stats();
        return { wallMs, outcomes, peakSockets: stats.peakOpenSockets, opened: stats.acceptedSockets };
      } finally {
        await variant.close();
      }
    });

  for (const tls of [true, false]) {
    const protocol = tls ? 'https' : 'http';
    // JIT and TLS warm-up for every variant, discarded.
    for (const name of ORDER) await measure(tls, name, sizes[0]);
    for (const [index, size] of sizes.entries()) {
      const samples = Object.fromEntries(ORDER.map((name) => [name, []]));
      for (let rep = 0; rep < repetitions[index]; rep++) {
        const order = ORDER.map((_, i) => ORDER[(i + rep) % ORDER.length]);
        for (const name of order) {
          samples[name].push(await measure(tls, name, size));
          ctx.log(`burst ${protocol} ${size} ${name} rep ${rep + 1}: ${round(samples[name].at(-1).wallMs, 0)} ms`);
        }
      }
      const rows = {};
      for (const name of ORDER) {
        const runs = samples[name];
        const all = runs.flatMap((r) => r.outcomes);
        const timing = latencies();
        for (const outcome of all) timing.record(outcome.ms);
        const t = timing.summary();
        const count = tally(all);
        const walls = runs.map((r) => r.wallMs);
        rows[name] = {
          protocol,
          concurrent: size,
          variant: name,
          repetitions: runs.length,
          wallMs: round(median(walls), 1),
          wallMinMs: round(Math.min(...walls), 1),
          wallMaxMs: round(Math.max(...walls), 1),
          peakSockets: Math.max(...runs.map((r) => r.peakSockets)),
          connectionsOpened: Math.max(...runs.map((r) => r.opened)),
          successRate: round(count.successRate, 4),
          errors: count.errors,
          p50Ms: t.p50Ms,
          p95Ms: t.p95Ms,
        };
        results.push(rows[name]);
      }
      const p = rows.poolscope;
      summary[`${protocol}_${index === 0 ? 'small' : 'large'}`] = {
        concurrent: size,
        poolscopeWallMs: p.wallMs,
        poolscopeWarmWallMs: rows['poolscope-warm'].wallMs,
        freshWallMs: rows.fresh.wallMs,
        nodeFetchWallMs: rows['node-fetch'].wallMs,
        freshOverPoolscopeWall: ratio(rows.fresh.wallMs, p.wallMs),
        nodeFetchOverPoolscopeWall: ratio(rows['node-fetch'].wallMs, p.wallMs),
        poolscopePeakSockets: p.peakSockets,
        poolscopeWarmPeakSockets: rows['poolscope-warm'].peakSockets,
        freshPeakSockets: rows.fresh.peakSockets,
        nodeFetchPeakSockets: rows['node-fetch'].peakSockets,
        poolscopeSuccessRate: p.successRate,
        freshSuccessRate: rows.fresh.successRate,
        nodeFetchSuccessRate: rows['node-fetch'].successRate,
      };
    }
  }
  const hs = summary.https_small;
  const hl = summary.https_large;
  return {
    params: {
      concurrent: sizes,
      repetitions,
      upstreamLatencyMs,
      poolConnections,
      poolMaxConcurrent: poolConnections,
      warm: `the pool first served ${poolConnections} concurrent requests`,
    },
    results,
    summary,
    table: {
      headers: [
        'protocol',
        'concurrent',
        'variant',
        'wall ms (median)',
        'wall min–max',
        'peak sockets',
        'success',
        'p50 ms',
        'p95 ms',
      ],
      rows: results.map((r) => [
        r.protocol,
        r.concurrent,
        r.variant,
        r.wallMs,
        `${r.wallMinMs}–${r.wallMaxMs}`,
        r.peakSockets,
        pct(r.successRate),
        r.p50Ms,
        r.p95Ms,
      ]),
    },
    notes: [
      `HTTPS, ${hs.concurrent} at once: poolscope ${hs.poolscopeWallMs} ms cold, ${hs.poolscopeWarmWallMs} ms warm, with ${hs.poolscopePeakSockets} sockets; ` +
        `a new connection per request ${hs.freshWallMs} ms with ${hs.freshPeakSockets}; Node fetch ${hs.nodeFetchWallMs} ms with ${hs.nodeFetchPeakSockets}.`,
      `HTTPS, ${hl.concurrent} at once: poolscope ${hl.poolscopeWallMs} ms (${hl.poolscopePeakSockets} sockets) vs ${hl.freshWallMs} ms ` +
        `(${hl.freshPeakSockets}) and Node fetch ${hl.nodeFetchWallMs} ms (${hl.nodeFetchPeakSockets}).`,
      `With ${poolConnections} connections and ${upstreamLatencyMs} ms per request the pool needs about ⌈N/${poolConnections}⌉ × ${upstreamLatencyMs} ms; ` +
        'unbounded clients run everything at once but pay a handshake per socket and put N connections on the upstream.',
    ],
  };
}
