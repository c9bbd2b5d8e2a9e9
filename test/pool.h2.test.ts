import https from 'node:https';
import http2 from 'node:http2';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { describe, expect, it, vi } from 'vitest';
import { PoolRequestError, PoolTimeoutError } from '../src/errors/index.js';
import type { PoolOptions } from '../src/index.js';
import { selfSignedCert } from '../src/simulators/cert.js';
import {
  goaway,
  NGHTTP2_INTERNAL_ERROR,
  NGHTTP2_NO_ERROR,
  NGHTTP2_REFUSED_STREAM,
  startH2Server as startEdgeServer,
  type H2Server,
  type H2ServerOptions,
  type H2Stream,
} from './support/h2-server.js';
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

/** undici 8.2+ drains a graceful GOAWAY and retries a refused stream once by itself; undici 7 does neither. */
const UNDICI_MAJOR = Number(
  (createRequire(import.meta.url)('undici/package.json') as { version: string }).version.split('.')[0],
);
const DRAINS = UNDICI_MAJOR >= 8;

async function h2Server(options: H2ServerOptions = {}): Promise<H2Server> {
  const server = await startEdgeServer(options);
  defer(() => server.close());
  return server;
}

function h2Pool(server: H2Server, options: Partial<PoolOptions> = {}) {
  const registry = new Registry();
  const p = pool({
    name: 'h2e',
    origin: server.origin,
    allowH2: true,
    connections: 2,
    maxConcurrent: 8,
    tls: { ca: server.ca },
    retry: { baseDelayMs: 1 },
    registry,
    ...options,
  });
  return { p, registry };
}

const metric = (registry: Registry, name: string, labels: Record<string, string>) =>
  metricValue(registry, name, { pool: 'h2e', ...labels });

describe('HTTP/2 stream resets', () => {
  it.each(['GET', 'POST'])(
    'retries a %s whose stream the server refused (REFUSED_STREAM: never processed), counted as refused_stream',
    async (method) => {
      // Two refusals: undici 8 may retry the first by itself (RFC 9113 §8.7 allows one), poolscope the rest.
      const server = await h2Server({
        onStream: ({ stream, n }) => (n <= 2 ? (stream.close(NGHTTP2_REFUSED_STREAM), 'handled') : undefined),
      });
      const { p, registry } = h2Pool(server);
      const response = await p.fetch(`${server.origin}/v1/items`, {
        method,
        ...(method === 'POST' && { body: '{"a":1}' }),
      });
      expect(await response.text()).toBe('ok');
      expect(server.streams.map((s) => s.method)).toEqual([method, method, method]);
      // undici 8 replays a refused GET itself, not a fetch body (a stream to undici): that one is poolscope's.
      const byPoolscope = DRAINS && method === 'GET' ? 1 : 2;
      expect(await metric(registry, 'poolscope_request_retries_total', { reason: 'refused_stream' })).toBe(byPoolscope);
      expect(await metric(registry, 'poolscope_request_retries_total', { reason: 'reset' })).toBe(0);
      expect(await metric(registry, 'poolscope_http2_stream_resets_total', { code: 'refused_stream' })).toBe(
        byPoolscope,
      );
      expect(p.stats()).toMatchObject({ totalRequests: 1, successfulRequests: 1, failedRequests: 0 });
    },
  );

  it('retries a GET whose stream was reset with INTERNAL_ERROR, as a socket reset is', async () => {
    const server = await h2Server({
      onStream: ({ stream, n }) => (n === 1 ? (stream.close(NGHTTP2_INTERNAL_ERROR), 'handled') : undefined),
    });
    const { p, registry } = h2Pool(server);
    expect(await (await p.fetch(`${server.origin}/v1/items`)).text()).toBe('ok');
    expect(server.streams).toHaveLength(2);
    expect(await metric(registry, 'poolscope_request_retries_total', { reason: 'reset' })).toBe(1);
    expect(await metric(registry, 'poolscope_http2_stream_resets_total', { code: 'internal_error' })).toBe(1);
    expect(p.stats()).toMatchObject({ successfulRequests: 1, failedRequests: 0 });
  });

  it('never retries a POST whose stream was reset with INTERNAL_ERROR: it may have been processed', async () => {
    const server = await h2Server({
      onStream: ({ stream }) => (stream.close(NGHTTP2_INTERNAL_ERROR), 'handled'),
    });
    const { p, registry } = h2Pool(server);
    const error = await p.fetch(`${server.origin}/v1/items`, { method: 'POST', body: '{}' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PoolRequestError);
    expect(error).toMatchObject({
      reason: 'other',
      cause: expect.objectContaining({ code: 'ERR_HTTP2_STREAM_ERROR' }),
    });
    expect(server.streams).toHaveLength(1);
    expect(await metric(registry, 'poolscope_request_retries_total', { reason: 'reset' })).toBe(0);
    expect(await metric(registry, 'poolscope_http2_stream_resets_total', { code: 'internal_error' })).toBe(1);
    expect(await metric(registry, 'poolscope_request_failures_total', { operation: 'post', reason: 'other' })).toBe(1);
  });

  it('a POST with retry.nonIdempotent is retried after an INTERNAL_ERROR reset too', async () => {
    const server = await h2Server({
      onStream: ({ stream, n }) => (n === 1 ? (stream.close(NGHTTP2_INTERNAL_ERROR), 'handled') : undefined),
    });
    const { p } = h2Pool(server, { retry: { baseDelayMs: 1, nonIdempotent: true } });
    const response = await p.fetch(`${server.origin}/v1/items`, { method: 'POST', body: '{}' });
    expect(await response.text()).toBe('ok');
    expect(server.streams).toHaveLength(2);
  });
});

describe('a graceful GOAWAY', () => {
  /** A server that holds responses until `release()`, and sends GOAWAY once `holdFor` streams are open. */
  async function goawayWhenHolding(holdFor: number, startBody = false) {
    const held: H2Stream[] = [];
    const server = await h2Server({
      onStream: (s) => {
        if (s.session !== held[0]?.session && held.length > 0) return; // a new session answers at once
        held.push(s);
        if (startBody) {
          s.stream.respond({ ':status': 200 });
          s.stream.write('o');
        }
        if (held.length === holdFor) goaway(s.session);
        return 'handled';
      },
    });
    const release = () => {
      for (const { stream } of held) {
        if (stream.destroyed) continue;
        if (!startBody) stream.respond({ ':status': 200 });
        stream.end(startBody ? 'k' : 'ok');
      }
    };
    return { server, held, release };
  }

  it('lets GETs in flight finish: drained where undici drains, else retried on a new session', async () => {
    const { server, held, release } = await goawayWhenHolding(3);
    const { p, registry } = h2Pool(server, { connections: 1 });
    const bodies = Promise.all(
      Array.from({ length: 3 }, () => p.fetch(`${server.origin}/v1/items`).then((r) => r.text())),
    );
    await vi.waitFor(() => expect(held).toHaveLength(3), { timeout: 5_000, interval: 5 });
    release();
    expect(await bodies).toEqual(['ok', 'ok', 'ok']);
    expect(await metric(registry, 'poolscope_request_retries_total', { reason: 'reset' })).toBe(DRAINS ? 0 : 3);
    // A request after the GOAWAY goes to a new session, never to the one going away.
    expect(await (await p.fetch(`${server.origin}/v1/after`)).text()).toBe('ok');
    expect(server.streams.find((s) => s.path === '/v1/after')?.session).not.toBe(held[0]!.session);
    // Once the old session has closed on the server too (undici 7 reports its socket's close as a second
    // disconnect, with the same error), the GOAWAY still counts once.
    held[0]!.session.destroy();
    await vi.waitFor(() => expect(held[0]!.stream.closed).toBe(true), { timeout: 5_000, interval: 5 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(await metric(registry, 'poolscope_http2_goaways_total', { code: 'no_error' })).toBe(1);
    // A GOAWAY is a session the upstream ended, not a failed connection.
    expect(await metric(registry, 'poolscope_pool_connection_errors_total', { reason: 'reset' })).toBe(0);
  });

  it('never sends a POST it cut twice (undici 7: it may have been processed); undici 8 drains it', async () => {
    // undici 7 sends a request with a body only on a session with nothing else in flight: one POST at a time.
    const { server, held, release } = await goawayWhenHolding(1);
    const { p } = h2Pool(server, { connections: 1 });
    const result = p.fetch(`${server.origin}/v1/items`, { method: 'POST', body: '{}' }).then((r) => r.text());
    result.catch(() => undefined);
    await vi.waitFor(() => expect(held).toHaveLength(1), { timeout: 5_000, interval: 5 });
    release();
    if (DRAINS) expect(await result).toBe('ok');
    else await expect(result).rejects.toBeInstanceOf(PoolRequestError);
    expect(server.streams.filter((s) => s.method === 'POST')).toHaveLength(1);
  });

  it('a body that had started when the GOAWAY came: drained where undici drains, else it errors mid-body', async () => {
    const { server, held, release } = await goawayWhenHolding(1, true);
    const { p } = h2Pool(server, { connections: 1 });
    const response = await p.fetch(`${server.origin}/v1/items`);
    await vi.waitFor(() => expect(held).toHaveLength(1), { timeout: 5_000, interval: 5 });
    release();
    const body = await response.text().catch((e: unknown) => e);
    if (DRAINS) expect(body).toBe('ok');
    else {
      // fetch's own `terminated` TypeError, its cause the typed poolscope error: too late to retry.
      expect(body).toMatchObject({ message: 'terminated', cause: expect.any(PoolRequestError) });
    }
    expect(p.stats().activeRequests).toBe(0);
  });

  it.each([
    ['refuses the stream, then sends GOAWAY(last-stream-id 0)', true],
    ['sends GOAWAY(last-stream-id 0), then refuses the stream', false],
  ])('a POST the server %s is sent again on a new session, as it was never processed', async (_, refuseFirst) => {
    const server = await h2Server({
      onStream: (s) => {
        if (s.n > 1) return; // the new session answers
        if (refuseFirst) s.stream.close(NGHTTP2_REFUSED_STREAM);
        s.session.goaway(NGHTTP2_NO_ERROR, 0);
        if (!refuseFirst) s.stream.close(NGHTTP2_REFUSED_STREAM);
        return 'handled';
      },
    });
    const { p } = h2Pool(server, { connections: 1 });
    const result = p.fetch(`${server.origin}/v1/items`, { method: 'POST', body: '{}' }).then((r) => r.text());
    // undici 7 ends every stream at a GOAWAY as a reset, refused or not: what comes after it is never read.
    if (DRAINS || refuseFirst) {
      expect(await result).toBe('ok');
      expect(server.streams.map((s) => s.session === server.streams[0]!.session)).toEqual([true, false]);
    } else {
      await expect(result).rejects.toBeInstanceOf(PoolRequestError);
      expect(server.streams).toHaveLength(1);
    }
  });

  it('a caller abort during the wait for a retry after a GOAWAY ends the request with its reason', async () => {
    const { server, held } = await goawayWhenHolding(1);
    const { p, registry } = h2Pool(server, {
      connections: 1,
      retry: { baseDelayMs: 60_000, maxDelayMs: 60_000, budgetMs: 600_000 },
    });
    const controller = new AbortController();
    const reason = new Error('the user left');
    const call = p.fetch(`${server.origin}/v1/items`, { signal: controller.signal }).catch((e: unknown) => e);
    await vi.waitFor(() => expect(held).toHaveLength(1), { timeout: 5_000, interval: 5 });
    // undici 7 cuts it at once: off the socket, waiting to be retried (undici 8 still runs it on the old session).
    if (!DRAINS) await vi.waitFor(() => expect(p.dispatcher.stats.running).toBe(0), { timeout: 5_000, interval: 5 });
    expect(p.stats().activeRequests).toBe(1);
    controller.abort(reason);
    expect(await call).toBe(reason);
    expect(p.stats().activeRequests).toBe(0);
    expect(await metric(registry, 'poolscope_request_failures_total', { operation: 'get', reason: 'aborted' })).toBe(1);
  });

  it('requestMs bounds a request across a GOAWAY and its retry', async () => {
    // The first session goes away as its stream arrives; the server never answers anything.
    const server = await h2Server({
      onStream: (s) => {
        if (s.n === 1) s.session.goaway(NGHTTP2_NO_ERROR);
        return 'handled';
      },
    });
    const { p } = h2Pool(server, { connections: 1, timeouts: { requestMs: 400 } });
    const startedAt = performance.now();
    const error = await p.fetch(`${server.origin}/v1/items`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PoolTimeoutError);
    expect(error).toMatchObject({ phase: 'request', limitMs: 400 });
    expect(performance.now() - startedAt).toBeLessThan(400 + 300);
    expect(p.stats().activeRequests).toBe(0);
  });
});

describe('HTTP/2 sessions and streams', () => {
  it("never opens more streams on a session than the server's SETTINGS_MAX_CONCURRENT_STREAMS", async () => {
    const held: H2Stream[] = [];
    const server = await h2Server({
      maxConcurrentStreams: 4,
      onStream: (s) => (s.path === '/v1/warm' ? undefined : (held.push(s), 'handled')),
    });
    const { p, registry } = h2Pool(server, { connections: 1 });
    await (await p.fetch(`${server.origin}/v1/warm`)).text(); // the session, and the server's settings
    const bodies = Promise.all(
      Array.from({ length: 8 }, () => p.fetch(`${server.origin}/v1/items`).then((r) => r.text())),
    );
    await vi.waitFor(() => expect(held).toHaveLength(4), { timeout: 5_000, interval: 5 });
    // Eight hold a slot of the pool's; four are streams, four wait in undici for a stream to free up.
    expect(p.stats()).toMatchObject({ activeRequests: 8 });
    expect(await metric(registry, 'poolscope_http2_sessions', {})).toBe(1);
    for (let answered = 0; answered < 8; answered++) {
      await vi.waitFor(() => expect(held.length).toBeGreaterThan(answered), { timeout: 5_000, interval: 5 });
      held[answered]!.stream.respond({ ':status': 200 });
      held[answered]!.stream.end('ok');
    }
    expect(await bodies).toEqual(Array(8).fill('ok'));
    expect(server.peakConcurrentStreams()).toBe(4);
  });

  it('reports sessions open and streams in flight, and every GOAWAY and reset code from 0', async () => {
    const held: H2Stream[] = [];
    const server = await h2Server({ onStream: (s) => (held.push(s), 'handled') });
    const { p, registry } = h2Pool(server, { connections: 1 });
    for (const name of ['poolscope_http2_goaways_total', 'poolscope_http2_stream_resets_total'])
      for (const code of ['no_error', 'refused_stream', 'internal_error', 'cancel', 'other'])
        expect(await metric(registry, name, { code })).toBe(0);
    const bodies = Promise.all(
      Array.from({ length: 3 }, () => p.fetch(`${server.origin}/v1/items`).then((r) => r.text())),
    );
    await vi.waitFor(() => expect(held).toHaveLength(3), { timeout: 5_000, interval: 5 });
    expect(await metric(registry, 'poolscope_http2_sessions', {})).toBe(1);
    expect(await metric(registry, 'poolscope_http2_streams', {})).toBe(3);
    for (const { stream } of held) {
      stream.respond({ ':status': 200 });
      stream.end('ok');
    }
    await bodies;
    expect(await metric(registry, 'poolscope_http2_streams', {})).toBe(0);
    await p.close();
    expect(p.live().http2).toEqual({ sessions: 0, streams: 0 });
  });

  it('counts no session where the server answers allowH2 with HTTP/1.1', async () => {
    const { key, cert } = await selfSignedCert();
    const server = https.createServer({ key, cert }, (_req, res) => res.end('ok'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    defer(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const registry = new Registry();
    const p = pool({ name: 'h2e', origin, allowH2: true, tls: { ca: cert }, registry });
    expect(await (await p.fetch(`${origin}/`)).text()).toBe('ok');
    expect(p.stats().totalConnections).toBe(1);
    expect(await metric(registry, 'poolscope_http2_sessions', {})).toBe(0);
    expect(await metric(registry, 'poolscope_http2_streams', {})).toBe(0);
    server.closeAllConnections();
  });

  it('an HTTP/1.1 pool exports no HTTP/2 series', async () => {
    const registry = new Registry();
    pool({ name: 'h1only', origin: 'http://127.0.0.1:9', registry });
    await expect(
      metricValue(registry, 'poolscope_http2_goaways_total', { pool: 'h1only', code: 'no_error' }),
    ).rejects.toThrow();
    await expect(metricValue(registry, 'poolscope_http2_sessions', { pool: 'h1only' })).rejects.toThrow();
  });
});

describe('400 GETs against a server that sends GOAWAY every 25 streams and resets now and then', () => {
  it('fails none but the bodies a GOAWAY cut after they started, and none of those where undici drains', async () => {
    const server = await h2Server({
      onStream: ({ stream, n, inSession, session }) => {
        if (n % 37 === 0) return (stream.close(NGHTTP2_INTERNAL_ERROR), 'handled');
        stream.respond({ ':status': 200 });
        stream.write('o');
        setTimeout(() => stream.destroyed || stream.end('k'), 2);
        if (inSession === 25) goaway(session);
        return 'handled';
      },
    });
    const { p, registry } = h2Pool(server, { connections: 2, maxConcurrent: 8 });
    const failures: unknown[] = [];
    let ok = 0;
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next++ < 400) {
          let started = false;
          try {
            const response = await p.fetch(`${server.origin}/v1/items`);
            started = true;
            if ((await response.text()) === 'ok') ok++;
          } catch (error) {
            failures.push({ started, message: (error as Error).message, cause: (error as Error).cause });
          }
        }
      }),
    );
    console.info(
      `[pool.h2] undici ${UNDICI_MAJOR}: ${ok}/400 ok, ${failures.length} bodies cut, ${server.sessions()} sessions, ` +
        `retries ${await metric(registry, 'poolscope_request_retries_total', { reason: 'reset' })} reset / ` +
        `${await metric(registry, 'poolscope_request_retries_total', { reason: 'refused_stream' })} refused_stream`,
    );
    expect(ok + failures.length).toBe(400);
    for (const failure of failures) expect(failure).toMatchObject({ started: true, message: 'terminated' });
    if (DRAINS) expect(failures).toEqual([]);
    expect(await metric(registry, 'poolscope_http2_goaways_total', { code: 'no_error' })).toBeGreaterThanOrEqual(
      Math.floor(400 / 25 / 2),
    );
    // And after all that, close() keeps its deadline.
    const closing = performance.now();
    await p.close(500);
    expect(performance.now() - closing).toBeLessThan(500 + 500);
  });
});
