/**
 * 7. SDK path: the burst of scenario 2 through the real OpenAI and Supabase SDKs, over HTTPS, against
 * their wire simulators: poolscope's clients (`createClients` from environment variables, default pool
 * sizes) vs each SDK with its default fetch (Node's global fetch), one shared client, and vs a new SDK
 * client per request (the reference design's bad example). Fresh upstream per measurement.
 */
import { createClient } from '@supabase/supabase-js';
import OpenAI from 'openai';
import { Registry } from 'prom-client';
import { WebSocket } from 'undici';
import { createClients, loadConfig } from '../../dist/index.js';
import { latencies, median, now, ratio, round } from '../lib/measure.js';
import { useNodeDefaultFetch } from '../lib/node-default-fetch.js';
import { withUpstream } from '../lib/upstreams.js';
import { errorCode, tally } from '../lib/variants.js';
import { pct } from './1-reuse.js';

export const id = 'sdk';
export const title = 'SDK path: the burst through the real OpenAI and Supabase SDKs, poolscope vs SDK defaults';

const OPENAI_KEY = 'sk-bench-not-a-real-key';
const VARIANTS = ['poolscope', 'sdk-default', 'sdk-default-per-request'];

/** One SDK call per API, and how to build its clients. */
const APIS = {
  openai: {
    kind: 'openai',
    env: (upstream) => ({ OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: upstream.baseURL }),
    poolscopeClient: (clients) => clients.sdk.openai,
    defaultClient: (upstream) => new OpenAI({ apiKey: OPENAI_KEY, baseURL: upstream.baseURL }),
    call: async (client) => {
      const completion = await client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'Say hello' }],
      });
      return completion.choices.length > 0;
    },
  },
  supabase: {
    kind: 'supabase',
    env: (upstream) => ({ SUPABASE_URL: upstream.url, SUPABASE_ANON_KEY: upstream.anonKey }),
    poolscopeClient: (clients) => clients.sdk.supabase,
    defaultClient: (upstream) =>
      createClient(upstream.url, upstream.anonKey, {
        // Node 20 has no global WebSocket; realtime is never connected here, but the client needs a transport.
        realtime: { transport: /** @type {any} undici's WebSocket types differ from realtime-js' */ (WebSocket) },
        auth: { persistSession: false, autoRefreshToken: false },
      }),
    call: async (client) => {
      const { data, error } = await client.from('uploads').select('*');
      return !error && Array.isArray(data);
    },
  },
};

/** @param {import('../run.js').Context} ctx */
export async function run(ctx) {
  const upstreamLatencyMs = 20;
  const sizes = ctx.quick ? [10] : [100, 1000];
  const repetitions = ctx.quick ? [1] : [2, 1];
  const results = [];
  const summary = { upstreamLatencyMs };

  const measure = (apiName, variant, size) => {
    const api = APIS[apiName];
    return withUpstream(
      ctx.host,
      { kind: api.kind, tls: true, behaviour: { latencyMs: upstreamLatencyMs } },
      async (upstream) => {
        let client;
        let close = async () => undefined;
        let poolSize;
        if (variant === 'poolscope') {
          const clients = createClients(loadConfig(api.env(upstream)), {
            registry: new Registry(),
            tls: { ca: upstream.ca },
          });
          client = api.poolscopeClient(clients);
          poolSize = clients.pools()[0]?.stats().maxConnections;
          close = () => clients.close();
        } else {
          close = useNodeDefaultFetch(upstream.ca);
          if (variant === 'sdk-default') client = api.defaultClient(upstream);
        }
        try {
          const t0 = now();
          const outcomes = await Promise.all(
            Array.from({ length: size }, async () => {
              const start = now();
              try {
                const ok = await api.call(client ?? api.defaultClient(upstream));
                const end = now();
                return { ok, ms: end - start, endAt: end, ...(!ok && { error: 'bad answer' }) };
              } catch (error) {
                const end = now();
                return { ok: false, ms: end - start, endAt: end, error: errorCode(error) };
              }
            }),
          );
          const wallMs = Math.max(...outcomes.map((o) => o.endAt)) - t0;
          const stats = await upstream.stats();
          return { wallMs, outcomes, peakSockets: stats.peakOpenSockets, requests: stats.requests, poolSize };
        } finally {
          await close();
        }
      },
    );
  };

  for (const apiName of Object.keys(APIS)) {
    for (const variant of VARIANTS) await measure(apiName, variant, sizes[0]); // warm-up, discarded
    for (const [index, size] of sizes.entries()) {
      const samples = Object.fromEntries(VARIANTS.map((v) => [v, []]));
      for (let rep = 0; rep < repetitions[index]; rep++) {
        const order = VARIANTS.map((_, i) => VARIANTS[(i + rep) % VARIANTS.length]);
        for (const variant of order) samples[variant].push(await measure(apiName, variant, size));
      }
      const rows = {};
      for (const variant of VARIANTS) {
        const runs = samples[variant];
        const all = runs.flatMap((r) => r.outcomes);
        const timing = latencies();
        for (const outcome of all) timing.record(outcome.ms);
        const count = tally(all);
        rows[variant] = {
          sdk: apiName,
          concurrent: size,
          variant,
          repetitions: runs.length,
          wallMs: round(median(runs.map((r) => r.wallMs)), 1),
          peakSockets: Math.max(...runs.map((r) => r.peakSockets)),
          upstreamRequests: Math.max(...runs.map((r) => r.requests)),
          successRate: round(count.successRate, 4),
          errors: count.errors,
          p95Ms: timing.summary().p95Ms,
          ...(runs[0].poolSize !== undefined && { poolSize: runs[0].poolSize }),
        };
        results.push(rows[variant]);
        ctx.log(`sdk ${apiName} ${size} ${variant}: ${rows[variant].wallMs} ms, peak ${rows[variant].peakSockets}`);
      }
      const p = rows.poolscope;
      summary[`${apiName}_${size}`] = {
        poolscopeWallMs: p.wallMs,
        sdkDefaultWallMs: rows['sdk-default'].wallMs,
        perRequestWallMs: rows['sdk-default-per-request'].wallMs,
        sdkDefaultOverPoolscopeWall: ratio(rows['sdk-default'].wallMs, p.wallMs),
        poolscopePeakSockets: p.peakSockets,
        sdkDefaultPeakSockets: rows['sdk-default'].peakSockets,
        perRequestPeakSockets: rows['sdk-default-per-request'].peakSockets,
        poolscopeSuccessRate: p.successRate,
        sdkDefaultSuccessRate: rows['sdk-default'].successRate,
      };
    }
  }
  return {
    params: {
      concurrent: sizes,
      repetitions,
      upstreamLatencyMs,
      protocol: 'https',
      pools: 'createClients defaults: supabase 20 connections, openai 10 (OPENAI_MAX_CONCURRENT)',
      sdkDefaults: 'Node global fetch, SDK retries as shipped (openai maxRetries 2)',
    },
    results,
    summary,
    table: {
      headers: [
        'SDK',
        'concurrent',
        'variant',
        'wall ms (median)',
        'peak sockets',
        'success',
        'p95 ms',
        'requests seen upstream',
      ],
      rows: results.map((r) => [
        r.sdk,
        r.concurrent,
        r.variant + (r.poolSize ? ` (pool ${r.poolSize})` : ''),
        r.wallMs,
        r.peakSockets,
        pct(r.successRate),
        r.p95Ms,
        r.upstreamRequests,
      ]),
    },
    notes: [
      "A new SDK client per request opens no more sockets than one shared client: both use Node's one global dispatcher. What differs from poolscope is the bound, not reuse.",
    ],
  };
}
