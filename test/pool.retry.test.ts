import { once } from 'node:events';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { useCleanup } from './support/harness.js';
import { metricValue } from './support/metrics.js';

const { upstream, pool } = useCleanup();

describe('a pool retries only where it is safe or the upstream asks', () => {
  it('retries a 429 with Retry-After: 1 after at least a second, and counts the retry', async () => {
    const seenAt: number[] = [];
    const server = await upstream((_req, res) => {
      seenAt.push(performance.now());
      if (seenAt.length === 1) {
        res.writeHead(429, { 'retry-after': '1', 'content-type': 'application/json' });
        res.end('{"error":{"message":"slow down"}}');
      } else res.end('ok');
    });
    const registry = new Registry();
    const p = pool({ name: 'ratelimited', origin: server.origin, registry });
    const response = await p.fetch(`${server.origin}/v1/chat/completions`, { method: 'POST', body: '{}' });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('ok');
    expect(seenAt).toHaveLength(2);
    expect(seenAt[1]! - seenAt[0]!).toBeGreaterThanOrEqual(1000);
    expect(
      await metricValue(registry, 'poolscope_request_retries_total', { pool: 'ratelimited', reason: 'rate_limited' }),
    ).toBe(1);
    expect(p.stats()).toMatchObject({ retries: 1, successfulRequests: 1, rateLimitedRequests: 0 });
    // The 429 was drained, not dropped: the retry reused the same socket.
    expect(server.sockets.accepted).toBe(1);
  });

  it('hands the 429 to the caller when Retry-After exceeds the retry budget', async () => {
    const server = await upstream((_req, res) => {
      res.writeHead(429, { 'retry-after': '30' });
      res.end();
    });
    const registry = new Registry();
    const p = pool({ name: 'budget', origin: server.origin, retry: { budgetMs: 1_000 }, registry });
    const response = await p.fetch(`${server.origin}/`);
    expect(response.status).toBe(429);
    expect(server.requests).toBe(1);
    expect(
      await metricValue(registry, 'poolscope_request_failures_total', { pool: 'budget', reason: 'rate_limited' }),
    ).toBe(1);
    expect(p.stats().rateLimitedRequests).toBe(1);
  });

  it('retries an idempotent GET whose socket the server reset, but not a POST', async () => {
    let resetsLeft = 2;
    const server = await upstream((req, res) => {
      if (resetsLeft > 0) {
        resetsLeft--;
        req.socket.destroy();
        return;
      }
      res.end('ok');
    });
    const registry = new Registry();
    const p = pool({ name: 'resets', origin: server.origin, retry: { baseDelayMs: 1 }, registry });
    expect(await (await p.fetch(`${server.origin}/`)).text()).toBe('ok');
    expect(await metricValue(registry, 'poolscope_request_retries_total', { pool: 'resets', reason: 'reset' })).toBe(2);
    resetsLeft = 1;
    await expect(p.fetch(`${server.origin}/`, { method: 'POST', body: 'x' })).rejects.toMatchObject({
      code: 'POOLSCOPE_REQUEST_FAILED',
    });
    expect(await metricValue(registry, 'poolscope_request_retries_total', { pool: 'resets', reason: 'reset' })).toBe(2);
  });

  it('retries a POST whose socket the server reset when retry.nonIdempotent says its POSTs are safe to repeat', async () => {
    let resetsLeft = 1;
    const server = await upstream((req, res) => {
      if (resetsLeft-- > 0) return void req.socket.destroy();
      res.end('ok');
    });
    const registry = new Registry();
    const p = pool({ name: 'resets', origin: server.origin, retry: { baseDelayMs: 1, nonIdempotent: true }, registry });
    expect(await (await p.fetch(`${server.origin}/`, { method: 'POST', body: 'x' })).text()).toBe('ok');
    expect(server.requests).toBe(2);
    expect(await metricValue(registry, 'poolscope_request_retries_total', { pool: 'resets', reason: 'reset' })).toBe(1);
  });

  it('leaves to the caller exactly the failures retry.leaveToCaller says it retries itself', async () => {
    let failuresLeft = 0;
    const server = await upstream((req, res) => {
      if (failuresLeft > 0) {
        failuresLeft--;
        if (req.url === '/reset') return void req.socket.destroy();
        res.writeHead(503);
        return void res.end();
      }
      res.end('ok');
    });
    const registry = new Registry();
    const leaveToCaller = { methods: ['GET'], statuses: [503], networkErrors: true };
    const p = pool({ name: 'sdkowned', origin: server.origin, retry: { baseDelayMs: 1, leaveToCaller }, registry });
    const retries = (reason: string) =>
      metricValue(registry, 'poolscope_request_retries_total', { pool: 'sdkowned', reason });

    failuresLeft = 1;
    expect((await p.fetch(`${server.origin}/unavailable`)).status).toBe(503); // the caller's to retry
    failuresLeft = 1;
    await expect(p.fetch(`${server.origin}/reset`)).rejects.toMatchObject({ code: 'POOLSCOPE_REQUEST_FAILED' });
    expect(await retries('unavailable')).toBe(0);
    expect(await retries('reset')).toBe(0);

    failuresLeft = 1; // DELETE is idempotent and not in the caller's methods: the pool's own
    expect(await (await p.fetch(`${server.origin}/unavailable`, { method: 'DELETE' })).text()).toBe('ok');
    failuresLeft = 1;
    expect(await (await p.fetch(`${server.origin}/reset`, { method: 'DELETE' })).text()).toBe('ok');
    expect(await retries('unavailable')).toBe(1);
    expect(await retries('reset')).toBe(1);
  });

  it('retries a POST whose connection was refused: nothing reached the upstream', async () => {
    const server = await upstream((_req, res) => res.end('ok'));
    await server.kill();
    const registry = new Registry();
    const p = pool({
      name: 'refusedretry',
      origin: server.origin,
      retry: { maxRetries: 5, baseDelayMs: 50 },
      registry,
    });
    const refused = once(p, 'connection:error');
    const pending = p.fetch(`${server.origin}/`, { method: 'POST', body: 'payload' });
    const [event] = await refused;
    expect(event).toMatchObject({ reason: 'refused' });
    await server.restart();
    expect(await (await pending).text()).toBe('ok');
    expect(
      await metricValue(registry, 'poolscope_request_retries_total', { pool: 'refusedretry', reason: 'connect_error' }),
    ).toBeGreaterThanOrEqual(1);
  });
});
