import net from 'node:net';
import { once } from 'node:events';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { POOL_DEFAULTS, type RetryOptions } from '../src/pool/options.js';
import { backoffMs, isLeftToCaller, retryAfterMs, retryReasonForStatus } from '../src/pool/retry.js';
import { PoolConnectError, PoolRequestError, PoolTimeoutError } from '../src/index.js';
import { useCleanup } from './support/harness.js';
import { metricValue } from './support/metrics.js';
import { startSilentListener } from './support/silent-listener.js';

const { upstream, pool, defer } = useCleanup();
afterEach(() => void vi.restoreAllMocks());

const policy = (overrides: Partial<RetryOptions> = {}): RetryOptions => ({ ...POOL_DEFAULTS.retry, ...overrides });
const headers = (values: Record<string, string>) => ({ get: (name: string) => values[name] ?? null });

describe('the retry policy', () => {
  it('backs off exponentially under full jitter: base, 2x, 4x, capped at maxDelayMs', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.999);
    const retry = policy({ baseDelayMs: 100, maxDelayMs: 350 });
    expect([0, 1, 2].map((n) => Math.round(backoffMs(retry, n)))).toEqual([100, 200, 350]);
  });

  it.each<[string, Record<string, string>, number | undefined]>([
    ["OpenAI's retry-after-ms", { 'retry-after-ms': '400' }, 400],
    ['retry-after-ms 0', { 'retry-after-ms': '0' }, 0],
    ['a negative retry-after-ms, then Retry-After', { 'retry-after-ms': '-5', 'retry-after': '1' }, 1_000],
    ['a blank Retry-After', { 'retry-after': '  ' }, undefined],
    ['an empty retry-after-ms, then Retry-After in seconds', { 'retry-after-ms': ' ', 'retry-after': '2' }, 2_000],
    ['Retry-After 0', { 'retry-after': '0' }, 0],
    ['a negative Retry-After', { 'retry-after': '-1' }, undefined],
    ['an empty Retry-After', { 'retry-after': '' }, undefined],
    ['no header', {}, undefined],
    [
      'Retry-After as an HTTP date',
      { 'retry-after': new Date(Date.parse('2026-11-27T12:00:03Z')).toUTCString() },
      3_000,
    ],
    ['an HTTP date in the past', { 'retry-after': 'Thu, 26 Nov 2026 12:00:00 GMT' }, 0],
    ['garbage', { 'retry-after': 'soon' }, undefined],
  ])('reads the wait the upstream asked for from %s', (_name, values, expected) => {
    expect(retryAfterMs(headers(values), Date.parse('2026-11-27T12:00:00Z'))).toBe(expected);
  });

  it('retries 5xx only for idempotent methods unless nonIdempotent or Retry-After says so, and names 503 apart', () => {
    const retry = policy({ statuses: [429, 500, 502, 503] });
    expect(retryReasonForStatus(retry, 503, 'POST', false)).toBeUndefined();
    expect(retryReasonForStatus(retry, 503, 'POST', true)).toBe('unavailable');
    expect(retryReasonForStatus(policy({ statuses: [503], nonIdempotent: true }), 503, 'POST', false)).toBe(
      'unavailable',
    );
    expect(retryReasonForStatus(retry, 502, 'GET', false)).toBe('server_error');
    expect(retryReasonForStatus(retry, 503, 'GET', false)).toBe('unavailable');
    expect(retryReasonForStatus(retry, 429, 'POST', false)).toBe('rate_limited');
    expect(retryReasonForStatus(retry, 404, 'GET', false)).toBeUndefined();
  });

  it('leaves to the caller the statuses it retries itself, and network errors only when it says so', () => {
    const retry = policy({ leaveToCaller: { methods: ['GET'], statuses: [503], networkErrors: false } });
    expect(isLeftToCaller(retry, 'GET', 503)).toBe(true);
    expect(isLeftToCaller(retry, 'GET', 'network')).toBe(false);
    expect(isLeftToCaller(retry, 'GET', 502)).toBe(false);
    expect(isLeftToCaller(retry, 'POST', 503)).toBe(false);
  });
});

describe('retries on the wire', () => {
  it('sends a POST answered 503 without Retry-After exactly once', async () => {
    const server = await upstream((_req, res) => res.writeHead(503).end());
    const registry = new Registry();
    const p = pool({ name: 'postonce', origin: server.origin, retry: { statuses: [503], baseDelayMs: 1 }, registry });
    expect((await p.fetch(`${server.origin}/`, { method: 'POST', body: '{}' })).status).toBe(503);
    expect(server.requests).toBe(1);
    expect(
      await metricValue(registry, 'poolscope_request_retries_total', { pool: 'postonce', reason: 'unavailable' }),
    ).toBe(0);
  });

  it('retries a GET answered 502 as server_error, after the backoff', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.99);
    let seen = 0;
    const at: number[] = [];
    const server = await upstream((_req, res) => {
      at.push(performance.now());
      res.writeHead(++seen === 1 ? 502 : 200).end('ok');
    });
    const registry = new Registry();
    const p = pool({
      name: 'badgateway',
      origin: server.origin,
      retry: { statuses: [502], baseDelayMs: 300 },
      registry,
    });
    expect(await (await p.fetch(`${server.origin}/`)).text()).toBe('ok');
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(290);
    expect(
      await metricValue(registry, 'poolscope_request_retries_total', { pool: 'badgateway', reason: 'server_error' }),
    ).toBe(1);
  });

  it("waits OpenAI's retry-after-ms before retrying a 429", async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const at: number[] = [];
    const server = await upstream((_req, res) => {
      at.push(performance.now());
      if (at.length === 1) return void res.writeHead(429, { 'retry-after-ms': '400' }).end();
      res.end('ok');
    });
    const p = pool({ name: 'retryafterms', origin: server.origin, registry: new Registry() });
    expect(await (await p.fetch(`${server.origin}/`)).text()).toBe('ok');
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(390);
  });

  it('notices a caller abort in the middle of a backoff that has already started', async () => {
    const server = await upstream((_req, res) => res.writeHead(503, { 'retry-after': '5' }).end());
    const p = pool({ name: 'midbackoff', origin: server.origin, registry: new Registry() });
    const controller = new AbortController();
    const responded = once(p, 'response');
    const call = p.fetch(`${server.origin}/`, { signal: controller.signal }).catch((e: unknown) => e);
    await responded;
    await new Promise((resolve) => setTimeout(resolve, 200)); // well inside the 5 s wait
    const reason = new Error('user left');
    const abortedAt = performance.now();
    controller.abort(reason);
    expect(await call).toBe(reason);
    expect(performance.now() - abortedAt).toBeLessThan(100);
  });

  it('retries a connect timeout, nothing having been sent, and counts it as connect_error', async () => {
    const silent = await startSilentListener();
    defer(() => silent.close());
    const origin = `https://127.0.0.1:${silent.port}`;
    const registry = new Registry();
    const p = pool({
      name: 'connectretry',
      origin,
      timeouts: { connectMs: 100 },
      retry: { maxRetries: 1, baseDelayMs: 1 },
      registry,
    });
    const error = await p.fetch(`${origin}/`, { method: 'POST', body: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PoolTimeoutError);
    expect(silent.accepted()).toBe(2);
    expect(
      await metricValue(registry, 'poolscope_request_retries_total', { pool: 'connectretry', reason: 'connect_error' }),
    ).toBe(1);
  });

  it('never re-sends a request that timed out waiting for headers', async () => {
    const server = await upstream(() => undefined);
    const registry = new Registry();
    const p = pool({
      name: 'headersonce',
      origin: server.origin,
      timeouts: { headersMs: 200 },
      retry: { baseDelayMs: 1 },
      registry,
    });
    const error = await p.fetch(`${server.origin}/`).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'POOLSCOPE_TIMEOUT', phase: 'headers' });
    expect(server.requests).toBe(1);
  });
});

describe('failures are named', () => {
  it('names a DNS failure: PoolConnectError with connectionReason dns, counted connect_error', async () => {
    const registry = new Registry();
    const p = pool({ name: 'nodns', origin: 'http://poolscope-test.invalid', retry: false, registry });
    const error = await p.fetch('http://poolscope-test.invalid/').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PoolConnectError);
    expect(error).toMatchObject({ connectionReason: 'dns' });
    expect(
      await metricValue(registry, 'poolscope_request_failures_total', {
        pool: 'nodns',
        operation: 'get',
        reason: 'connect_error',
      }),
    ).toBe(1);
    expect(
      await metricValue(registry, 'poolscope_pool_connection_errors_total', { pool: 'nodns', reason: 'dns' }),
    ).toBe(1);
  });

  it('names a certificate the pool does not trust: connectionReason tls', async () => {
    const { createServer } = await import('node:https');
    const { generate } = await import('selfsigned');
    const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], { keySize: 2048 });
    const server = createServer({ key: pems.private, cert: pems.cert }, (_req, res) => res.end('ok'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    defer(async () => void server.close());
    const origin = `https://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    const registry = new Registry();
    const p = pool({ name: 'untrusted', origin, retry: false, registry });
    const error = await p.fetch(`${origin}/`).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'POOLSCOPE_CONNECT_FAILED', connectionReason: 'tls' });
    expect(
      await metricValue(registry, 'poolscope_pool_connection_errors_total', { pool: 'untrusted', reason: 'tls' }),
    ).toBe(1);
  });

  it('names an upstream that does not speak HTTP: PoolRequestError with the parser error as cause, counted other', async () => {
    const garbage = net.createServer((socket) => socket.on('data', () => socket.end('NOT HTTP AT ALL\r\n\r\n')));
    garbage.listen(0, '127.0.0.1');
    await once(garbage, 'listening');
    defer(async () => void garbage.close());
    const origin = `http://127.0.0.1:${(garbage.address() as net.AddressInfo).port}`;
    const registry = new Registry();
    const p = pool({ name: 'nothttp', origin, retry: false, registry });
    const error = await p.fetch(`${origin}/`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PoolRequestError);
    expect((error as Error).cause).toBeDefined();
    expect(
      await metricValue(registry, 'poolscope_request_failures_total', {
        pool: 'nothttp',
        operation: 'get',
        reason: 'other',
      }),
    ).toBe(1);
  });
});
