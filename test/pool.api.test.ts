import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  FAILURE_REASONS,
  PoolClosedError,
  PoolConfigError,
  PoolOriginError,
  createPool,
  registry as defaultRegistry,
} from '../src/index.js';
import { useCleanup } from './support/harness.js';
import { metricValue, metricValueOrAbsent } from './support/metrics.js';

const { upstream, pool } = useCleanup();

const echo: Parameters<ReturnType<typeof useCleanup>['upstream']>[0] = (req, res) => {
  let body = '';
  req.on('data', (chunk: Buffer) => (body += chunk));
  req.on('end', () => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ method: req.method, url: req.url, header: req.headers['x-test'] ?? null, body }));
  });
};

describe('pool.fetch accepts what WHATWG fetch accepts', () => {
  it("sends a Request, Headers and AbortSignal made by Node's global fetch classes", async () => {
    const server = await upstream(echo);
    const p = pool({ name: 'compat', origin: server.origin, registry: new Registry() });
    const request = new globalThis.Request(`${server.origin}/rest/v1/items?id=eq.1`, {
      method: 'POST',
      headers: new globalThis.Headers({ 'x-test': 'from-global' }),
      body: '{"a":1}',
      signal: new globalThis.AbortController().signal,
    });
    const echoed = (await (await p.fetch(request)).json()) as Record<string, unknown>;
    expect(echoed).toEqual({ method: 'POST', url: '/rest/v1/items?id=eq.1', header: 'from-global', body: '{"a":1}' });
    const viaUrl = (await (
      await p.fetch(new URL(`${server.origin}/x`), { headers: new globalThis.Headers({ 'x-test': 'h' }) })
    ).json()) as Record<string, unknown>;
    expect(viaUrl).toMatchObject({ method: 'GET', url: '/x', header: 'h' });
  });

  it("stops a request when the caller's global AbortSignal aborts, counted as aborted", async () => {
    const server = await upstream(() => undefined);
    const registry = new Registry();
    const p = pool({ name: 'aborts', origin: server.origin, registry });
    const controller = new globalThis.AbortController();
    const pending = p.fetch(`${server.origin}/`, { signal: controller.signal });
    await server.waitForRequests(1);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    expect(await metricValue(registry, 'poolscope_request_failures_total', { pool: 'aborts', reason: 'aborted' })).toBe(
      1,
    );
    expect(p.stats().activeRequests).toBe(0);
  });

  it('refuses a URL on another origin with PoolOriginError instead of sending it to the wrong host', async () => {
    const server = await upstream(echo);
    const p = pool({ name: 'origin', origin: server.origin, registry: new Registry() });
    await expect(p.fetch('http://127.0.0.1:1/elsewhere')).rejects.toBeInstanceOf(PoolOriginError);
    expect(server.requests).toBe(0);
  });
});

describe('pool.stats() and /metrics tell the truth', () => {
  it('agrees with the sockets the server saw, and the exposition parses', async () => {
    const server = await upstream((_req, res) => setTimeout(() => res.end('ok'), 2));
    const registry = new Registry();
    const p = pool({ name: 'truth', origin: server.origin, connections: 3, registry });
    await Promise.all(Array.from({ length: 30 }, () => p.fetch(`${server.origin}/`).then((r) => r.text())));
    const stats = p.stats();
    expect(stats.totalConnections).toBe(server.sockets.accepted);
    expect(stats.activeConnections + stats.idleConnections).toBe(server.sockets.open);
    expect(stats).toMatchObject({
      maxConnections: 3,
      totalRequests: 30,
      successfulRequests: 30,
      failedRequests: 0,
      windowSize: 30,
    });
    expect(stats.p50Ms).toBeGreaterThan(0);
    expect(stats.p99Ms).toBeGreaterThanOrEqual(stats.p95Ms);
    const text = await registry.metrics();
    const sample =
      /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? -?[0-9.e+-]+|NaN|[+-]Inf$/;
    for (const line of text.split('\n').filter((l) => l && !l.startsWith('#'))) expect(line).toMatch(sample);
    expect(await metricValue(registry, 'poolscope_pool_connections_created_total', { pool: 'truth' })).toBe(
      server.sockets.accepted,
    );
    expect(await metricValue(registry, 'poolscope_pool_connections', { pool: 'truth', state: 'idle' })).toBe(
      server.sockets.open,
    );
    expect(await metricValue(registry, 'poolscope_pool_connections_max', { pool: 'truth' })).toBe(3);
    expect(await metricValue(registry, 'poolscope_pool_connections_min', { pool: 'truth' })).toBe(0); // HTTP pools keep no minimum
    expect(await metricValue(registry, 'poolscope_pool_connection_create_seconds_count', { pool: 'truth' })).toBe(
      server.sockets.accepted,
    );
    const createSeconds = await metricValue(registry, 'poolscope_pool_connection_create_seconds_sum', {
      pool: 'truth',
    });
    expect(createSeconds).toBeGreaterThan(0);
    expect(createSeconds).toBeLessThan(1); // seconds: three loopback connects take milliseconds
    expect(
      await metricValueOrAbsent(registry, 'poolscope_pool_connections', { pool: 'truth', state: 'connecting' }),
    ).toBeUndefined();
    expect(
      await metricValue(registry, 'poolscope_request_duration_seconds_count', {
        pool: 'truth',
        operation: 'get',
        outcome: 'success',
      }),
    ).toBe(30);
  });

  it('exports every failure reason of an operation at 0 from its first request, so a panel shows 0, not "No data"', async () => {
    const registry = new Registry();
    const server = await upstream((_req, res) => res.end('ok'));
    const p = pool({ name: 'zeros', origin: server.origin, registry });
    expect(
      await metricValueOrAbsent(registry, 'poolscope_request_failures_total', { pool: 'zeros', operation: 'get' }),
    ).toBeUndefined();
    await (await p.fetch(`${server.origin}/`)).text();
    expect(FAILURE_REASONS).toHaveLength(10);
    for (const reason of FAILURE_REASONS) {
      expect(
        await metricValue(registry, 'poolscope_request_failures_total', { pool: 'zeros', operation: 'get', reason }),
        reason,
      ).toBe(0);
    }
  });

  it('resetStats() clears the snapshot but never a Prometheus counter', async () => {
    const server = await upstream((_req, res) => res.end('ok'));
    const registry = new Registry();
    const p = pool({ name: 'reset', origin: server.origin, registry });
    await (await p.fetch(`${server.origin}/`)).text();
    p.resetStats();
    expect(p.stats()).toMatchObject({
      totalRequests: 0,
      successfulRequests: 0,
      windowSize: 0,
      averageResponseTimeMs: 0,
    });
    expect(
      await metricValue(registry, 'poolscope_request_duration_seconds_count', { pool: 'reset', outcome: 'success' }),
    ).toBe(1);
  });

  it("records into poolscope's own registry by default, with build info and nothing of the process", async () => {
    const server = await upstream((_req, res) => res.end('ok'));
    const p = pool({ name: 'default_registry', origin: server.origin });
    await (await p.fetch(`${server.origin}/`)).text();
    const text = await defaultRegistry.metrics();
    expect(text).toContain('poolscope_pool_connections_max{pool="default_registry"} 10');
    expect(text).toMatch(/poolscope_build_info\{version="\d+\.\d+\.\d+",mode="library"\} 1/);
    // Importing poolscope starts nothing: Node's process metrics are the app's choice (collectProcessMetrics).
    expect(text).not.toContain('process_cpu_user_seconds_total');
    expect(text).not.toContain('nodejs_');
  });
});

describe('pool.run(operation, fn) names any async work', () => {
  it('records declared names, folds undeclared ones into "other" beyond the cap', async () => {
    const registry = new Registry();
    const p = pool({
      name: 'ops',
      origin: 'http://127.0.0.1:9',
      operations: ['list_uploads'],
      maxOperations: 2,
      registry,
    });
    await p.run('list_uploads', async () => 1);
    for (const name of ['a', 'b', 'c', 'd']) await p.run(name, async () => name);
    await expect(p.run('fails', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    const count = (operation: string, outcome = 'success') =>
      metricValue(registry, 'poolscope_request_duration_seconds_count', { pool: 'ops', operation, outcome });
    expect(await count('list_uploads')).toBe(1);
    expect(await count('a')).toBe(1);
    expect(await count('b')).toBe(1);
    expect(await count('other')).toBe(2);
    expect(await count('other', 'error')).toBe(1);
  });
});

describe('pool options are validated', () => {
  it.each([
    [{ name: 'Bad-Name', origin: 'http://x' }, 'name'],
    [{ name: 'ok', origin: 'ftp://x' }, 'origin'],
    [{ name: 'ok', origin: 'https://user:pw@x' }, 'origin'],
    [{ name: 'ok', origin: 'https://x/rest/v1' }, 'origin'],
    [{ name: 'ok', origin: 'http://x', connections: 0 }, 'connections'],
    [{ name: 'ok', origin: 'http://x', maxQueued: -1 }, 'maxQueued'],
    [{ name: 'ok', origin: 'http://x', timeouts: { headersMs: 1.5 } }, 'timeouts.headersMs'],
    [{ name: 'ok', origin: 'http://x', retry: { maxRetries: -2 } }, 'retry.maxRetries'],
    [
      {
        name: 'ok',
        origin: 'http://x',
        retry: { leaveToCaller: { methods: ['get'], statuses: [], networkErrors: true } },
      },
      'retry.leaveToCaller.methods',
    ],
    [
      {
        name: 'ok',
        origin: 'http://x',
        retry: { leaveToCaller: { methods: ['GET'], statuses: [200], networkErrors: true } },
      },
      'retry.leaveToCaller.statuses',
    ],
    [
      { name: 'ok', origin: 'http://x', retry: { leaveToCaller: { methods: ['GET'], statuses: [503] } } },
      'retry.leaveToCaller.networkErrors',
    ],
    [{ name: 'ok', origin: 'http://x', maxQueue: 5 }, 'maxQueue'],
    [{ name: 'ok', origin: 'http://x', timeouts: { connectTimeout: 5 } }, 'timeouts.connectTimeout'],
    [{ name: 'ok', origin: 'http://x', retry: { retries: 5 } }, 'retry.retries'],
  ])('rejects %j naming option %s', (options, option) => {
    let error: unknown;
    try {
      createPool(options as Parameters<typeof createPool>[0]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PoolConfigError);
    expect(error).toMatchObject({ code: 'POOLSCOPE_CONFIG_INVALID', option });
    expect((error as Error).message).toContain(option);
    expect((error as Error).message).not.toContain('pw');
  });
});

describe('one pool name, one pool', () => {
  it('refuses a second live pool of the same name in one registry, and frees the name once the first is closed', async () => {
    const registry = new Registry();
    const first = createPool({ name: 'twice', origin: 'http://127.0.0.1:1', connections: 20, registry });
    let error: unknown;
    try {
      createPool({ name: 'twice', origin: 'http://127.0.0.1:2', connections: 5, registry });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PoolConfigError);
    expect(error).toMatchObject({ option: 'name', pool: 'twice' });
    // The live pool's gauges were not overwritten by the refused one.
    expect(await metricValue(registry, 'poolscope_pool_connections_max', { pool: 'twice' })).toBe(20);
    // Another registry is another namespace.
    await createPool({ name: 'twice', origin: 'http://127.0.0.1:2', registry: new Registry() }).close();
    await first.close();
    const second = createPool({ name: 'twice', origin: 'http://127.0.0.1:2', connections: 5, registry });
    expect(await metricValue(registry, 'poolscope_pool_connections_max', { pool: 'twice' })).toBe(5);
    await second.close();
  });
});

describe('pool.close()', () => {
  it('stops taking work, lets in-flight requests finish, then closes its sockets', async () => {
    let release: (() => void) | undefined;
    const server = await upstream((_req, res) => (release = () => res.end('finished')));
    const p = createPool({ name: 'closing', origin: server.origin, registry: new Registry() });
    const inFlight = p.fetch(`${server.origin}/`).then((r) => r.text());
    await server.waitForRequests(1);
    const closed = p.close(5_000);
    await expect(p.fetch(`${server.origin}/`)).rejects.toBeInstanceOf(PoolClosedError);
    release!();
    expect(await inFlight).toBe('finished');
    await closed;
    expect(p.stats().activeConnections + p.stats().idleConnections).toBe(0);
  });
});
