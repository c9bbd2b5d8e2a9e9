import { once } from 'node:events';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ConcurrencyLimiter, type Release } from '../src/pool/limiter.js';
import { useCleanup } from './support/harness.js';
import { parkedResponses as held } from './support/http-server.js';
import { metricValue } from './support/metrics.js';

const { upstream, pool } = useCleanup();

const take = (acquired: Promise<Release> | Release): Promise<Release> => Promise.resolve(acquired);

describe('the concurrency limiter', () => {
  it('refuses a caller whose signal is already aborted before it takes a slot: a reject, never a request', async () => {
    const server = await upstream((_req, res) => res.end('ok'));
    const registry = new Registry();
    const p = pool({ name: 'preaborted', origin: server.origin, registry });
    const events: string[] = [];
    for (const event of ['request:start', 'request:end', 'reject'] as const) p.on(event, () => events.push(event));
    const reason = new Error('gave up before asking');
    await expect(p.fetch(`${server.origin}/`, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(events).toEqual(['reject']);
    expect(server.requests).toBe(0);
    expect(
      await metricValue(registry, 'poolscope_request_duration_seconds_count', {
        pool: 'preaborted',
        operation: 'get',
        outcome: 'error',
      }),
    ).toBe(0);
    expect(
      await metricValue(registry, 'poolscope_request_failures_total', {
        pool: 'preaborted',
        operation: 'get',
        reason: 'aborted',
      }),
    ).toBe(1);
  });

  it('with maxQueued 0 serves a request when a slot is free and refuses one only while none is', async () => {
    const gate = held();
    const server = await upstream(gate.handler);
    const p = pool({
      name: 'noqueue',
      origin: server.origin,
      maxConcurrent: 1,
      maxQueued: 0,
      registry: new Registry(),
    });
    const first = p.fetch(`${server.origin}/`);
    await server.waitForRequests(1);
    await expect(p.fetch(`${server.origin}/`)).rejects.toMatchObject({ code: 'POOLSCOPE_QUEUE_FULL' });
    gate.releaseAll();
    expect(await (await first).text()).toBe('done');
    const again = p.fetch(`${server.origin}/`);
    await server.waitForRequests(2);
    gate.releaseAll();
    expect(await (await again).text()).toBe('done');
  });

  it('with acquireMs 0 lets a waiter wait as long as it takes', async () => {
    const gate = held();
    const server = await upstream(gate.handler);
    const p = pool({
      name: 'nowait',
      origin: server.origin,
      maxConcurrent: 1,
      timeouts: { acquireMs: 0 },
      registry: new Registry(),
    });
    const first = p.fetch(`${server.origin}/1`);
    await server.waitForRequests(1);
    const second = p.fetch(`${server.origin}/2`);
    // Long past any timer that a 0 read as "at once" would have fired.
    await new Promise((resolve) => setTimeout(resolve, 200));
    gate.releaseOldest();
    await (await first).text();
    await server.waitForRequests(2);
    gate.releaseAll();
    expect(await (await second).text()).toBe('done');
  });

  it('keeps first-in, first-out when a slot frees and a newcomer asks in the same tick', async () => {
    const limiter = new ConcurrencyLimiter('fifo', 1, 10, 0);
    const holder = (await take(limiter.acquire())) as Release;
    const order: string[] = [];
    const waiter = take(limiter.acquire()).then((release) => {
      order.push('waiter');
      release();
    });
    holder();
    const newcomer = limiter.acquire();
    expect(typeof newcomer).not.toBe('function'); // it queues behind the waiter instead of taking the slot
    await take(newcomer).then((release) => {
      order.push('newcomer');
      release();
    });
    await waiter;
    expect(order).toEqual(['waiter', 'newcomer']);
  });

  it('serves the next waiter when the head aborts in the same tick as a slot frees', async () => {
    const limiter = new ConcurrencyLimiter('headabort', 1, 10, 0);
    const holder = (await take(limiter.acquire())) as Release;
    const controller = new AbortController();
    const head = take(limiter.acquire(controller.signal)).catch((e: unknown) => e);
    const order: string[] = [];
    const next = take(limiter.acquire()).then((release) => {
      order.push('next');
      release();
    });
    controller.abort();
    holder();
    // The slot is free and a waiter is still queued: a newcomer lines up behind it rather than jumping the queue.
    const newcomer = limiter.acquire();
    expect(typeof newcomer).not.toBe('function');
    expect(await head).toMatchObject({ name: 'AbortError' });
    await take(newcomer).then((release) => {
      order.push('newcomer');
      release();
    });
    await next;
    expect(order).toEqual(['next', 'newcomer']);
  });

  it("disarms a served waiter's acquire timer: it never times out the waiter behind it", async () => {
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const limiter = new ConcurrencyLimiter('timers', 1, 10, 500);
    const a = (await take(limiter.acquire())) as Release;
    const b = take(limiter.acquire()); // queued at 0: its timer would fire at 500 ms
    await sleep(100);
    a();
    const releaseB = await b; // served at 100 ms
    await sleep(100);
    const c = take(limiter.acquire()); // queued at 200 ms: may wait until 700 ms
    await sleep(350); // B holds until 550 ms, past the moment its own timer was set for
    releaseB();
    const releaseC = await c;
    releaseC();
    expect(limiter.pending).toBe(0);
  });

  it('close() lets in-flight and queued requests finish, then resolves at once: it does not sit out its deadline', async () => {
    const gate = held();
    const server = await upstream(gate.handler);
    const registry = new Registry();
    const p = pool({ name: 'drain', origin: server.origin, maxConcurrent: 1, registry });
    const first = p.fetch(`${server.origin}/1`).then((r) => r.text());
    await server.waitForRequests(1);
    const queued = p.fetch(`${server.origin}/2`).then((r) => r.text());
    const started = performance.now();
    const closing = p.close(5_000);
    gate.releaseOldest();
    await server.waitForRequests(2);
    gate.releaseAll();
    expect(await Promise.all([first, queued])).toEqual(['done', 'done']);
    await closing;
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(await metricValue(registry, 'poolscope_pool_connections_closed_total', { pool: 'drain' })).toBe(
      await metricValue(registry, 'poolscope_pool_connections_created_total', { pool: 'drain' }),
    );
  });
});

describe('what the snapshot and the metrics record', () => {
  it('records durations in seconds, the snapshot in milliseconds, and the last request time', async () => {
    const server = await upstream((_req, res) => setTimeout(() => res.end('ok'), 50));
    const registry = new Registry();
    const p = pool({ name: 'units', origin: server.origin, registry });
    const ended = once(p, 'request:end');
    const before = Date.now();
    await (await p.fetch(`${server.origin}/`)).text();
    const [event] = (await ended) as [{ durationMs: number; outcome: string }];
    expect(event.outcome).toBe('success');
    expect(event.durationMs).toBeGreaterThanOrEqual(45);
    expect(event.durationMs).toBeLessThan(1_000);
    const sum = await metricValue(registry, 'poolscope_request_duration_seconds_sum', {
      pool: 'units',
      operation: 'get',
      outcome: 'success',
    });
    expect(sum).toBeGreaterThanOrEqual(0.045);
    expect(sum).toBeLessThan(1);
    const stats = p.stats();
    expect(stats.p50Ms).toBeGreaterThanOrEqual(45);
    expect(stats.p50Ms).toBeLessThan(1_000);
    expect(stats.lastRequestAt).toBeGreaterThanOrEqual(before);
  });

  it('reports utilization as active connections over the pool size', async () => {
    const gate = held();
    const server = await upstream(gate.handler);
    const registry = new Registry();
    const p = pool({ name: 'util', origin: server.origin, connections: 4, registry });
    const inFlight = p.fetch(`${server.origin}/`);
    await server.waitForRequests(1);
    expect(p.stats().utilization).toBe(0.25);
    expect(await metricValue(registry, 'poolscope_pool_utilization_ratio', { pool: 'util' })).toBe(0.25);
    gate.releaseAll();
    await (await inFlight).text();
  });

  it('keeps refused requests out of the durations: no NaN, no request:end, only a reject', async () => {
    const gate = held();
    const server = await upstream(gate.handler);
    const registry = new Registry();
    const p = pool({ name: 'refused', origin: server.origin, maxConcurrent: 1, maxQueued: 0, registry });
    const first = p.fetch(`${server.origin}/`);
    await server.waitForRequests(1);
    const ends: unknown[] = [];
    p.on('request:end', (e) => ends.push(e));
    const rejected = once(p, 'reject');
    await expect(p.fetch(`${server.origin}/`)).rejects.toMatchObject({ code: 'POOLSCOPE_QUEUE_FULL' });
    await rejected;
    expect(ends).toEqual([]);
    gate.releaseAll();
    await (await first).text();
    const stats = p.stats();
    expect(stats).toMatchObject({ totalRequests: 2, failedRequests: 1, windowSize: 1, rateLimitedRequests: 0 });
    expect(Number.isFinite(stats.averageResponseTimeMs)).toBe(true);
    expect(
      await metricValue(registry, 'poolscope_request_duration_seconds_count', {
        pool: 'refused',
        operation: 'get',
        outcome: 'success',
      }),
    ).toBe(1);
    expect(
      await metricValue(registry, 'poolscope_request_duration_seconds_count', {
        pool: 'refused',
        operation: 'get',
        outcome: 'error',
      }),
    ).toBe(0);
  });

  it('counts a 429 as rate limited and a 500 or a 400 as failures that are not', async () => {
    const statuses = [429, 500, 400];
    const server = await upstream((_req, res) => res.writeHead(statuses.shift()!).end());
    const registry = new Registry();
    const p = pool({ name: 'statuses', origin: server.origin, retry: false, registry });
    const outcomes: unknown[] = [];
    p.on('request:end', (e) => outcomes.push({ outcome: e.outcome, reason: e.reason }));
    for (let i = 0; i < 3; i++) await (await p.fetch(`${server.origin}/`)).arrayBuffer();
    expect(outcomes).toEqual([
      { outcome: 'error', reason: 'rate_limited' },
      { outcome: 'error', reason: 'http_5xx' },
      { outcome: 'error', reason: 'http_4xx' },
    ]);
    expect(p.stats()).toMatchObject({ failedRequests: 3, rateLimitedRequests: 1 });
    expect(
      await metricValue(registry, 'poolscope_request_failures_total', {
        pool: 'statuses',
        operation: 'get',
        reason: 'http_4xx',
      }),
    ).toBe(1);
  });

  it('counts a body the consumer cancels after a 200 as a success', async () => {
    const server = await upstream((_req, res) => {
      res.writeHead(200);
      res.write('a first chunk the consumer does not want more of');
    });
    const registry = new Registry();
    const p = pool({ name: 'cancelled', origin: server.origin, registry });
    const ended = once(p, 'request:end');
    const response = await p.fetch(`${server.origin}/`);
    await response.body!.cancel();
    expect((await ended)[0]).toMatchObject({ outcome: 'success', status: 200 });
    // Exported at 0 from the operation's first request, and still 0: a cancelled body is no failure.
    expect(
      await metricValue(registry, 'poolscope_request_failures_total', {
        pool: 'cancelled',
        operation: 'get',
        reason: 'other',
      }),
    ).toBe(0);
  });

  it('counts an AbortError thrown inside run() as aborted, whatever names it (name, ABORT_ERR, UND_ERR_ABORTED)', async () => {
    const registry = new Registry();
    const p = pool({ name: 'runaborts', origin: 'http://127.0.0.1:9', registry });
    const errors = [
      new DOMException('aborted', 'AbortError'),
      Object.assign(new Error('aborted'), { code: 'ABORT_ERR' }),
      Object.assign(new Error('aborted'), { code: 'UND_ERR_ABORTED' }),
    ];
    for (const error of errors) await expect(p.run('job', () => Promise.reject(error))).rejects.toBe(error);
    expect(
      await metricValue(registry, 'poolscope_request_failures_total', {
        pool: 'runaborts',
        operation: 'job',
        reason: 'aborted',
      }),
    ).toBe(3);
  });
});
