import http2 from 'node:http2';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { describe, expect, it, vi } from 'vitest';
import { selfSignedCert } from '../src/simulators/cert.js';
import { useCleanup } from './support/harness.js';
import { metricValue } from './support/metrics.js';

const { pool, defer } = useCleanup();

/** An HTTP/2-only TLS server that holds every response until the test lets them go. */
async function startH2Server() {
  const { key, cert } = await selfSignedCert();
  const server = http2.createSecureServer({ key, cert });
  const held: http2.Http2ServerResponse[] = [];
  const versions = new Set<string>();
  let sessions = 0;
  server.on('session', () => sessions++);
  server.on('request', (req, res) => {
    versions.add(req.httpVersion);
    held.push(res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  defer(async () => {
    for (const res of held.splice(0)) res.end();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    origin: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    ca: cert,
    held,
    versions,
    sessions: () => sessions,
    releaseAll: () => {
      for (const res of held.splice(0)) res.end('ok');
    },
  };
}

describe('a pool with allowH2 against an HTTP/2 origin', () => {
  it('runs concurrent requests as streams of one connection, and its gauges say so', async () => {
    const upstream = await startH2Server();
    const registry = new Registry();
    const p = pool({
      name: 'h2',
      origin: upstream.origin,
      allowH2: true,
      connections: 4,
      maxConcurrent: 10,
      tls: { ca: upstream.ca },
      registry,
    });

    // A first request opens the session (a burst on a cold pool may open up to `connections` while connecting).
    const first = p.fetch(`${upstream.origin}/v1/warm`).then((r) => r.text());
    await vi.waitFor(() => expect(upstream.held.length).toBe(1), { timeout: 5_000, interval: 10 });
    upstream.releaseAll();
    expect(await first).toBe('ok');

    const responses = Promise.all(
      Array.from({ length: 10 }, () => p.fetch(`${upstream.origin}/v1/items`).then((r) => r.text())),
    );
    responses.catch(() => undefined); // awaited below; a failed assertion before that must not leave it unhandled
    // All ten reach the server while none has been answered: they are multiplexed, not queued behind each other.
    await vi.waitFor(() => expect(upstream.held.length).toBe(10), { timeout: 5_000, interval: 10 });
    expect(upstream.sessions()).toBe(1);
    expect([...upstream.versions]).toEqual(['2.0']);
    expect(p.stats()).toMatchObject({ activeConnections: 1, activeRequests: 10 });
    expect(await metricValue(registry, 'poolscope_pool_connections', { pool: 'h2', state: 'active' })).toBe(1);

    upstream.releaseAll();
    expect(await responses).toEqual(Array(10).fill('ok'));
    expect(await metricValue(registry, 'poolscope_pool_connections_created_total', { pool: 'h2' })).toBe(1);
  });
});
