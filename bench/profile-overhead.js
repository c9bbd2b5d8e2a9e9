#!/usr/bin/env node
/**
 * Where `pool.fetch`'s time goes: the overhead scenario's workload (HTTP, 10 in flight, bare server in the
 * other process), poolscope or raw undici only, for a fixed time, meant to run under the CPU profiler:
 *
 *   npm run build && node --cpu-prof --cpu-prof-dir=/tmp/poolscope-prof bench/profile-overhead.js [poolscope|raw] [seconds]
 *   node bench/lib/cpuprofile-summary.js /tmp/poolscope-prof/<file>.cpuprofile
 */
import { Registry } from 'prom-client';
import { Pool, fetch as undiciFetch } from 'undici';
import { createPool } from '../dist/index.js';
import { forEachConcurrently, now, round } from './lib/measure.js';
import { startUpstreamHost } from './lib/upstreams.js';

const variant = process.argv[2] ?? 'poolscope';
const seconds = Number(process.argv[3] ?? 10);
if (!['poolscope', 'raw'].includes(variant) || !(seconds > 0)) {
  process.stderr.write('usage: profile-overhead.js [poolscope|raw] [seconds]\n');
  process.exit(2);
}

const host = await startUpstreamHost();
const upstream = await host.start({ kind: 'fast' });
const url = `${upstream.origin}/rest/v1/uploads`;
const pool = createPool({ name: 'profile', origin: upstream.origin, connections: 10, registry: new Registry() });
const o = pool.options;
const raw = new Pool(upstream.origin, {
  connections: o.connections,
  pipelining: 1,
  keepAliveTimeout: o.keepAliveTimeoutMs,
  keepAliveMaxTimeout: o.keepAliveTimeoutMs,
  headersTimeout: o.timeouts.headersMs,
  bodyTimeout: o.timeouts.bodyMs,
  connect: { timeout: o.timeouts.connectMs },
});
const send =
  variant === 'poolscope'
    ? async () => (await pool.fetch(url)).arrayBuffer()
    : async () => (await undiciFetch(url, { dispatcher: raw })).arrayBuffer();

const deadline = now() + seconds * 1000;
let requests = 0;
const t0 = now();
while (now() < deadline) {
  await forEachConcurrently(1000, 10, send);
  requests += 1000;
}
const elapsed = (now() - t0) / 1000;
process.stderr.write(
  `${variant}: ${requests} requests in ${round(elapsed, 1)} s = ${round(requests / elapsed, 0)} req/s\n`,
);
await pool.close();
await raw.close();
await upstream.close();
await host.close();
