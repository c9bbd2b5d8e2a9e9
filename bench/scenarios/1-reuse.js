/**
 * 1. Reuse: sequential requests through a poolscope pool (kept-alive sockets) vs a new connection per
 * request, over HTTPS and plain HTTP. The two variants run interleaved in blocks, each against its own
 * upstream, so drift on a noisy machine hits both alike and each upstream counts its variant's sockets.
 */
import { latencies, ratio, round } from '../lib/measure.js';
import { withUpstream } from '../lib/upstreams.js';
import { freshConnectionVariant, poolscopeVariant, tally } from '../lib/variants.js';

export const id = 'reuse';
export const title = 'Connection reuse: sequential requests, pooled vs a new connection per request';

/** @param {import('../run.js').Context} ctx */
export async function run(ctx) {
  const requests = ctx.quick ? 20 : 1000;
  const warmup = ctx.quick ? 2 : 50;
  const block = ctx.quick ? 5 : 50;
  const results = [];
  const summary = {};
  for (const tls of [true, false]) {
    const protocol = tls ? 'https' : 'http';
    await withUpstream(ctx.host, { tls }, (pooledUpstream) =>
      withUpstream(ctx.host, { tls }, async (freshUpstream) => {
        const pooled = poolscopeVariant(pooledUpstream);
        const fresh = freshConnectionVariant(freshUpstream);
        // The pooled variant's very first request opens its connection: the reference's "first request".
        const first = await pooled.send('/rest/v1/uploads');
        for (let i = 0; i < warmup; i++) {
          await pooled.send('/rest/v1/uploads');
          await fresh.send('/rest/v1/uploads');
        }
        const timings = { poolscope: latencies(), fresh: latencies() };
        const outcomes = { poolscope: [], fresh: [] };
        for (let done = 0; done < requests; done += block) {
          for (const variant of [pooled, fresh]) {
            for (let i = 0; i < block && done + i < requests; i++) {
              const outcome = await variant.send('/rest/v1/uploads');
              outcomes[variant.name].push(outcome);
              timings[variant.name].record(outcome.ms);
            }
          }
        }
        await pooled.close();
        await fresh.close();
        const stats = { poolscope: await pooledUpstream.stats(), fresh: await freshUpstream.stats() };
        for (const name of ['poolscope', 'fresh']) {
          const t = timings[name].summary();
          const count = tally(outcomes[name]);
          results.push({
            protocol,
            variant: name,
            requests: t.count,
            p50Ms: t.p50Ms,
            p99Ms: t.p99Ms,
            meanMs: t.meanMs,
            successRate: round(count.successRate, 4),
            // Over every request sent to this variant's upstream: the first, the warm-up and the timed ones.
            requestsSent: stats[name].requests,
            connectionsOpened: stats[name].acceptedSockets,
            ...(name === 'poolscope' && { firstRequestMs: round(first.ms, 3) }),
          });
        }
        const p = results.at(-2);
        const f = results.at(-1);
        summary[protocol] = {
          pooledP50Ms: p.p50Ms,
          freshP50Ms: f.p50Ms,
          pooledP99Ms: p.p99Ms,
          freshP99Ms: f.p99Ms,
          p50Speedup: ratio(f.p50Ms, p.p50Ms),
          p99Speedup: ratio(f.p99Ms, p.p99Ms),
          pooledFirstRequestMs: p.firstRequestMs,
        };
      }),
    );
  }
  return {
    params: {
      requestsPerVariant: requests,
      warmupPerVariant: warmup,
      interleavedBlock: block,
      upstreamLatencyMs: 0,
      poolConnections: 20,
    },
    results,
    summary,
    table: {
      headers: [
        'protocol',
        'variant',
        'timed requests',
        'p50 ms',
        'p99 ms',
        'mean ms',
        'success',
        'connections opened / requests sent',
      ],
      rows: results.map((r) => [
        r.protocol,
        r.variant,
        r.requests,
        r.p50Ms,
        r.p99Ms,
        r.meanMs,
        pct(r.successRate),
        `${r.connectionsOpened} / ${r.requestsSent}`,
      ]),
    },
    notes: [
      `HTTPS: a new connection per request is ${summary.https.p50Speedup}× slower at the median (${summary.https.freshP50Ms} vs ${summary.https.pooledP50Ms} ms) and ${summary.https.p99Speedup}× at p99.`,
      `HTTP: ${summary.http.p50Speedup}× at the median (${summary.http.freshP50Ms} vs ${summary.http.pooledP50Ms} ms).`,
      `The pooled variant's first request (opening its connection) took ${summary.https.pooledFirstRequestMs} ms over HTTPS, ${summary.http.pooledFirstRequestMs} ms over HTTP.`,
    ],
  };
}

export const pct = (rate) => `${round(rate * 100, 1)}%`;
