/**
 * 3. The reference design's load test against an upstream that, like Postgres with max_connections = 100,
 * resets connections beyond 100 open ones. The reference sent 1000 requests over 60 s; here the same 1000
 * requests arrive evenly over 5 s (12× the rate), so the run stays short. Each variant gets a fresh
 * upstream; no variant retries.
 *
 * Whether the unpooled client exceeds the cap depends on how long its connections stay open, not on
 * pooling as such: a connection closed after each response holds one socket per request in flight, a
 * client created per request and never closed holds its socket until its keep-alive timeout.
 */
import { latencies, now, ratio, round, sleep } from '../lib/measure.js';
import { withUpstream } from '../lib/upstreams.js';
import { VARIANTS, tally } from '../lib/variants.js';
import { pct } from './1-reuse.js';

export const id = 'capped';
export const title = 'Connection-capped upstream (max 100 connections): the reference load test, scaled down';

const ORDER = ['dropped', 'fresh', 'node-fetch', 'poolscope'];
const PATH = '/rest/v1/uploads?select=*';

/** Fires `count` sends evenly over `windowMs` (open loop: arrivals do not wait for answers). */
async function openLoop(count, windowMs, send) {
  const interval = windowMs / count;
  const t0 = now();
  const pending = [];
  for (let i = 0; i < count; i++) {
    const wait = t0 + i * interval - now();
    if (wait >= 1) await sleep(wait);
    pending.push(send());
  }
  return Promise.all(pending);
}

/** @param {import('../run.js').Context} ctx */
export async function run(ctx) {
  const requests = ctx.quick ? 60 : 1000;
  const windowMs = ctx.quick ? 200 : 5_000;
  const maxConnections = ctx.quick ? 10 : 100;
  const poolConnections = ctx.quick ? 4 : 20;
  const upstreamLatencyMs = ctx.quick ? 10 : 50;
  const results = [];
  const summary = { requests, windowMs, referenceWindowMs: 60_000, maxConnections, poolConnections, upstreamLatencyMs };

  for (const tls of [true, false]) {
    const protocol = tls ? 'https' : 'http';
    summary[protocol] = {};
    for (const name of ORDER) {
      const behaviour = { latencyMs: upstreamLatencyMs, maxConnections };
      const row = await withUpstream(ctx.host, { tls, behaviour }, async (upstream) => {
        const variant = VARIANTS[name](upstream, { connections: poolConnections });
        try {
          const t0 = now();
          const outcomes = await openLoop(requests, windowMs, () => variant.send(PATH));
          const elapsedMs = Math.max(...outcomes.map((o) => o.endAt)) - t0;
          const stats = await upstream.stats();
          const ok = latencies();
          for (const outcome of outcomes) if (outcome.ok) ok.record(outcome.ms);
          const t = ok.summary();
          const count = tally(outcomes);
          return {
            protocol,
            variant: name,
            requests,
            successRate: round(count.successRate, 4),
            failed: count.failed,
            errors: count.errors,
            p50Ms: t.p50Ms,
            p95Ms: t.p95Ms,
            peakConnections: stats.peakOpenSockets,
            connectionsOpened: stats.acceptedSockets,
            refused: stats.refusedSockets,
            elapsedMs: round(elapsedMs, 0),
          };
        } finally {
          await variant.close();
        }
      });
      ctx.log(
        `capped ${protocol} ${name}: ${pct(row.successRate)} ok, peak ${row.peakConnections}, ${row.refused} refused`,
      );
      results.push(row);
      summary[protocol][name] = {
        successRate: row.successRate,
        p95Ms: row.p95Ms,
        peakConnections: row.peakConnections,
        refused: row.refused,
      };
    }
  }
  const h = summary.https;
  return {
    params: {
      requests,
      windowMs,
      scale: `${requests} requests over ${windowMs / 1000} s instead of 60 s (${round(60_000 / windowMs, 1)}× the reference rate, ${round(requests / (windowMs / 1000), 0)} req/s), evenly spaced`,
      maxConnections,
      upstreamLatencyMs,
      poolConnections,
      droppedClientKeepAliveMs: 4000,
    },
    results,
    summary,
    table: {
      headers: [
        'protocol',
        'variant',
        'success',
        'p50 ms (ok)',
        'p95 ms (ok)',
        'peak connections',
        'connections opened',
        'refused by the cap',
        'errors',
      ],
      rows: results.map((r) => [
        r.protocol,
        r.variant,
        pct(r.successRate),
        r.p50Ms,
        r.p95Ms,
        r.peakConnections,
        r.connectionsOpened,
        r.refused,
        Object.entries(r.errors)
          .map(([code, n]) => `${code} ×${n}`)
          .join(', ') || '—',
      ]),
    },
    notes: [
      `A client per request that is never closed keeps each socket for its 4 s keep-alive: at ${round(requests / (windowMs / 1000), 0)} req/s that is far beyond ${maxConnections} ` +
        `open connections, so the upstream resets new ones: ${pct(h.dropped.successRate)} success over HTTPS.`,
      `Closing each connection after its response keeps only the requests in flight open (peak ${h.fresh.peakConnections}): ${pct(h.fresh.successRate)} success, ` +
        `p95 ${h.fresh.p95Ms} ms vs poolscope's ${h.poolscope.p95Ms} ms (${ratio(h.fresh.p95Ms, h.poolscope.p95Ms)}×).`,
      `poolscope: ${pct(h.poolscope.successRate)} success with at most ${h.poolscope.peakConnections} connections (the pool holds ${poolConnections}).`,
    ],
  };
}
