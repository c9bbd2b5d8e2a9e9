/**
 * 4. Overhead: `pool.fetch` (limiter, retries armed, phase and request timeouts, every metric on) vs raw
 * `undici.fetch` on an undici `Pool` built with the same options and no metrics, against a bare node:http
 * server in the other process. Rounds alternate A B B A ... so drift on a shared machine cancels; the ratio
 * is the median of the adjacent pairs' ratios (robust to a slow stretch hitting one variant), the req/s and
 * µs figures are medians over rounds.
 */
import { Registry } from 'prom-client';
import { Pool, fetch as undiciFetch } from 'undici';
import { createPool } from '../../dist/src/index.js';
import { forEachConcurrently, median, now, ratio, round } from '../lib/measure.js';
import { withUpstream } from '../lib/upstreams.js';

export const id = 'overhead';
export const title = 'Overhead: pool.fetch (limiter + metrics) vs raw undici.fetch on the same undici Pool';

const TARGET_RATIO = 0.95;

/** The undici Pool poolscope builds for these options, without poolscope around it. */
function rawPoolLike(pool, ca) {
  const o = pool.options;
  return new Pool(pool.origin, {
    connections: o.connections,
    pipelining: 1,
    keepAliveTimeout: o.keepAliveTimeoutMs,
    keepAliveMaxTimeout: o.keepAliveTimeoutMs,
    allowH2: o.allowH2,
    headersTimeout: o.timeouts.headersMs,
    bodyTimeout: o.timeouts.bodyMs,
    connect: { timeout: o.timeouts.connectMs, ...(ca && { ca }) },
  });
}

async function consume(promise) {
  const response = await promise;
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
}

/** @param {import('../run.js').Context} ctx */
export async function run(ctx) {
  const connections = 10;
  const modes = [
    { protocol: 'http', concurrency: connections },
    { protocol: 'http', concurrency: 1 },
    { protocol: 'https', concurrency: connections },
  ];
  const roundsPerVariant = ctx.quick ? 2 : 12;
  const results = [];
  for (const mode of modes) {
    const perRound = ctx.quick ? 50 : mode.concurrency === 1 ? 1000 : 2000;
    const row = await withUpstream(ctx.host, { kind: 'fast', tls: mode.protocol === 'https' }, async (upstream) => {
      const url = `${upstream.origin}/rest/v1/uploads`;
      const pool = createPool({
        name: 'overhead',
        origin: upstream.origin,
        connections,
        registry: new Registry(),
        ...(upstream.ca && { tls: { ca: upstream.ca } }),
      });
      const raw = rawPoolLike(pool, upstream.ca);
      const variants = {
        poolscope: () => consume(pool.fetch(url)),
        raw: () => consume(undiciFetch(url, { dispatcher: raw })),
      };
      const roundOf = async (name, count) => {
        const send = variants[name];
        const start = now();
        await forEachConcurrently(count, mode.concurrency, () => send());
        return (count / (now() - start)) * 1000;
      };
      try {
        // Warm-up: JIT, sockets open on both.
        for (const name of ['poolscope', 'raw', 'poolscope', 'raw']) await roundOf(name, Math.ceil(perRound / 2));
        const throughput = { poolscope: [], raw: [] };
        for (let pair = 0; pair < roundsPerVariant; pair++) {
          const order = pair % 2 === 0 ? ['poolscope', 'raw'] : ['raw', 'poolscope'];
          for (const name of order) throughput[name].push(await roundOf(name, perRound));
        }
        const a = median(throughput.poolscope);
        const b = median(throughput.raw);
        // Per-request figures from the median throughput; each pair's own ratio shows the spread.
        const roundRatios = throughput.poolscope.map((value, i) => value / throughput.raw[i]);
        const pairedRatio = median(roundRatios);
        return {
          protocol: mode.protocol,
          concurrency: mode.concurrency,
          requestsPerRound: perRound,
          rounds: roundsPerVariant,
          poolscopeRequestsPerSecond: round(a, 0),
          rawRequestsPerSecond: round(b, 0),
          ratio: round(pairedRatio, 3),
          ratioOfMedians: ratio(a, b, 3),
          roundRatioMin: round(Math.min(...roundRatios), 3),
          roundRatioMax: round(Math.max(...roundRatios), 3),
          poolscopeUsPerRequest: round(1e6 / a, 1),
          rawUsPerRequest: round(1e6 / b, 1),
          instrumentationCostUs: round(1e6 / a - 1e6 / b, 1),
          metTarget: pairedRatio >= TARGET_RATIO,
        };
      } finally {
        await pool.close();
        await raw.close();
      }
    });
    ctx.log(`overhead ${mode.protocol} c=${mode.concurrency}: ${row.ratio}× (${row.instrumentationCostUs} µs/request)`);
    results.push(row);
  }
  const headline = results[0];
  return {
    params: {
      poolConnections: connections,
      maxConcurrent: connections,
      roundsPerVariant,
      order: 'ABBA pairs',
      ratio: 'median of the pairs\' ratios',
      server: 'bare node:http, other process',
    },
    results,
    summary: {
      ratio: headline.ratio,
      instrumentationCostUs: headline.instrumentationCostUs,
      allRatios: Object.fromEntries(results.map((r) => [`${r.protocol}_c${r.concurrency}`, r.ratio])),
    },
    target: {
      description: `pool.fetch throughput ≥ ${TARGET_RATIO}× raw undici.fetch (HTTP, ${headline.concurrency} in flight)`,
      threshold: TARGET_RATIO,
      value: headline.ratio,
      met: headline.metTarget,
      metInEveryMode: results.every((r) => r.metTarget),
      measured: results.map((r) => `${r.protocol} c=${r.concurrency}: ${r.ratio}×`).join(', '),
    },
    table: {
      headers: ['protocol', 'in flight', 'poolscope req/s', 'raw req/s', 'ratio (median of pairs)', 'pair ratios', 'poolscope µs/req', 'raw µs/req', 'instrumentation µs/req'],
      rows: results.map((r) => [
        r.protocol,
        r.concurrency,
        r.poolscopeRequestsPerSecond,
        r.rawRequestsPerSecond,
        r.ratio,
        `${r.roundRatioMin}–${r.roundRatioMax}`,
        r.poolscopeUsPerRequest,
        r.rawUsPerRequest,
        r.instrumentationCostUs,
      ]),
    },
    notes: [
      'ratio = median over the ABBA pairs of poolscope ÷ raw throughput; req/s and µs are medians over rounds.',
      'µs/request = 1 / median throughput; with 10 in flight that is the client\'s CPU time per request (the client is the bottleneck on one core).',
      'Both variants go through undici.fetch (WHATWG Request/Response, body stream); poolscope adds its limiter slot, request lifecycle, dispatcher wrapper, and metric updates.',
    ],
  };
}
