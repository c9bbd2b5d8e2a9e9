import { once } from 'node:events';
import type { Socket } from 'node:net';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { PoolAcquireTimeoutError, PoolQueueFullError } from '../src/index.js';
import { useCleanup } from './support/harness.js';
import { parkedResponses as parked } from './support/http-server.js';
import { metricValue } from './support/metrics.js';

const { upstream, pool } = useCleanup();

describe('a pool bounds the sockets it opens', () => {
  it('serves 200 concurrent requests with connections: 4 over at most 4 sockets, all succeeding', async () => {
    const server = await upstream((_req, res) => setTimeout(() => res.end('ok'), 5));
    const p = pool({ name: 'bounded', origin: server.origin, connections: 4, registry: new Registry() });
    const bodies = await Promise.all(
      Array.from({ length: 200 }, () => p.fetch(`${server.origin}/items`).then((r) => r.text())),
    );
    expect(bodies.filter((b) => b === 'ok')).toHaveLength(200);
    expect(server.sockets.accepted).toBeLessThanOrEqual(4);
    expect(server.sockets.peak).toBeLessThanOrEqual(4);
    expect(p.stats()).toMatchObject({
      totalRequests: 200,
      successfulRequests: 200,
      totalConnections: server.sockets.accepted,
    });
  });

  it('reuses its keep-alive sockets: a second wave opens no new socket', async () => {
    const server = await upstream((_req, res) => res.end('ok'));
    const p = pool({ name: 'keepalive', origin: server.origin, connections: 4, registry: new Registry() });
    const wave = () =>
      Promise.all(Array.from({ length: 40 }, () => p.fetch(`${server.origin}/`).then((r) => r.text())));
    await wave();
    const afterFirst = server.sockets.accepted;
    await wave();
    expect(afterFirst).toBeGreaterThan(0);
    expect(server.sockets.accepted).toBe(afterFirst);
  });
});

describe('a pool closes idle sockets itself', () => {
  it("closes an idle socket after keepAliveTimeoutMs though the server's Keep-Alive hint says 600 s", async () => {
    // A server (or the load balancer in front of it) that advertises timeout=600 but may drop idle sockets sooner:
    // the client must close first, at its own bound, never at the hint's.
    const server = await upstream((_req, res) => {
      res.setHeader('keep-alive', 'timeout=600');
      res.end('ok');
    });
    server.server.keepAliveTimeout = 600_000;
    const accepted = once(server.server, 'connection') as Promise<[Socket]>;
    const p = pool({ name: 'idle', origin: server.origin, keepAliveTimeoutMs: 1_000, registry: new Registry() });
    const response = await p.fetch(`${server.origin}/`);
    expect(response.headers.get('keep-alive')).toBe('timeout=600');
    await response.text();
    const idleFrom = performance.now();
    const [socket] = await accepted;
    // The client's FIN: 'end' on the server's side of the socket. undici's keep-alive timer ticks at ~1 s.
    const closedByClient = await Promise.race([
      once(socket, 'end').then(() => performance.now() - idleFrom),
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 4_000).unref()),
    ]);
    expect(closedByClient).toBeDefined();
    expect(closedByClient!).toBeGreaterThanOrEqual(1_000 - 50);
    expect(closedByClient!).toBeLessThan(3_000);
    expect(server.sockets.accepted).toBe(1);
  });
});

describe('a pool limits concurrency with a bounded FIFO queue', () => {
  it('queues the 11th request when 10 are in flight and reports pendingRequests 1', async () => {
    const gate = parked();
    const server = await upstream(gate.handler);
    const p = pool({
      name: 'queued',
      origin: server.origin,
      connections: 10,
      maxConcurrent: 10,
      registry: new Registry(),
    });
    const inFlight = Array.from({ length: 10 }, () => p.fetch(`${server.origin}/`).then((r) => r.text()));
    await server.waitForRequests(10);
    const eleventh = p.fetch(`${server.origin}/`).then((r) => r.text());
    expect(p.stats()).toMatchObject({ activeRequests: 10, pendingRequests: 1 });
    expect(server.requests).toBe(10);
    gate.releaseAll();
    await Promise.all(inFlight);
    await server.waitForRequests(11);
    gate.releaseAll();
    expect(await eleventh).toBe('done');
    expect(p.stats().pendingRequests).toBe(0);
  });

  it('rejects at once with PoolQueueFullError beyond maxQueued, and counts it', async () => {
    const gate = parked();
    const server = await upstream(gate.handler);
    const registry = new Registry();
    const p = pool({ name: 'full', origin: server.origin, maxConcurrent: 1, maxQueued: 1, registry });
    const first = p.fetch(`${server.origin}/`);
    await server.waitForRequests(1);
    const second = p.fetch(`${server.origin}/`);
    const error = await p.fetch(`${server.origin}/`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PoolQueueFullError);
    expect(error).toMatchObject({ code: 'POOLSCOPE_QUEUE_FULL', pool: 'full', limit: 1 });
    expect(
      await metricValue(registry, 'poolscope_request_failures_total', { pool: 'full', reason: 'queue_full' }),
    ).toBe(1);
    gate.releaseAll();
    await (await first).text();
    await server.waitForRequests(2);
    gate.releaseAll();
    await (await second).text();
  });

  it('fails a request that waits longer than acquireMs with PoolAcquireTimeoutError and frees its queue place', async () => {
    const gate = parked();
    const server = await upstream(gate.handler);
    const registry = new Registry();
    const p = pool({
      name: 'acquire',
      origin: server.origin,
      maxConcurrent: 1,
      maxQueued: 1,
      timeouts: { acquireMs: 50 },
      registry,
    });
    const first = p.fetch(`${server.origin}/`);
    await server.waitForRequests(1);
    const error = await p.fetch(`${server.origin}/`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PoolAcquireTimeoutError);
    expect(error).toMatchObject({ code: 'POOLSCOPE_ACQUIRE_TIMEOUT', pool: 'acquire', limitMs: 50 });
    expect(p.stats().pendingRequests).toBe(0);
    expect(
      await metricValue(registry, 'poolscope_request_failures_total', { pool: 'acquire', reason: 'acquire_timeout' }),
    ).toBe(1);
    expect(await metricValue(registry, 'poolscope_pool_acquire_wait_seconds_count', { pool: 'acquire' })).toBe(2);
    expect(await metricValue(registry, 'poolscope_pool_acquire_timeouts_total', { pool: 'acquire' })).toBe(1);
    gate.releaseAll();
    await (await first).text();
  });

  it('serves waiters first in, first out, and a waiter whose caller aborts leaves the line at once', async () => {
    const seen: string[] = [];
    const gate = parked();
    const server = await upstream((req, res) => {
      seen.push(req.url!);
      gate.handler(req, res);
    });
    const p = pool({ name: 'fifo', origin: server.origin, maxConcurrent: 1, registry: new Registry() });
    const first = p.fetch(`${server.origin}/1`);
    await server.waitForRequests(1);
    const second = p.fetch(`${server.origin}/2`);
    const controller = new AbortController();
    const third = p.fetch(`${server.origin}/3`, { signal: controller.signal });
    const fourth = p.fetch(`${server.origin}/4`);
    expect(p.stats().pendingRequests).toBe(3);
    controller.abort();
    await expect(third).rejects.toMatchObject({ name: 'AbortError' });
    expect(p.stats().pendingRequests).toBe(2);
    gate.releaseAll();
    await (await first).text();
    await server.waitForRequests(2);
    gate.releaseAll();
    await (await second).text();
    await server.waitForRequests(3);
    gate.releaseAll();
    await (await fourth).text();
    expect(seen).toEqual(['/1', '/2', '/4']);
  });

  it('holds the slot until the response body is fully read, not merely until fetch resolves', async () => {
    let finishBody: (() => void) | undefined;
    const server = await upstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: first\n\n');
      finishBody = () => res.end('data: last\n\n');
    });
    const p = pool({ name: 'held', origin: server.origin, maxConcurrent: 1, registry: new Registry() });
    const response = await p.fetch(`${server.origin}/stream`);
    const reader = response.body!.getReader();
    await reader.read();
    expect(p.stats().activeRequests).toBe(1);
    const ended = once(p, 'request:end');
    finishBody!();
    while (!(await reader.read()).done);
    const [event] = await ended;
    expect(event).toMatchObject({ pool: 'held', outcome: 'success', status: 200 });
    expect(p.stats().activeRequests).toBe(0);
  });

  it('frees the slot of a response nobody reads when the requestMs deadline passes', async () => {
    const server = await upstream((_req, res) => {
      res.writeHead(200);
      // Far more than undici buffers, so the unread body backs up and would hold the slot forever.
      res.write(Buffer.alloc(8 * 1024 * 1024));
    });
    const registry = new Registry();
    const p = pool({ name: 'unread', origin: server.origin, maxConcurrent: 1, timeouts: { requestMs: 200 }, registry });
    const ended = once(p, 'request:end');
    const response = await p.fetch(`${server.origin}/big`);
    expect(response.status).toBe(200);
    expect(p.stats().activeRequests).toBe(1);
    const [event] = await ended;
    expect(event).toMatchObject({ outcome: 'error', reason: 'timeout' });
    expect(p.stats().activeRequests).toBe(0);
    expect(await metricValue(registry, 'poolscope_request_failures_total', { pool: 'unread', reason: 'timeout' })).toBe(
      1,
    );
  });
});
