import { once } from 'node:events';
import net from 'node:net';
import { inspect } from 'node:util';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { PoolConnectError, PoolRequestError, PoolTimeoutError } from '../src/index.js';
import { useCleanup } from './support/harness.js';
import { metricValue, metricValueOrAbsent } from './support/metrics.js';
import { startSilentListener } from './support/silent-listener.js';

const { upstream, pool, defer } = useCleanup();

/** The port of a silent listener (a TLS handshake to it never completes), closed after the test. */
async function silentListener(): Promise<number> {
  const listener = await startSilentListener();
  defer(() => listener.close());
  return listener.port;
}

async function closedPort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

describe('a pool turns wire failures into typed errors with bounded reasons', () => {
  it('fails with a connect PoolTimeoutError when the connection is not up within connectMs', async () => {
    const port = await silentListener();
    const registry = new Registry();
    const origin = `https://127.0.0.1:${port}`;
    const p = pool({ name: 'connect', origin, timeouts: { connectMs: 100 }, retry: false, registry });
    const error = await p.fetch(`${origin}/`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PoolTimeoutError);
    expect(error).toMatchObject({ code: 'POOLSCOPE_TIMEOUT', phase: 'connect', limitMs: 100, pool: 'connect' });
    expect((error as Error).cause).toMatchObject({ code: 'UND_ERR_CONNECT_TIMEOUT' });
    expect(
      await metricValue(registry, 'poolscope_request_failures_total', { pool: 'connect', reason: 'connect_error' }),
    ).toBe(1);
    expect(
      await metricValue(registry, 'poolscope_pool_connection_errors_total', { pool: 'connect', reason: 'timeout' }),
    ).toBe(1);
    expect(p.stats().failedConnections).toBe(1);
    // Only connections that opened are timed.
    expect(
      await metricValueOrAbsent(registry, 'poolscope_pool_connection_create_seconds_count', { pool: 'connect' }),
    ).toBeUndefined();
  });

  it('fails with a headers PoolTimeoutError when the upstream never answers within headersMs', async () => {
    const server = await upstream(() => undefined);
    const registry = new Registry();
    const p = pool({ name: 'headers', origin: server.origin, timeouts: { headersMs: 100 }, registry });
    const error = await p.fetch(`${server.origin}/`, { method: 'POST', body: '{}' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PoolTimeoutError);
    expect(error).toMatchObject({ phase: 'headers', limitMs: 100 });
    expect((error as Error).cause).toMatchObject({ code: 'UND_ERR_HEADERS_TIMEOUT' });
    expect(
      await metricValue(registry, 'poolscope_request_failures_total', {
        pool: 'headers',
        operation: 'post',
        reason: 'timeout',
      }),
    ).toBe(1);
  });

  it('errors a stalled body after bodyMs instead of hanging, counted as a timeout', async () => {
    const server = await upstream((_req, res) => {
      res.writeHead(200);
      res.write('first chunk');
    });
    const registry = new Registry();
    const p = pool({ name: 'body', origin: server.origin, timeouts: { bodyMs: 100 }, registry });
    const response = await p.fetch(`${server.origin}/`);
    const ended = once(p, 'request:end');
    // fetch can only error a body with its own `terminated` TypeError: its cause says which bound it was.
    const error = await response.text().catch((e: unknown) => e);
    expect(error).toMatchObject({
      message: 'terminated',
      cause: { code: 'POOLSCOPE_TIMEOUT', phase: 'body', limitMs: 100 },
    });
    const [event] = await ended;
    expect(event).toMatchObject({ outcome: 'error', reason: 'timeout' });
  });

  it('names a refused connection: PoolConnectError with the ECONNREFUSED cause kept', async () => {
    const port = await closedPort();
    const registry = new Registry();
    const origin = `http://127.0.0.1:${port}`;
    const p = pool({ name: 'refused', origin, retry: false, registry });
    const error = await p.fetch(`${origin}/`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PoolConnectError);
    expect(error).toMatchObject({ code: 'POOLSCOPE_CONNECT_FAILED', connectionReason: 'refused' });
    expect((error as Error).cause).toMatchObject({ code: 'ECONNREFUSED' });
    expect(
      await metricValue(registry, 'poolscope_pool_connection_errors_total', { pool: 'refused', reason: 'refused' }),
    ).toBe(1);
  });

  it('counts failures while the upstream is down and recovers by itself when it comes back', async () => {
    const server = await upstream((_req, res) => res.end('ok'));
    const registry = new Registry();
    const p = pool({ name: 'flappy', origin: server.origin, connections: 2, retry: false, registry });
    expect(await (await p.fetch(`${server.origin}/`)).text()).toBe('ok');
    await server.kill();
    const failures = await Promise.all(
      Array.from({ length: 5 }, () => p.fetch(`${server.origin}/`).catch((e: unknown) => e)),
    );
    expect(failures.every((e) => e instanceof PoolConnectError || e instanceof PoolRequestError)).toBe(true);
    expect(p.stats().failedRequests).toBe(5);
    await server.restart();
    const recovered = await Promise.all(
      Array.from({ length: 5 }, () => p.fetch(`${server.origin}/`).then((r) => r.text())),
    );
    expect(recovered).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    expect(
      await metricValue(registry, 'poolscope_request_duration_seconds_count', { pool: 'flappy', outcome: 'success' }),
    ).toBe(6);
  });

  it("counts HTTP error statuses by class without throwing: the response is the caller's", async () => {
    const server = await upstream((req, res) => {
      res.statusCode = req.url === '/missing' ? 404 : 500;
      res.end('{}');
    });
    const registry = new Registry();
    const p = pool({ name: 'statuses', origin: server.origin, registry, retry: false });
    expect((await p.fetch(`${server.origin}/missing`)).status).toBe(404);
    const response = await p.fetch(`${server.origin}/broken`);
    await response.text();
    expect(
      await metricValue(registry, 'poolscope_request_failures_total', { pool: 'statuses', reason: 'http_4xx' }),
    ).toBe(1);
    expect(
      await metricValue(registry, 'poolscope_request_failures_total', { pool: 'statuses', reason: 'http_5xx' }),
    ).toBe(1);
  });

  it('never lets a bearer token sent upstream appear in errors, stats or metrics', async () => {
    const token = 'sk-test-SECRET-token-0123456789';
    const server = await upstream(() => undefined);
    const registry = new Registry();
    const p = pool({ name: 'secrets', origin: server.origin, timeouts: { headersMs: 50 }, registry });
    const error = await p
      .fetch(`${server.origin}/v1/things?api_key=${token}`, {
        headers: { authorization: `Bearer ${token}`, 'api-key': token },
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PoolTimeoutError);
    expect(inspect(error, { depth: 10 })).not.toContain(token);
    expect(JSON.stringify(error)).not.toContain(token);
    expect(JSON.stringify(p.stats())).not.toContain(token);
    expect(await registry.metrics()).not.toContain(token);
  });
});
