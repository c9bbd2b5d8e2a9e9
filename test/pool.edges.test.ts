import { once } from 'node:events';
import type http from 'node:http';
import net from 'node:net';
import { Registry } from 'prom-client';
import { describe, expect, it, vi } from 'vitest';
import { PoolOriginError, PoolRequestError, PoolTimeoutError, type UpstreamPool } from '../src/index.js';
import { useCleanup } from './support/harness.js';
import { metricValue } from './support/metrics.js';
import { startSilentListener, type SilentListener } from './support/silent-listener.js';

const { upstream, pool, defer } = useCleanup();

/** A gate a test opens: the server holds a response until then. */
function gate(): { opened: Promise<void>; open(): void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

function failures(registry: Registry, pool: string, reason: string): Promise<number> {
  return metricValue(registry, 'poolscope_request_failures_total', { pool, operation: 'get', reason });
}

/** Resolves when undici holds nothing of the pool's requests any more (slots free, nothing pending). */
async function settled(p: UpstreamPool): Promise<void> {
  await vi.waitFor(() => expect(p.stats()).toMatchObject({ activeRequests: 0, pendingRequests: 0 }), {
    timeout: 5_000,
    interval: 10,
  });
}

/** A silent listener closed after the test. */
async function silentListener(onAccept?: Parameters<typeof startSilentListener>[0]): Promise<SilentListener> {
  const listener = await startSilentListener(onAccept);
  defer(() => listener.close());
  return listener;
}

describe('a redirect never escapes the pool and is one request', () => {
  it('follows a same-origin redirect under one slot: the next request waits until the final body has ended', async () => {
    const body = gate();
    let streaming = 0;
    let peakStreaming = 0;
    const finalStarted = gate();
    const server = await upstream((req, res) => {
      if (req.url === '/start') return void res.writeHead(302, { location: '/final' }).end();
      streaming++;
      peakStreaming = Math.max(peakStreaming, streaming);
      res.writeHead(200);
      res.write('first,');
      finalStarted.open();
      void body.opened.then(() => {
        streaming--;
        res.end('last');
      });
    });
    const registry = new Registry();
    const p = pool({ name: 'redirects', origin: server.origin, connections: 2, maxConcurrent: 1, registry });
    const ends: unknown[] = [];
    p.on('request:end', (event) => ends.push(event));
    const first = p.fetch(`${server.origin}/start`);
    const second = p.fetch(`${server.origin}/start`);
    const response = await first;
    await finalStarted.opened;
    expect(response.redirected).toBe(true);
    expect(p.stats()).toMatchObject({ activeRequests: 1, pendingRequests: 1 });
    expect(server.requests).toBe(2); // /start and /final of the first request only
    body.open();
    expect(await response.text()).toBe('first,last');
    expect(await (await second).text()).toBe('first,last');
    expect(peakStreaming).toBe(1);
    expect(ends).toHaveLength(2);
    expect(ends[0]).toMatchObject({ outcome: 'success', status: 200 });
    expect(
      await metricValue(registry, 'poolscope_request_duration_seconds_count', {
        pool: 'redirects',
        operation: 'get',
        outcome: 'success',
      }),
    ).toBe(2);
  });

  it('counts a redirected body that stalls past bodyMs as a timeout, and the body errors with the typed cause', async () => {
    const server = await upstream((req, res) => {
      if (req.url === '/start') return void res.writeHead(307, { location: '/final' }).end();
      res.writeHead(200);
      res.write('first chunk');
    });
    const registry = new Registry();
    const p = pool({ name: 'redirectstall', origin: server.origin, timeouts: { bodyMs: 200 }, registry });
    const response = await p.fetch(`${server.origin}/start`);
    const ended = once(p, 'request:end');
    const error = await response.text().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).cause).toBeInstanceOf(PoolTimeoutError);
    expect((error as Error).cause).toMatchObject({ phase: 'body', limitMs: 200 });
    expect(((error as Error).cause as Error).cause).toMatchObject({ code: 'UND_ERR_BODY_TIMEOUT' });
    expect((await ended)[0]).toMatchObject({ outcome: 'error', reason: 'timeout', status: 200 });
    expect(await failures(registry, 'redirectstall', 'timeout')).toBe(1);
  });

  it('keeps requestMs over every hop and the final body', async () => {
    const server = await upstream((req, res) => {
      if (req.url === '/start') return void res.writeHead(302, { location: '/final' }).end();
      res.writeHead(200);
      res.write('first chunk');
    });
    const registry = new Registry();
    const p = pool({ name: 'redirectdeadline', origin: server.origin, timeouts: { requestMs: 300 }, registry });
    const started = performance.now();
    const response = await p.fetch(`${server.origin}/start`);
    const error = await response.text().catch((e: unknown) => e);
    expect((error as Error).cause).toMatchObject({ code: 'POOLSCOPE_TIMEOUT', phase: 'request', limitMs: 300 });
    expect(performance.now() - started).toBeLessThan(300 + 250);
    expect(await failures(registry, 'redirectdeadline', 'timeout')).toBe(1);
  });

  it('never sends a redirect to another origin: PoolOriginError, and neither origin sees the hop', async () => {
    const other = await upstream((_req, res) => res.end('elsewhere'));
    const server = await upstream((_req, res) => res.writeHead(302, { location: `${other.origin}/x` }).end());
    const registry = new Registry();
    const p = pool({ name: 'crossorigin', origin: server.origin, registry });
    const error = await p.fetch(`${server.origin}/start`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PoolOriginError);
    expect(error).toMatchObject({
      code: 'POOLSCOPE_ORIGIN_MISMATCH',
      via: 'redirect',
      expected: server.origin,
      actual: other.origin,
    });
    expect(server.requests).toBe(1);
    expect(other.requests).toBe(0);
    expect(await failures(registry, 'crossorigin', 'other')).toBe(1);
    expect(p.stats().activeRequests).toBe(0);
  });

  it('returns a 3xx without a Location as the answer, and frees its slot when its body ends', async () => {
    const server = await upstream((_req, res) => res.writeHead(302).end('nowhere to go'));
    const registry = new Registry();
    const p = pool({ name: 'nolocation', origin: server.origin, registry });
    const ended = once(p, 'request:end');
    const response = await p.fetch(`${server.origin}/start`);
    expect(response.status).toBe(302);
    expect(await response.text()).toBe('nowhere to go');
    expect((await ended)[0]).toMatchObject({ outcome: 'success', status: 302 });
    expect(p.stats().activeRequests).toBe(0);
  });

  it("hands a 3xx to the caller unfollowed with redirect: 'manual', whatever its Location", async () => {
    const server = await upstream((_req, res) => res.writeHead(302, { location: 'http://elsewhere.invalid/x' }).end());
    const registry = new Registry();
    const p = pool({ name: 'manual', origin: server.origin, registry });
    const response = await p.fetch(`${server.origin}/start`, { redirect: 'manual' });
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('http://elsewhere.invalid/x');
    await response.arrayBuffer();
    expect(server.requests).toBe(1);
    expect(
      await metricValue(registry, 'poolscope_request_duration_seconds_count', {
        pool: 'manual',
        operation: 'get',
        outcome: 'success',
      }),
    ).toBe(1);
  });

  it("fails a redirect with redirect: 'error' as a PoolRequestError, without following it", async () => {
    const server = await upstream((req, res) => {
      if (req.url === '/start') return void res.writeHead(302, { location: '/final' }).end();
      res.end('final');
    });
    const p = pool({ name: 'redirecterror', origin: server.origin, registry: new Registry() });
    await expect(p.fetch(`${server.origin}/start`, { redirect: 'error' })).rejects.toBeInstanceOf(PoolRequestError);
    expect(server.requests).toBe(1);
  });
});

describe('a failure mid-body reaches the caller typed', () => {
  it("errors the body of a reset mid-stream with PoolRequestError as the cause, undici's error below it", async () => {
    const server = await upstream((req, res) => {
      res.writeHead(200);
      res.write('first chunk', () => setImmediate(() => req.socket.destroy()));
    });
    const registry = new Registry();
    const p = pool({ name: 'midbodyreset', origin: server.origin, registry });
    const response = await p.fetch(`${server.origin}/`);
    const ended = once(p, 'request:end');
    const error = await response.text().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).cause).toBeInstanceOf(PoolRequestError);
    expect((error as Error).cause).toMatchObject({ code: 'POOLSCOPE_REQUEST_FAILED', pool: 'midbodyreset' });
    expect(((error as Error).cause as Error).cause).toMatchObject({
      code: expect.stringMatching(/^(UND_ERR_SOCKET|ECONNRESET)$/),
    });
    expect((await ended)[0]).toMatchObject({ outcome: 'error', reason: 'other', status: 200 });
  });
});

describe('requestMs is the whole budget, retries and waits included', () => {
  it('ends at the deadline when a reset first attempt is followed by a silent second one', async () => {
    let seen = 0;
    const server = await upstream((req) => {
      if (++seen === 1) req.socket.destroy();
      // the retry is never answered
    });
    const registry = new Registry();
    const p = pool({
      name: 'resetsilent',
      origin: server.origin,
      timeouts: { requestMs: 500 },
      retry: { baseDelayMs: 1 },
      registry,
    });
    const started = performance.now();
    const error = await p.fetch(`${server.origin}/`).catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    expect(error).toBeInstanceOf(PoolTimeoutError);
    expect(error).toMatchObject({ phase: 'request', limitMs: 500 });
    expect(elapsed).toBeLessThan(500 + 250);
    expect(seen).toBe(2);
    expect(
      await metricValue(registry, 'poolscope_request_retries_total', { pool: 'resetsilent', reason: 'reset' }),
    ).toBe(1);
    expect(await failures(registry, 'resetsilent', 'timeout')).toBe(1);
    await settled(p);
  });

  it('aborts the exchange on the wire at the deadline: the slot is free and its socket closed at once', async () => {
    const server = await upstream(() => undefined); // headers never come
    const p = pool({
      name: 'deadlinewire',
      origin: server.origin,
      timeouts: { requestMs: 300 },
      retry: false,
      registry: new Registry(),
    });
    await expect(p.fetch(`${server.origin}/`)).rejects.toMatchObject({ code: 'POOLSCOPE_TIMEOUT', phase: 'request' });
    expect(p.stats().activeRequests).toBe(0);
    // HTTP/1.1 cancels an exchange by closing its socket. (undici then opens an idle one of its own accord, as raw
    // undici.fetch does after an AbortSignal.timeout: that one is kept for the next request.)
    await vi.waitFor(() => expect(server.sockets.accepted - server.sockets.open).toBe(1), {
      timeout: 1_000,
      interval: 5,
    });
  });

  it("ends at the deadline when the retry's connection never completes", async () => {
    // First connection reset at once (nothing sent: any method may retry); the retry's TLS handshake hangs.
    const server = await silentListener((socket, nth) => {
      if (nth === 1) socket.resetAndDestroy();
    });
    const origin = `https://127.0.0.1:${server.port}`;
    const registry = new Registry();
    const p = pool(
      {
        name: 'connectsilent',
        origin,
        timeouts: { requestMs: 500, connectMs: 2_000 },
        retry: { baseDelayMs: 1 },
        registry,
      },
      5_000,
    );
    const started = performance.now();
    const error = await p.fetch(`${origin}/`).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'POOLSCOPE_TIMEOUT', phase: 'request' });
    expect(performance.now() - started).toBeLessThan(500 + 250);
    expect(server.accepted()).toBe(2);
    expect(
      await metricValue(registry, 'poolscope_request_retries_total', { pool: 'connectsilent', reason: 'reset' }),
    ).toBe(1);
  });

  it('does not wait for a Retry-After longer than the time left: the caller gets the 429 at once, counted once', async () => {
    const server = await upstream((_req, res) => res.writeHead(429, { 'retry-after': '4' }).end('slow down'));
    const registry = new Registry();
    const p = pool({ name: 'retryafter', origin: server.origin, timeouts: { requestMs: 1_000 }, registry });
    const started = performance.now();
    const response = await p.fetch(`${server.origin}/`);
    expect(performance.now() - started).toBeLessThan(500);
    expect(response.status).toBe(429);
    expect(await response.text()).toBe('slow down');
    expect(server.requests).toBe(1);
    expect(
      await metricValue(registry, 'poolscope_request_retries_total', { pool: 'retryafter', reason: 'rate_limited' }),
    ).toBe(0);
    expect(await failures(registry, 'retryafter', 'rate_limited')).toBe(1);
    expect(p.stats()).toMatchObject({ activeRequests: 0, totalRequests: 1 });
  });

  it('measures the time left from the start: a wait that fits requestMs but not what is left of it is not started', async () => {
    const server = await upstream((_req, res) =>
      setTimeout(() => res.writeHead(503, { 'retry-after-ms': '900' }).end(), 400),
    );
    const registry = new Registry();
    const p = pool({ name: 'timeleft', origin: server.origin, timeouts: { requestMs: 1_000 }, registry });
    const started = performance.now();
    const response = await p.fetch(`${server.origin}/`);
    expect(response.status).toBe(503); // 600 ms were left, the upstream asked for 900
    expect(performance.now() - started).toBeLessThan(800);
    expect(server.requests).toBe(1);
  });

  it('does not start a backoff after a network failure that would outlive the deadline', async () => {
    const server = await upstream((req) => req.socket.destroy());
    const registry = new Registry();
    const p = pool({
      name: 'backofflate',
      origin: server.origin,
      timeouts: { requestMs: 200 },
      retry: { baseDelayMs: 60_000, maxDelayMs: 60_000, budgetMs: 600_000 },
      registry,
    });
    // Full jitter draws the wait from [0, 60 s): only a draw below ~200 ms would fit; make it certain it does not.
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    defer(async () => void vi.restoreAllMocks());
    const started = performance.now();
    const error = await p.fetch(`${server.origin}/`).catch((e: unknown) => e);
    expect(performance.now() - started).toBeLessThan(200);
    expect(error).toBeInstanceOf(PoolRequestError); // the real failure, not a timeout that never happened
    expect(server.requests).toBe(1);
    expect(
      await metricValue(registry, 'poolscope_request_retries_total', { pool: 'backofflate', reason: 'reset' }),
    ).toBe(0);
    expect(await failures(registry, 'backofflate', 'other')).toBe(1);
  });
});

type Phase = 'queued' | 'connecting' | 'headers' | 'body' | 'backoff';
const reasons: Array<[string, () => unknown]> = [
  ['AbortError', () => new DOMException('This operation was aborted', 'AbortError')],
  ['TimeoutError', () => new DOMException('The operation timed out.', 'TimeoutError')],
  ['a custom reason', () => new Error('user navigated away')],
];

describe.each(reasons)(
  "a caller's abort with %s is rethrown as its reason and counted as aborted",
  (_name, makeReason) => {
    /** Starts a request that reaches `phase`, aborts it there, and returns what the caller got. */
    async function abortIn(phase: Phase) {
      const registry = new Registry();
      const controller = new AbortController();
      const reason = makeReason();
      const hold = gate();
      let p: UpstreamPool;
      let outcome: Promise<unknown>;
      if (phase === 'connecting') {
        const silent = await silentListener();
        const origin = `https://127.0.0.1:${silent.port}`;
        p = pool({ name: 'aborts', origin, timeouts: { connectMs: 300 }, retry: false, registry });
        outcome = p.fetch(`${origin}/`, { signal: controller.signal }).catch((e: unknown) => e);
        await vi.waitFor(() => expect(silent.accepted()).toBe(1), { timeout: 5_000, interval: 5 });
      } else {
        const server = await upstream((_req: http.IncomingMessage, res: http.ServerResponse) => {
          if (phase === 'backoff') return void res.writeHead(503, { 'retry-after': '30' }).end();
          if (phase === 'body') {
            res.writeHead(200);
            res.write('first chunk');
          }
          void hold.opened.then(() => res.end());
        });
        p = pool({ name: 'aborts', origin: server.origin, maxConcurrent: 1, retry: { budgetMs: 60_000 }, registry });
        if (phase === 'queued') {
          void p.fetch(`${server.origin}/holder`).then(
            (r) => r.arrayBuffer(),
            () => undefined,
          );
          await server.waitForRequests(1);
        }
        const responded = once(p, 'response');
        outcome = p
          .fetch(`${server.origin}/`, { signal: controller.signal })
          .then((r) => r.text())
          .catch((e: unknown) => e);
        if (phase === 'headers') await server.waitForRequests(1);
        if (phase === 'body' || phase === 'backoff') await responded;
      }
      if (phase === 'queued') expect(p.stats().pendingRequests).toBe(1);
      const ended = once(p, phase === 'queued' ? 'reject' : 'request:end');
      controller.abort(reason);
      const started = performance.now();
      const error = await outcome;
      const elapsedMs = performance.now() - started;
      hold.open();
      return { error, reason, registry, p, ended, elapsedMs };
    }

    it.each<Phase>(['queued', 'connecting', 'headers', 'body', 'backoff'])('while %s', async (phase) => {
      const { error, reason, registry, ended, elapsedMs } = await abortIn(phase);
      expect(error).toBe(reason);
      expect(elapsedMs).toBeLessThan(100);
      expect((await ended)[0]).toMatchObject({ reason: 'aborted' });
      expect(
        await metricValue(registry, 'poolscope_request_failures_total', {
          pool: 'aborts',
          operation: 'get',
          reason: 'aborted',
        }),
      ).toBe(1);
      if (phase === 'backoff') {
        // The retry it waited for was never sent, so none is counted.
        expect(
          await metricValue(registry, 'poolscope_request_retries_total', { pool: 'aborts', reason: 'unavailable' }),
        ).toBe(0);
      }
    });
  },
);

describe('aborted requests leave nothing behind', () => {
  it('5,000 callers with 1–3 ms deadlines leave nothing queued, and never open a socket that carries no request', async () => {
    const server = await upstream((_req, res) => res.end('ok'));
    // Per socket, the requests it carried: a socket opened for a request nobody wanted any more carries none.
    const carried = new Map<net.Socket, number>();
    server.server.on('connection', (socket: net.Socket) => carried.set(socket, 0));
    server.server.on('request', (req: http.IncomingMessage) =>
      carried.set(req.socket, (carried.get(req.socket) ?? 0) + 1),
    );
    const registry = new Registry();
    const p = pool({ name: 'abortstorm', origin: server.origin, connections: 4, maxQueued: 10_000, registry });
    const results = await Promise.allSettled(
      Array.from({ length: 5_000 }, (_, i) =>
        p.fetch(`${server.origin}/`, { signal: AbortSignal.timeout(1 + (i % 3)) }).then((r) => r.text()),
      ),
    );
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(rejected.length).toBeGreaterThan(0);
    for (const { reason } of rejected) expect(reason).toMatchObject({ name: 'TimeoutError' });
    await settled(p);
    expect(p.dispatcher.stats.pending).toBe(0);
    expect(await failures(registry, 'abortstorm', 'aborted')).toBe(rejected.length);
    // None reached the caller as anything but its own abort, and none was counted as anything else.
    expect(
      await metricValue(registry, 'poolscope_request_failures_total', {
        pool: 'abortstorm',
        operation: 'get',
        reason: 'other',
      }),
    ).toBe(0);

    // The pool is as good as new: ordinary requests are served on the sockets it keeps.
    const after = await Promise.all(
      Array.from({ length: 20 }, () => p.fetch(`${server.origin}/`).then((r) => r.text())),
    );
    expect(after).toEqual(Array.from({ length: 20 }, () => 'ok'));
    expect(server.sockets.peak).toBeLessThanOrEqual(4);
    // A request aborted on the wire closes its socket (HTTP/1.1 has no other way to cancel); one that was never
    // sent must not have made undici open one.
    expect([...carried.values()].filter((n) => n === 0)).toEqual([]);
  });

  it('keeps the slot of a request aborted while connecting until undici lets go, then frees it without a new socket', async () => {
    const silent = await silentListener();
    const origin = `https://127.0.0.1:${silent.port}`;
    const p = pool({
      name: 'abortconnect',
      origin,
      connections: 1,
      timeouts: { connectMs: 300 },
      retry: false,
      registry: new Registry(),
    });
    const controller = new AbortController();
    const pending = p.fetch(`${origin}/`, { signal: controller.signal }).catch((e: unknown) => e);
    await vi.waitFor(() => expect(silent.accepted()).toBe(1), { timeout: 5_000, interval: 5 });
    controller.abort();
    expect(await pending).toMatchObject({ name: 'AbortError' });
    // The socket it asked for is still being opened: its slot is what keeps a second one from being opened too.
    expect(p.stats().activeRequests).toBe(1);
    await settled(p);
    expect(silent.accepted()).toBe(1);
  });
});
