import { setTimeout as sleep } from 'node:timers/promises';
import {
  Pool as UndiciPool,
  buildConnector,
  fetch as undiciFetch,
  type Dispatcher,
  type RequestInit,
  type Response,
} from 'undici';
import {
  PoolAcquireTimeoutError,
  PoolClosedError,
  PoolOriginError,
  PoolscopeError,
  type FailureReason,
} from '../errors/index.js';
import { registry as defaultRegistry } from '../metrics/registry.js';
import type { FleetBudget } from '../fleet/budget.js';
import { describeFleetOptions } from '../fleet/options.js';
import { Attempt, type AttemptContext } from './attempt.js';
import { classifyNetworkFailure, connectionErrorReason, isAbortError } from './failure.js';
import { goawayCode, Http2Sessions } from './http2.js';
import { ConcurrencyLimiter, type Release } from './limiter.js';
import { resolvePoolOptions, type PoolOptions, type ResolvedPoolOptions } from './options.js';
import { RequestLifecycle } from './request-lifecycle.js';
import { PoolBase } from './pool-base.js';
import type { LiveCounts, OperationRecorder } from './recorder.js';
import {
  backoffMs,
  isIdempotent,
  isLeftToCaller,
  retryAfterMs,
  retryReasonForStatus,
  type RetryReason,
} from './retry.js';
import { headerOf } from './headers.js';

/** A `Request` from undici or from Node's global fetch (a different class): read through its public fields. */
export interface RequestLike {
  readonly url: string;
  readonly method: string;
  readonly headers: { forEach(callback: (value: string, key: string) => void): void };
  readonly body: ReadableStream<Uint8Array> | null;
  readonly signal?: AbortSignal;
  readonly redirect?: string;
}

export type FetchInput = string | URL | RequestLike;
/** undici's `RequestInit` or the global one (their `Headers`/`Request` types differ, the values work alike). */
export type FetchInit = RequestInit | globalThis.RequestInit;
/** What `pool.fetch` runs: undici's fetch, taking either kind of `Request` and `RequestInit`. */
export type UndiciFetch = (input: FetchInput, init?: FetchInit) => Promise<Response>;
/**
 * The type of `pool.fetch`: the platform's `fetch` — so it goes, with no cast, wherever `typeof fetch` or an SDK's
 * fetch option (openai's `fetch`, supabase-js' `global.fetch`, Pinecone's `fetchApi`) is expected — and
 * undici's, so undici's `Request` and `RequestInit` are accepted too. One function at run time.
 */
export type PoolFetch = typeof globalThis.fetch & UndiciFetch;

/**
 * The one cast between the two: undici's `Response` is the platform's at run time (Node's fetch is undici), but
 * its declared `body` stream type differs from the one `lib.dom` / `@types/node` declare.
 */
export function asPoolFetch(fetch: UndiciFetch): PoolFetch {
  return fetch as PoolFetch;
}

/**
 * A bounded, observable pool for one upstream origin: an undici `Pool` (sockets, keep-alive, phase
 * timeouts), a concurrency limiter with a bounded FIFO queue, retries where the upstream asks for them,
 * and metrics computed from live sockets.
 */
export class UpstreamPool extends PoolBase {
  readonly origin: string;
  /** The undici dispatcher: hand it to undici APIs directly if you need more than `fetch`. */
  readonly dispatcher: UndiciPool;
  readonly options: ResolvedPoolOptions;

  readonly #limiter: ConcurrencyLimiter;
  /** `allowH2` pools only. */
  readonly #http2: Http2Sessions | undefined;

  constructor(options: PoolOptions) {
    const resolved = resolvePoolOptions(options);
    super({ ...resolved, registry: resolved.registry ?? defaultRegistry });
    this.options = { ...resolved, fleet: describeFleetOptions(resolved.fleet) };
    this.origin = resolved.origin;
    this.#http2 = resolved.allowH2 ? new Http2Sessions(this.name, this.metrics) : undefined;
    const { timeouts } = resolved;
    this.dispatcher = new UndiciPool(resolved.origin, {
      connections: resolved.connections,
      // undici runs HTTP/2 streams on a session only up to `pipelining` (nodejs/undici#4143): at 1 an h2 pool
      // never multiplexes. The limiter already bounds requests in flight, so let every slot be a stream.
      pipelining: resolved.allowH2 ? resolved.maxConcurrent : 1,
      keepAliveTimeout: resolved.keepAliveTimeoutMs,
      keepAliveMaxTimeout: resolved.keepAliveTimeoutMs,
      allowH2: resolved.allowH2,
      headersTimeout: timeouts.headersMs,
      bodyTimeout: timeouts.bodyMs,
      // undici's own connector (what `connect: {...}` builds), timed: connect start → socket ready, TLS included.
      connect: this.#timed(
        buildConnector({
          allowH2: resolved.allowH2,
          // undici has no "off" for the connect timeout: 0 maps to the longest timer Node allows.
          timeout: timeouts.connectMs || 2_147_483_647,
          ...resolved.tls,
        }),
      ),
    });
    this.#limiter = new ConcurrencyLimiter(
      resolved.name,
      resolved.maxConcurrent,
      resolved.maxQueued,
      timeouts.acquireMs,
    );
    this.#watchSockets();
  }

  /**
   * A WHATWG `fetch` bound to this pool's sockets and limiter, to hand to SDKs. The request holds its
   * concurrency slot until its response body is fully read, cancelled, or the `requestMs` deadline passes.
   */
  readonly fetch: PoolFetch = asPoolFetch(async (input, init) => {
    const [url, requestInit] = normalizeInput(input, init as RequestInit | undefined);
    if (!isOnOrigin(url, this.origin)) throw new PoolOriginError(this.name, this.origin, safeOrigin(url));
    const method = (requestInit?.method ?? 'GET').toUpperCase();
    const recorder = this.operation(this.#operationOf(method, url, requestInit?.headers));
    const signal = requestInit?.signal ?? undefined;
    const acquired = this.#acquire(recorder, signal);
    const release = typeof acquired === 'function' ? acquired : await acquired;
    const lifecycle = new RequestLifecycle(this.name, this.options.timeouts, recorder, release, signal);
    return this.#send(lifecycle, url, requestInit, method);
  });

  /**
   * Runs any async work as the named operation under this pool's limiter and metrics (the reference
   * designs' `executeQuery(fn)` / `@monitor_query("name")`). Undeclared names beyond `maxOperations` are
   * recorded as `other`. Do not call this pool's own `fetch` inside `fn`: it would need a second slot.
   */
  async run<T>(operation: string, fn: () => Promise<T> | T): Promise<T> {
    const recorder = this.operation(operation);
    const release = await this.#acquire(recorder, undefined);
    const startedAt = performance.now();
    try {
      const result = await fn();
      release();
      recorder.finish('success', undefined, undefined, performance.now() - startedAt);
      return result;
    } catch (error) {
      release();
      recorder.finish('error', failureReasonOf(error), undefined, performance.now() - startedAt);
      throw error;
    }
  }

  /**
   * One request on this pool's sockets that skips its limiter and metrics: for health checks, which must not
   * wait behind a saturated queue (a busy upstream is not a down one) nor count as the app's traffic.
   */
  probe(url: string, init?: FetchInit): Promise<Response> {
    if (!isOnOrigin(url, this.origin))
      return Promise.reject(new PoolOriginError(this.name, this.origin, safeOrigin(url)));
    return undiciFetch(url, { ...(init as RequestInit | undefined), dispatcher: this.dispatcher });
  }

  /** Live gauges, read at scrape time. */
  live(): LiveCounts {
    const sockets = this.dispatcher.stats;
    // With HTTP/1.1 and pipelining 1 a running request is a busy socket. Over HTTP/2 a session carries many
    // streams, so this is an upper bound when streams are spread over several sessions (undici fills the first
    // one up to `maxConcurrent` before using another); undici's `free` would be exact but lags for ~100 ms.
    const active = Math.min(sockets.connected, sockets.running);
    const fleet = this.fleet?.live();
    return {
      activeConnections: active,
      idleConnections: sockets.connected - active,
      maxConnections: this.options.connections,
      minConnections: 0,
      // A request waiting for its fleet lease holds a local slot but is pending, not active.
      activeRequests: this.#limiter.active - (fleet?.waiting ?? 0),
      pendingRequests: this.#limiter.pending + (fleet?.waiting ?? 0) + sockets.pending,
      maxConcurrent: this.options.maxConcurrent,
      maxQueued: this.options.maxQueued,
      ...(fleet && { fleet }),
      // Against an h2 origin every socket of the pool is a session, so what runs on them are streams.
      ...(this.#http2 && {
        http2: { sessions: this.#http2.open, streams: this.#http2.open > 0 ? sockets.running : 0 },
      }),
    };
  }

  /**
   * Stops taking work, lets accepted work (in flight and queued) finish for up to `deadlineMs`, then
   * closes the sockets; whatever is still running at the deadline is destroyed.
   */
  close(deadlineMs = 10_000): Promise<void> {
    this.closing ??= (async () => {
      const idle = this.#limiter.onIdle().then(() => true);
      const timer = sleep(deadlineMs, false, { ref: false });
      // The deadline bounds undici's graceful close too: it waits for every request undici still counts, however
      // long (a close that hung after a run of GOAWAYs on undici 7 was seen once); then the sockets are destroyed.
      const drained = await Promise.race([idle, timer]);
      const closed = drained && (await Promise.race([this.dispatcher.close().then(() => true), timer]));
      if (!closed) await this.dispatcher.destroy(new PoolClosedError(this.name));
      await this.fleet?.close();
      this.unregister();
    })();
    return this.closing;
  }

  /**
   * A slot, synchronously when one is free (no wait to measure, no promise hop on the hot path), else once the
   * limiter hands one over. Rejections are counted as failed requests of the operation.
   */
  #acquire(recorder: OperationRecorder, signal: AbortSignal | undefined): Release | Promise<Release> {
    if (this.closing) {
      this.#reject(recorder, 'other');
      return Promise.reject(new PoolClosedError(this.name));
    }
    const acquired = this.#limiter.acquire(signal);
    const fleet = this.fleet;
    if (typeof acquired === 'function' && !fleet) return this.#started(recorder, acquired, 0);
    const waitStart = performance.now();
    const slot = typeof acquired === 'function' ? Promise.resolve(acquired) : acquired;
    return (fleet ? slot.then((release) => this.#withLease(fleet, release, signal, waitStart)) : slot).then(
      (release) => this.#started(recorder, release, performance.now() - waitStart),
      (error: unknown) => {
        this.acquireWait.observe((performance.now() - waitStart) / 1000);
        if (error instanceof PoolAcquireTimeoutError) this.recorder.acquireTimedOut();
        // The caller's abort, whatever its reason (AbortError, TimeoutError, their own), is an abort.
        this.#reject(recorder, signal?.aborted && error === signal.reason ? 'aborted' : failureReasonOf(error));
        throw error;
      },
    );
  }

  /**
   * A fleet lease for a request holding its local slot, in what is left of `acquireMs`; the release gives both
   * back. If no lease comes, the slot goes back at once.
   */
  async #withLease(
    fleet: FleetBudget,
    release: Release,
    signal: AbortSignal | undefined,
    waitStart: number,
  ): Promise<Release> {
    const acquireMs = this.options.timeouts.acquireMs;
    const leftMs = acquireMs > 0 ? Math.max(1, acquireMs - (performance.now() - waitStart)) : 0;
    try {
      const releaseLease = await fleet.acquire(signal, leftMs, acquireMs);
      return () => {
        releaseLease();
        release();
      };
    } catch (error) {
      release();
      throw error;
    }
  }

  #started(recorder: OperationRecorder, release: Release, waitedMs: number): Release {
    this.acquireWait.observe(waitedMs / 1000);
    this.recorder.requestStarted();
    if (this.listenerCount('request:start') > 0)
      this.emit('request:start', { pool: this.name, operation: recorder.name });
    return release;
  }

  /** A request refused before it ran still counts as a failed request of its operation. */
  #reject(recorder: OperationRecorder, reason: FailureReason): void {
    recorder.finish('error', reason, undefined, Number.NaN);
    if (this.listenerCount('reject') > 0) this.emit('reject', { pool: this.name, operation: recorder.name, reason });
  }

  async #send(
    lifecycle: RequestLifecycle,
    url: string,
    init: RequestInit | undefined,
    method: string,
  ): Promise<Response> {
    const retry = this.options.retry;
    const replayable = isReplayable(init?.body);
    const context: AttemptContext = {
      pool: this.name,
      origin: this.origin,
      timeouts: this.options.timeouts,
      follow: (init?.redirect ?? 'follow') === 'follow',
      callerSignal: lifecycle.callerSignal,
      http2: this.#http2,
    };
    let waitedMs = 0;
    for (let attemptNumber = 0; ; attemptNumber++) {
      const attempt = new Attempt(this.dispatcher, context);
      lifecycle.current = attempt;
      const canRetry = replayable && attemptNumber < retry.maxRetries;
      let response: Response;
      try {
        // The attempt is a Dispatcher in all but its TypeScript type (undici calls only `dispatch`).
        response = await undiciFetch(url, { ...init, dispatcher: attempt as unknown as Dispatcher });
      } catch (error) {
        lifecycle.throwIfStopped();
        if (attempt.hops === 0) {
          // Refused by fetch before anything was dispatched (a bad init): theirs to see unchanged.
          lifecycle.finish('error', 'other');
          throw error;
        }
        const failure = classifyNetworkFailure(this.name, error, this.options.timeouts);
        const reason: RetryReason | undefined =
          !canRetry || isLeftToCaller(retry, method, 'network')
            ? undefined
            : failure.beforeSend
              ? 'connect_error'
              : failure.refused
                ? 'refused_stream'
                : failure.reset && (isIdempotent(method) || retry.nonIdempotent)
                  ? 'reset'
                  : undefined;
        const delay = reason ? backoffMs(retry, attemptNumber) : 0;
        if (reason && fits(lifecycle, retry.budgetMs - waitedMs, delay)) {
          waitedMs += delay;
          await this.#backoff(lifecycle, reason, delay);
          continue;
        }
        lifecycle.finish('error', failure.reason);
        throw failure.error;
      }
      this.fleet?.observeRateLimit(response.headers);
      if (this.listenerCount('response') > 0)
        this.emit('response', { pool: this.name, status: response.status, headers: response.headers });
      // Headers are read only for a status worth retrying: a 200 costs nothing here.
      const statusRetry =
        canRetry && retry.statuses.includes(response.status)
          ? retryReasonForStatus(
              retry,
              response.status,
              method,
              response.headers.has('retry-after') || response.headers.has('retry-after-ms'),
            )
          : undefined;
      if (statusRetry) {
        const delay = retryAfterMs(response.headers) ?? backoffMs(retry, attemptNumber);
        if (fits(lifecycle, retry.budgetMs - waitedMs, delay)) {
          waitedMs += delay;
          // Error bodies are small: reading it keeps the socket alive for the retry.
          await response.arrayBuffer().catch(() => undefined);
          await this.#backoff(lifecycle, statusRetry, delay);
          continue;
        }
      }
      lifecycle.deliver(attempt);
      return response;
    }
  }

  /**
   * Counts tokens the upstream reported as used against the pool's `fleet.tokensPerMinute`; nothing without one.
   * The OpenAI pool of `createClients` calls it with every response's `usage`; an app that wires its own client
   * to `pool.fetch` calls it with what that client reads.
   */
  recordTokens(tokens: number): void {
    this.fleet?.spendTokens(tokens);
  }

  /** Counts a retry in `poolscope_request_retries_total` and the snapshot (the pool's own, or an SDK's). */
  recordRetry(reason: RetryReason): void {
    this.recorder.retried(reason);
  }

  /** Waits before a retry (the slot stays held) and counts the retry once it is about to be sent. */
  async #backoff(lifecycle: RequestLifecycle, reason: RetryReason, delayMs: number): Promise<void> {
    await lifecycle.wait(delayMs);
    this.recordRetry(reason);
  }

  #operationOf(method: string, url: string, headers: RequestInit['headers']): string {
    const classify = this.options.operationOf;
    return classify
      ? classify({ method, url: new URL(url), header: (key) => headerOf(headers, key) })
      : method.toLowerCase();
  }

  #timed(connector: buildConnector.connector): buildConnector.connector {
    return (options, callback) => {
      const startedAt = performance.now();
      connector(options, (...args) => {
        if (args[0] === null) {
          this.recorder.connectionCreated(performance.now() - startedAt);
          this.#http2?.connected(args[1]);
        }
        callback(...args);
      });
    };
  }

  #watchSockets(): void {
    // Pool events come from this dispatcher's own clients only: no foreign traffic is ever counted.
    this.dispatcher.on('connect', () => {
      this.recorder.connectionOpened();
      if (this.listenerCount('connect') > 0) this.emit('connect', { pool: this.name });
    });
    // undici 7 reports a session a GOAWAY ended twice, with the same error (at the GOAWAY, then at its socket's
    // close): one disconnect per client and error.
    const lastDisconnect = new WeakMap<object, unknown>();
    this.dispatcher.on('disconnect', (_origin, targets, error) => {
      const client = targets.at(-1);
      if (client) {
        if (lastDisconnect.get(client) === error) return;
        lastDisconnect.set(client, error);
      }
      this.recorder.connectionClosed();
      this.#http2?.ended(error);
      if (this.listenerCount('disconnect') > 0) this.emit('disconnect', { pool: this.name });
    });
    this.dispatcher.on('connectionError', (_origin, _targets, error) => {
      // undici 7 reports a GOAWAY as a connection error too; it is a session the upstream ended, counted as such.
      if (goawayCode(error) !== undefined) return;
      const reason = connectionErrorReason(error);
      this.recorder.connectionFailed(reason);
      if (this.listenerCount('connection:error') > 0) this.emit('connection:error', { pool: this.name, reason });
    });
  }
}

/** Creates a pool for one upstream origin. Throws `PoolConfigError` naming the first bad option. */
export function createPool(options: PoolOptions): UpstreamPool {
  return new UpstreamPool(options);
}

/**
 * A retry is started only if its wait fits both the retry budget left and the request's deadline: one that
 * cannot finish in time is not waited for, and the caller gets the last real failure at once.
 */
function fits(lifecycle: RequestLifecycle, budgetLeftMs: number, delayMs: number): boolean {
  return delayMs <= budgetLeftMs && delayMs < lifecycle.remainingMs;
}

function failureReasonOf(error: unknown): FailureReason {
  if (error instanceof PoolscopeError) return error.reason ?? 'other';
  if (isAbortError(error)) return 'aborted';
  return 'other';
}

function normalizeInput(input: FetchInput, init: RequestInit | undefined): [string, RequestInit | undefined] {
  if (typeof input === 'string') return [input, init];
  if (input instanceof URL) return [input.href, init];
  // A Request (undici's or Node's global one): copy its parts so any undici version can send it.
  const headers: Array<[string, string]> = [];
  input.headers.forEach((value, key) => headers.push([key, value]));
  const fromRequest: RequestInit = { method: input.method, headers };
  if (input.body) Object.assign(fromRequest, { body: input.body, duplex: 'half' });
  if (input.signal) fromRequest.signal = input.signal;
  if (input.redirect) fromRequest.redirect = input.redirect as RequestInit['redirect'];
  return [input.url, init ? { ...fromRequest, ...init } : fromRequest];
}

function isOnOrigin(url: string, origin: string): boolean {
  if (!url.startsWith(origin)) return false;
  const next = url.charCodeAt(origin.length);
  return Number.isNaN(next) || next === 47 /* / */ || next === 63 /* ? */ || next === 35; /* # */
}

/** A URL's origin for an error message: never throws, never the path or query (which may carry ids). */
export function safeOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'an invalid URL';
  }
}

/** Only bodies that can be sent twice allow a retry after something may have been written. */
function isReplayable(body: unknown): boolean {
  return (
    body === undefined ||
    body === null ||
    typeof body === 'string' ||
    body instanceof Uint8Array ||
    body instanceof ArrayBuffer ||
    body instanceof URLSearchParams ||
    body instanceof Blob ||
    body instanceof FormData
  );
}
