/**
 * 4. Overhead: `pool.fetch` (limiter, retries armed, phase and request timeouts, every metric on) vs raw
 * `undici.fetch` on an undici `Pool` built with the same options and no metrics, against a bare node:http
 * server in the other process; and, side by side, what a metrics-minded user adds instead: raw `undici.fetch`
 * with OpenTelemetry's undici instrumentation on (a span per request + `http.client.request.duration`).
 * Each round runs the three variants in a rotating order so drift on a shared machine cancels; a ratio is the
 * median of the rounds' own ratios (robust to a slow stretch hitting one variant), the req/s and µs figures
 * are medians over rounds.
 */
import { Registry } from 'prom-client';
import { Pool, fetch as undiciFetch } from 'undici';
import { createPool } from '../../dist/index.js';
import { forEachConcurrently, median, now, ratio, round } from '../lib/measure.js';
import { otelUndici } from '../lib/otel-undici.js';
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
      const otel = otelUndici();
      const variants = {
        poolscope: () => consume(pool.fetch(url)),
        raw: () => consume(undiciFetch(url, { dispatcher: raw })),
        otel: () => consume(undiciFetch(url, { dispatcher: raw })),
      };
      const roundOf = async (name, count) => {
        const send = variants[name];
        if (name === 'otel') otel.enable();
        try {
          const start = now();
          await forEachConcurrently(count, mode.concurrency, () => send());
          return (count / (now() - start)) * 1000;
        } finally {
          otel.disable();
        }
      };
      const names = ['poolscope', 'raw', 'otel'];
      try {
        // Warm-up: JIT, sockets open on both.
        for (const name of [...names, ...names]) await roundOf(name, Math.ceil(perRound / 2));
        const throughput = { poolscope: [], raw: [], otel: [] };
        for (let round = 0; round < roundsPerVariant; round++) {
          // Rotate, and reverse every other round: each variant runs first, middle and last equally often.
          const rotated = names.map((_, i) => names[(i + round) % names.length]);
          for (const name of round % 2 === 0 ? rotated : rotated.reverse())
            throughput[name].push(await roundOf(name, perRound));
        }
        const spans = await otel.exportedSpans();
        if (spans < perRound)
          throw new Error(`the OpenTelemetry peer recorded ${spans} spans: it is not measuring what it claims`);
        const a = median(throughput.poolscope);
        const b = median(throughput.raw);
        const c = median(throughput.otel);
        // Per-request figures from the median throughput; each round's own ratio shows the spread.
        const roundRatios = throughput.poolscope.map((value, i) => value / throughput.raw[i]);
        const pairedRatio = median(roundRatios);
        const otelRatio = median(throughput.otel.map((value, i) => value / throughput.raw[i]));
        const versusOtel = median(throughput.poolscope.map((value, i) => value / throughput.otel[i]));
        return {
          protocol: mode.protocol,
          concurrency: mode.concurrency,
          requestsPerRound: perRound,
          rounds: roundsPerVariant,
          poolscopeRequestsPerSecond: round(a, 0),
          rawRequestsPerSecond: round(b, 0),
          otelRequestsPerSecond: round(c, 0),
          ratio: round(pairedRatio, 3),
          ratioOfMedians: ratio(a, b, 3),
          roundRatioMin: round(Math.min(...roundRatios), 3),
          roundRatioMax: round(Math.max(...roundRatios), 3),
          otelRatio: round(otelRatio, 3),
          poolscopeVersusOtel: round(versusOtel, 3),
          otelSpansExported: spans,
          poolscopeUsPerRequest: round(1e6 / a, 1),
          rawUsPerRequest: round(1e6 / b, 1),
          otelUsPerRequest: round(1e6 / c, 1),
          instrumentationCostUs: round(1e6 / a - 1e6 / b, 1),
          otelCostUs: round(1e6 / c - 1e6 / b, 1),
          metTarget: pairedRatio >= TARGET_RATIO,
        };
      } finally {
        await otel.shutdown();
        await pool.close();
        await raw.close();
      }
    });
    ctx.log(
      `overhead ${mode.protocol} c=${mode.concurrency}: ${row.ratio}× raw (${row.instrumentationCostUs} µs/request); ` +
        `OpenTelemetry undici ${row.otelRatio}× raw (${row.otelCostUs} µs/request); poolscope ${row.poolscopeVersusOtel}× OpenTelemetry`,
    );
    results.push(row);
  }
  const headline = results[0];
  return {
    params: {
      poolConnections: connections,
      maxConcurrent: connections,
      roundsPerVariant,
      order: 'poolscope, raw, OpenTelemetry rotated each round, every other round reversed',
      ratio: "median of the rounds' ratios",
      peer: '@opentelemetry/instrumentation-undici (span per request, BatchSpanProcessor; http.client.request.duration) on raw undici.fetch',
      server: 'bare node:http, other process',
    },
    results,
    summary: {
      ratio: headline.ratio,
      instrumentationCostUs: headline.instrumentationCostUs,
      allRatios: Object.fromEntries(results.map((r) => [`${r.protocol}_c${r.concurrency}`, r.ratio])),
      otelRatio: headline.otelRatio,
      poolscopeVersusOtel: headline.poolscopeVersusOtel,
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
      headers: [
        'protocol',
        'in flight',
        'poolscope req/s',
        'raw req/s',
        'OpenTelemetry req/s',
        'poolscope ÷ raw',
        'round ratios',
        'OpenTelemetry ÷ raw',
        'poolscope ÷ OpenTelemetry',
        'poolscope µs/req added',
        'OpenTelemetry µs/req added',
      ],
      rows: results.map((r) => [
        r.protocol,
        r.concurrency,
        r.poolscopeRequestsPerSecond,
        r.rawRequestsPerSecond,
        r.otelRequestsPerSecond,
        r.ratio,
        `${r.roundRatioMin}–${r.roundRatioMax}`,
        r.otelRatio,
        r.poolscopeVersusOtel,
        r.instrumentationCostUs,
        r.otelCostUs,
      ]),
    },
    notes: [
      'ratio = median over the rounds of poolscope ÷ raw throughput; req/s and µs are medians over rounds.',
      'OpenTelemetry = raw undici.fetch with @opentelemetry/instrumentation-undici enabled for its rounds only (a span per request through a BatchSpanProcessor, the http.client.request.duration histogram), exporters that drop what they get.',
      "µs/request = 1 / median throughput; with 10 in flight that is the client's CPU time per request (the client is the bottleneck on one core).",
      'Both variants go through undici.fetch (WHATWG Request/Response, body stream); poolscope adds its limiter slot, request lifecycle, dispatcher wrapper, and metric updates.',
    ],
  };
}
