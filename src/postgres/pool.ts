import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool, PoolClient, QueryConfig, QueryResult, QueryResultRow } from 'pg';
import type { Registry } from 'prom-client';
import {
  PgAcquireTimeoutError,
  PoolAcquireTimeoutError,
  PoolClosedError,
  PoolConfigError,
  PoolConnectError,
  PoolQueueFullError,
  PoolscopeError,
} from '../errors/index.js';
import type { FleetBudget } from '../fleet/budget.js';
import type { LiveCounts } from '../metrics/families.js';
import { postgresMetricsFor, type PostgresMetrics } from '../metrics/postgres.js';
import type { PoolEventMap } from '../pool/events.js';
import { PoolBase } from '../pool/pool-base.js';
import type { OperationRecorder } from '../pool/recorder.js';
import { isPgAcquireTimeout, isPgPoolEnded, pgConnectionErrorReason, pgFailureReason, sqlVerb } from './failure.js';
import { captureStack, formatStack, type Checkout } from './leak-detector.js';
import type { PgPoolSettings, ResolvedPgPoolOptions } from './options.js';
import {
  cancelRunning,
  type ConnectingClient,
  type PgClientInternals,
  type PgConnect,
  type PgPoolInternals,
} from './pg-internals.js';

export interface PgPoolEventMap extends PoolEventMap {
  /** A client has been held longer than `leakDetectionThresholdMs`; `stack` is where it was acquired. */
  leak: [event: { pool: string; heldMs: number; thresholdMs: number; stack: string | undefined }];
}

type HistogramChild = { observe(value: number): void };
/** An error a client emitted between pg-pool handing it over and poolscope's caller taking it. */
interface EarlyError {
  error: Error | undefined;
  guard: (error: Error) => void;
}

type QueryCallback = (error: Error | undefined, result?: QueryResult) => void;

/** pg pools already instrumented: a second `PgPool` over one would double-count everything. */
export const instrumented = new WeakSet<Pool>();

const noop = () => undefined;

/**
 * A bounded, observable `pg.Pool`: checkouts timed and classified, clients held watched for leaks, queries
 * recorded by operation, and the live counts of pg itself (`totalCount`, `idleCount`, `waitingCount`) read
 * at scrape time into the same metric families as the HTTP pools. Made by `createPgPool` or `instrumentPgPool`.
 */
export class PgPool extends PoolBase<PgPoolEventMap> {
  readonly options: ResolvedPgPoolOptions;

  readonly #pool: Pool;
  /** pg-pool's own `connect`, callback form. */
  readonly #connect: PgConnect;
  readonly #settings: PgPoolSettings;
  readonly #pgMetrics: PostgresMetrics;
  readonly #held = new Map<PoolClient, Checkout>();
  readonly #usage: HistogramChild;
  readonly #early = new WeakMap<PoolClient, EarlyError>();
  /** The fleet lease of each client checked out under a fleet budget, given back with the client. */
  readonly #leases = new Map<PoolClient, () => void>();
  readonly #refill: { timer: NodeJS.Timeout | undefined; lastAt: number; delayMs: number } = {
    timer: undefined,
    lastAt: Number.NEGATIVE_INFINITY,
    delayMs: 0,
  };

  /** @internal Use `createPgPool()` or `instrumentPgPool()`. */
  constructor(pool: Pool, settings: PgPoolSettings) {
    if (instrumented.has(pool))
      throw new PoolConfigError('pool', 'is already instrumented by poolscope', settings.name);
    super(settings);
    instrumented.add(pool);
    const { registry, logger, operations, maxOperations, statsWindowSize, owned, secrets, fleet, ...options } =
      settings;
    this.options = options;
    this.#pool = pool;
    this.#settings = settings;
    this.#connect = pool.connect.bind(pool) as unknown as PgConnect;
    this.#pgMetrics = postgresMetricsFor(registry);
    this.#usage = this.#pgMetrics.connectionUsage.labels(this.name);
    // With leak detection on, the leak counter exists from the start: dashboards show 0, not "No data".
    if (this.options.leakDetectionThresholdMs > 0) this.#pgMetrics.leaks.inc({ pool: this.name }, 0);
    this.#watchPool();
    this.#timeConnects();
    this.#patchPool();
  }

  /**
   * Times every new connection, `connect()` → ready for queries, through the client class pg-pool builds
   * (its documented `Client` option, which an app may have set: we extend whatever it is).
   */
  #timeConnects(): void {
    const pool = this.#pool as unknown as {
      Client: new (...args: never[]) => ConnectingClient;
      options: { maxLifetimeSeconds?: number };
    };
    const Base = pool.Client;
    const recorder = this.recorder;
    // pg-pool gives every connection one lifetime, read from its options as each connection opens (inside this
    // callback); setting this connection's own, up to 2.5% shorter (HikariCP's variance), spreads the expiries.
    const lifetimeMs = this.#settings.owned ? this.options.maxLifetimeMs : 0;
    pool.Client = class TimedClient extends Base {
      override connect(callback?: (error: Error | null | undefined) => void): Promise<void> | undefined {
        const startedAt = performance.now();
        const done = () => recorder.connectionCreated(performance.now() - startedAt);
        if (typeof callback !== 'function') return super.connect()!.then(done);
        return super.connect((error) => {
          if (!error) done();
          if (lifetimeMs > 0)
            pool.options.maxLifetimeSeconds = (lifetimeMs * (1 - Math.random() * LIFETIME_VARIANCE)) / 1000;
          callback(error);
        });
      }
    };
  }

  /** The underlying `pg.Pool` (its `connect` and `query` are instrumented too). */
  get pool(): Pool {
    return this.#pool;
  }

  /** The registry this pool records into (a getter, so the pool serialises small). */
  get registry(): Registry {
    return this.#settings.registry;
  }

  /**
   * Runs one statement on a pooled client, recorded under its SQL verb (`select`, `insert`, `with`...; never
   * the SQL text). Query errors are pg's own (`DatabaseError` with its SQLSTATE `code`); checkout failures are
   * typed: `PgAcquireTimeoutError`, `PoolQueueFullError`, `PoolConnectError`, `PoolClosedError`.
   */
  query<R extends QueryResultRow = QueryResultRow>(
    text: string | QueryConfig,
    values?: unknown[],
  ): Promise<QueryResult<R>> {
    const verb = sqlVerb(typeof text === 'string' ? text : text.text);
    return this.#execute(this.recorder.operation(verb), (client) => queryOn<R>(client, text, values), true, true);
  }

  /**
   * Checks out a client, runs `fn` with it as the named operation (the reference design's
   * `@monitor_query("list_uploads")`), and releases it whatever happens; a client whose `fn` threw is closed
   * rather than reused (as `pg.Pool#query` does), so a half-done transaction never returns to the pool.
   * Do not call `client.release()` inside `fn`. Names beyond `maxOperations` are recorded as `other`.
   */
  run<T>(operation: string, fn: (client: PoolClient) => Promise<T> | T): Promise<T> {
    return this.#execute(this.operation(operation), fn, true, false);
  }

  /**
   * Live gauges from pg's own counts, read at scrape time. A client still opening its connection is
   * `connecting`, not active: it carries no work yet, and a database that never answers must not look busy.
   */
  live(): LiveCounts {
    const pool = this.#pool;
    let connecting = 0;
    for (const client of (pool as unknown as PgPoolInternals)._clients ?? [])
      if ((client as unknown as PgClientInternals)._connecting) connecting++;
    const active = Math.max(0, pool.totalCount - pool.idleCount - connecting);
    const fleet = this.fleet?.live();
    return {
      activeConnections: active,
      idleConnections: pool.idleCount,
      connectingConnections: connecting,
      maxConnections: this.options.max,
      minConnections: this.options.min,
      // A checkout waiting for its fleet lease holds a client but is pending, not active.
      activeRequests: active - (fleet?.waiting ?? 0),
      pendingRequests: pool.waitingCount + (fleet?.waiting ?? 0),
      maxConcurrent: this.options.max,
      maxQueued: this.options.maxQueued,
      ...(fleet && { fleet }),
    };
  }

  /**
   * Stops taking work and ends the pg pool once every client is back. It returns by `deadlineMs` whatever state
   * the clients are in: near the deadline, statements still running on held clients are cancelled on the server
   * (PostgreSQL's cancel request), and every connection left — held, or still being opened to a database that
   * does not answer — is dropped. Instrumented pools are ended too: the pool is the app's, but so is the call.
   */
  close(deadlineMs = 10_000): Promise<void> {
    this.closing ??= (async () => {
      const pool = this.#pool;
      clearTimeout(this.#refill.timer);
      if (!pool.ending) {
        const ended = pool.end().then(
          () => true,
          () => true,
        );
        // The last part of the deadline is kept for cancelling on the server, which takes a round trip.
        const forceBudgetMs = Math.min(CANCEL_BUDGET_MS, Math.floor(deadlineMs / 4));
        if (!(await Promise.race([ended, sleep(deadlineMs - forceBudgetMs, false, { ref: false })]))) {
          await this.#force(forceBudgetMs);
          await Promise.race([ended, sleep(forceBudgetMs, false, { ref: false })]);
        }
      }
      for (const checkout of this.#held.values()) clearTimeout(checkout.timer);
      await this.fleet?.close();
      this.unregister();
    })();
    return this.closing;
  }

  /** The deadline has come: cancel what held clients still run, then drop every connection pg still has. */
  async #force(budgetMs: number): Promise<void> {
    const pool = this.#pool as unknown as PgPoolInternals;
    const held = [...this.#held.keys()];
    await Promise.all(held.map((client) => cancelRunning(pool, client, budgetMs)));
    // A cancelled statement usually hands its client back by itself meanwhile.
    for (const client of held) if (this.#held.has(client)) client.release(new PoolClosedError(this.name));
    // Closing politely waits for the server; there is no time left for that. Clients still connecting are in
    // no queue pg-pool can end at all: their sockets are all there is to close.
    for (const client of new Set([...held, ...(pool._clients ?? [])]))
      (client as unknown as PgClientInternals).connection?.stream?.destroy();
  }

  /** HikariCP's minimumIdle: replace a lost connection so `min` stay open (pg only stops reaping them). */
  #needsRefill(): boolean {
    const pool = this.#pool;
    // Waiters come first: pg-pool opens their connections itself, and those count towards `min` too.
    return (
      this.#settings.owned &&
      !this.closing &&
      !pool.ending &&
      pool.totalCount < this.options.min &&
      pool.waitingCount === 0
    );
  }

  /**
   * Refills towards `min`, at once after a quiet spell, but backing off (1 s, 2 s, 4 s... up to 30 s) while
   * connections die as fast as they are opened, so a database that drops every connection cannot make us spin.
   */
  #scheduleRefill(): void {
    if (this.#refill.timer || !this.#needsRefill()) return;
    const refill = this.#refill;
    const sinceLastMs = performance.now() - refill.lastAt;
    refill.delayMs =
      sinceLastMs < REFILL_INTERVAL_MS
        ? Math.min(REFILL_MAX_DELAY_MS, Math.max(REFILL_INTERVAL_MS, refill.delayMs * 2))
        : 0;
    refill.timer = setTimeout(() => {
      refill.timer = undefined;
      if (!this.#needsRefill()) return;
      refill.lastAt = performance.now();
      void this.warm(this.options.min - this.#pool.totalCount);
    }, refill.delayMs);
    refill.timer.unref();
  }

  /** @internal Opens `count` clients and returns them to the pool idle. Failures are counted and logged, never thrown. */
  async warm(count: number): Promise<number> {
    const attempts = await Promise.allSettled(Array.from({ length: count }, () => this.#checkout(false, true)));
    let opened = 0;
    let failure: unknown;
    for (const attempt of attempts) {
      if (attempt.status === 'fulfilled') {
        // pg-pool counts every release towards `maxUses` (pg-pool 3: `_poolUseCount`, bumped inside release());
        // a warm-up is not a use: with maxUses 1 it would retire every client it opened, and the refill that
        // follows would open the next one, forever. Taking one off first leaves the count where it was.
        const client = attempt.value as PoolClient & { _poolUseCount?: number };
        client._poolUseCount = (client._poolUseCount ?? 0) - 1;
        const lost = this.#takeEarlyError(client);
        client.release(lost);
        if (lost) failure ??= lost;
        else opened++;
      } else failure ??= attempt.reason;
    }
    if (failure !== undefined && !this.closed) {
      this.#log(
        'warn',
        { pool: this.name, opened, wanted: count, reason: pgConnectionErrorReason(failure) },
        `Pool "${this.name}" could not open ${count - opened} of ${count} connections to keep min=${this.options.min}`,
      );
    }
    return opened;
  }

  /**
   * Checks a client out, runs `fn` on it, records the outcome and gives the client back (closed if it broke).
   * `failFast` (one-statement queries, as pg-pool's `query()`): an error the client emits meanwhile fails the
   * call at once and closes the client, instead of waiting for a statement that may never settle.
   */
  async #execute<T>(
    recorder: OperationRecorder,
    fn: (client: PoolClient) => Promise<T> | T,
    typed: boolean,
    failFast: boolean,
  ): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.#checkout(typed, false);
    } catch (error) {
      const reason = pgFailureReason(typed ? error : this.#typed(error));
      recorder.finish('error', reason, undefined, Number.NaN);
      if (this.listenerCount('reject') > 0) this.emit('reject', { pool: this.name, operation: recorder.name, reason });
      throw error;
    }
    const checkout = this.#held.get(client);
    this.recorder.requestStarted();
    if (this.listenerCount('request:start') > 0)
      this.emit('request:start', { pool: this.name, operation: recorder.name });
    // A checked-out client has no pool listener: without ours a connection lost between two statements of
    // `fn` would be an uncaught 'error' event.
    let lost: Error | undefined;
    let failNow: ((error: Error) => void) | undefined;
    const onError = (error: Error) => {
      lost ??= error;
      failNow?.(error);
    };
    client.on('error', onError);
    lost = this.#takeEarlyError(client);
    const startedAt = performance.now();
    let failed: unknown;
    try {
      let result: T;
      if (lost) throw lost; // the connection ended as it was handed over: nothing can run on it
      if (failFast) {
        const running = Promise.resolve(fn(client));
        running.catch(() => undefined); // settles after we have moved on when the client broke first
        result = await Promise.race([running, new Promise<never>((_, reject) => (failNow = reject))]);
      } else result = await fn(client);
      recorder.finish('success', undefined, undefined, performance.now() - startedAt);
      return result;
    } catch (error) {
      failed = error;
      recorder.finish('error', pgFailureReason(error), undefined, performance.now() - startedAt);
      throw this.#scrub(error);
    } finally {
      client.removeListener('error', onError);
      // pg may have handed the client on already if `fn` released it itself: release only our own checkout.
      if (checkout === undefined || this.#held.get(client) === checkout) {
        const broken = lost ?? failed;
        client.release(broken === undefined ? undefined : broken instanceof Error ? broken : true);
      }
    }
  }

  /**
   * Checks a client out of pg, timing the wait and classifying a failure. `typed` callers (our own `query`
   * and `run`) get poolscope errors; the app's own `pool.connect()` / `pool.query()` get pg's errors unchanged.
   *
   * A checkout in promise form: poolscope's own (queries, `run()`, warming) and the app's `pool.connect()`.
   * pg-pool hands the client over with no 'error' listener, and the message that ends a connection can arrive in
   * the very chunk that completed it, before the promise's continuation runs: a guard holds that error until the
   * caller takes it (`#takeEarlyError`) or the client is released, instead of an uncaught 'error' taking the
   * process down. One guard per checkout, never more: pg-pool's 'release' removes what is left of it.
   */
  #checkout(typed: boolean, warmup: boolean): Promise<PoolClient> {
    if (typed && (this.closing || this.#pool.ending)) return Promise.reject(new PoolClosedError(this.name));
    return new Promise((resolve, reject) =>
      this.#checkoutThen(warmup, (error, client) => {
        if (error) return reject(typed ? this.#typed(error) : this.#scrub(error));
        const early: EarlyError = { error: undefined, guard: (e) => void (early.error ??= e) };
        client!.on('error', early.guard);
        this.#early.set(client!, early);
        resolve(client!);
      }),
    );
  }

  /** Removes the guard `#checkout` put on `client`, returning the error it caught, if any. */
  #takeEarlyError(client: PoolClient): Error | undefined {
    const early = this.#early.get(client);
    if (!early) return undefined;
    this.#early.delete(client);
    client.removeListener('error', early.guard);
    return early.error;
  }

  /**
   * Checks a client out of pg-pool and calls back exactly when pg-pool does — synchronously on an ended pool,
   * inside `release()` for a waiter — so an app using callbacks sees pg-pool's timing; the wait is timed and a
   * failure counted on the way.
   */
  #checkoutThen(warmup: boolean, callback: (error: Error | undefined, client: PoolClient | undefined) => void): void {
    const pool = this.#pool;
    if (
      !this.closing &&
      !pool.ending &&
      pool.totalCount >= this.options.max &&
      pool.idleCount === 0 &&
      pool.waitingCount >= this.options.maxQueued
    ) {
      return callback(new PoolQueueFullError(this.name, this.options.maxQueued), undefined);
    }
    // The stack of whoever asked for the client: what a leak warning must show. Only paid for when detecting.
    const stack = this.options.leakDetectionThresholdMs > 0 && !warmup ? captureStack() : undefined;
    const waitStart = performance.now();
    this.#connect((error, client) => {
      const fleet = warmup || error ? undefined : this.fleet;
      if (!warmup && !fleet) this.acquireWait.observe((performance.now() - waitStart) / 1000);
      if (error) {
        this.#countCheckoutFailure(error);
        return callback(error, undefined);
      }
      const checkout = this.#held.get(client!);
      if (checkout) {
        checkout.stack = stack;
        checkout.warmup = warmup;
      }
      if (!fleet) return callback(undefined, client);
      this.#leaseFor(fleet, client!, waitStart, callback);
    });
  }

  /**
   * A fleet lease for a checked-out client, in what is left of `connectionTimeoutMs`; the lease goes back when the
   * client does (pg-pool's 'release'). Without a lease the client goes back at once and the checkout fails.
   */
  #leaseFor(
    fleet: FleetBudget,
    client: PoolClient,
    waitStart: number,
    callback: (error: Error | undefined, client: PoolClient | undefined) => void,
  ): void {
    const limitMs = this.options.connectionTimeoutMs;
    const leftMs = limitMs > 0 ? Math.max(1, limitMs - (performance.now() - waitStart)) : 0;
    // The client has no 'error' listener of pg-pool's while checked out: one of ours while it waits for the lease.
    let lost: Error | undefined;
    const onError = (e: Error) => void (lost ??= e);
    client.on('error', onError);
    fleet
      .acquire(undefined, leftMs, limitMs, () => new PgAcquireTimeoutError(this.name, limitMs))
      .then(
        (releaseLease) => {
          client.removeListener('error', onError);
          this.acquireWait.observe((performance.now() - waitStart) / 1000);
          if (lost) {
            releaseLease();
            client.release(lost);
            return callback(lost, undefined);
          }
          this.#leases.set(client, releaseLease);
          callback(undefined, client);
        },
        (error: Error) => {
          client.removeListener('error', onError);
          this.acquireWait.observe((performance.now() - waitStart) / 1000);
          if (error instanceof PoolAcquireTimeoutError) this.recorder.acquireTimedOut();
          client.release(lost);
          callback(error, undefined);
        },
      );
  }

  /** The poolscope error for a failed checkout, pg's error kept as `cause` (scrubbed of any secret). */
  #typed(error: unknown): Error {
    // Already typed: a full queue, a closed pool, or the fleet budget's (no lease in time, Redis unreachable).
    if (error instanceof PoolscopeError) return error;
    const cause = this.#scrub(error);
    if (isPgAcquireTimeout(error))
      return new PgAcquireTimeoutError(this.name, this.options.connectionTimeoutMs, { cause });
    if (isPgPoolEnded(error)) return new PoolClosedError(this.name);
    return new PoolConnectError(this.name, pgConnectionErrorReason(error), { cause });
  }

  #countCheckoutFailure(error: unknown): void {
    // Every timed-out checkout counts, the app's own pool.connect() and pool.query() too.
    if (isPgAcquireTimeout(error)) return this.recorder.acquireTimedOut();
    if (isPgPoolEnded(error)) return;
    // Anything else pg-pool fails a checkout with is a new connection that could not be opened.
    const reason = pgConnectionErrorReason(error);
    this.recorder.connectionFailed(reason);
    if (this.listenerCount('connection:error') > 0) this.emit('connection:error', { pool: this.name, reason });
  }

  #watchPool(): void {
    const pool = this.#pool;
    const leakMs = this.options.leakDetectionThresholdMs;
    pool.on('connect', () => {
      this.recorder.connectionOpened();
      if (this.listenerCount('connect') > 0) this.emit('connect', { pool: this.name });
    });
    pool.on('acquire', (client) => {
      const checkout: Checkout = {
        acquiredAt: performance.now(),
        timer: undefined,
        stack: undefined,
        leaked: false,
        warmup: false,
      };
      if (leakMs > 0) {
        checkout.timer = setTimeout(() => this.#reportLeak(checkout), leakMs);
        checkout.timer.unref();
      }
      this.#held.set(client, checkout);
    });
    pool.on('release', (_error, client) => {
      // The app's own pool.connect() never takes its hand-over guard: it goes with the checkout, or one would pile
      // up on the client per checkout (pg-pool's suite stops on the MaxListenersExceededWarning).
      this.#takeEarlyError(client);
      const releaseLease = this.#leases.get(client);
      if (releaseLease) {
        this.#leases.delete(client);
        releaseLease();
      }
      const checkout = this.#held.get(client);
      if (!checkout) return; // checked out before poolscope was attached
      this.#held.delete(client);
      clearTimeout(checkout.timer);
      // pg-pool retires an expired idle client by checking it out and back itself: that is no use.
      if (checkout.warmup || (this.#pool as unknown as PgPoolInternals)._expired?.has(client)) return;
      const heldMs = performance.now() - checkout.acquiredAt;
      this.#usage.observe(heldMs / 1000);
      if (checkout.leaked) {
        this.#log(
          'info',
          { pool: this.name, heldMs: Math.round(heldMs) },
          `Previously reported leaked client of pool "${this.name}" was returned after ${Math.round(heldMs)} ms`,
        );
      }
    });
    pool.on('remove', () => {
      this.recorder.connectionClosed();
      if (this.listenerCount('disconnect') > 0) this.emit('disconnect', { pool: this.name });
      this.#scheduleRefill();
    });
    // An idle client's connection broke (server restart, pg_terminate_backend, network): pg has already
    // dropped it. Without a listener this 'error' would crash the process.
    pool.on('error', (error) => {
      this.#log(
        'warn',
        { pool: this.name, code: codeOf(error) },
        `Pool "${this.name}" lost an idle connection: ${this.#scrubText(messageOf(error))}`,
      );
    });
  }

  /** The app's own `pool.connect()` and `pool.query()` go through the same checkout, so they are measured too. */
  #patchPool(): void {
    const pool = this.#pool as unknown as {
      connect: (
        callback?: (
          error: Error | undefined,
          client: PoolClient | undefined,
          done: (release?: Error | boolean) => void,
        ) => void,
      ) => Promise<PoolClient> | undefined;
      query: (...args: unknown[]) => unknown;
    };
    const originalQuery = pool.query.bind(pool);
    pool.connect = (callback) => {
      if (typeof callback !== 'function') return this.#checkout(false, false);
      this.#checkoutThen(false, (error, client) =>
        callback(error && this.#scrub(error), client, client ? client.release : noop),
      );
      return undefined;
    };
    pool.query = (text: unknown, values?: unknown, callback?: unknown) => {
      if (typeof values === 'function') {
        callback = values;
        values = undefined;
      }
      const isText = typeof text === 'string';
      const isConfig =
        !isText && text !== null && typeof text === 'object' && typeof (text as { text?: unknown }).text === 'string';
      // Streams (pg-cursor, pg-query-stream) and misuse keep pg's own path.
      if ((!isText && !isConfig) || typeof (text as { submit?: unknown }).submit === 'function') {
        return originalQuery(text, values, callback);
      }
      const verb = sqlVerb(isText ? text : (text as QueryConfig).text);
      const result = this.#execute(
        this.recorder.operation(verb), // SQL verbs come from an allow-list: no cap needed
        (client) => queryOn(client, text as string | QueryConfig, values as unknown[] | undefined),
        false,
        true,
      );
      if (typeof callback !== 'function') return result;
      const cb = callback as QueryCallback;
      result.then(
        (rows) => process.nextTick(cb, undefined, rows),
        (error: Error) => process.nextTick(cb, error),
      );
      return undefined;
    };
  }

  #reportLeak(checkout: Checkout): void {
    if (checkout.warmup || checkout.leaked) return;
    checkout.leaked = true;
    this.#pgMetrics.leaks.labels(this.name).inc();
    const heldMs = Math.round(performance.now() - checkout.acquiredAt);
    const thresholdMs = this.options.leakDetectionThresholdMs;
    const formatted = checkout.stack === undefined ? undefined : formatStack(checkout.stack);
    const stack = formatted === undefined ? undefined : this.#scrubText(formatted);
    this.#log(
      'warn',
      { pool: this.name, heldMs, thresholdMs, stack },
      `Possible connection leak: a client of pool "${this.name}" has been held for ${heldMs} ms (leakDetectionThresholdMs=${thresholdMs}); it was acquired at the stack below`,
    );
    if (this.listenerCount('leak') > 0) this.emit('leak', { pool: this.name, heldMs, thresholdMs, stack });
  }

  #log(level: 'warn' | 'info', obj: Record<string, unknown>, msg: string): void {
    const logger = this.#settings.logger;
    try {
      if (level === 'warn') logger.warn(obj, this.#scrubText(msg));
      else logger.info?.(obj, this.#scrubText(msg));
    } catch {
      // A broken logger must not break the pool.
    }
  }

  #scrubText(text: string): string {
    let out = text;
    for (const secret of this.#settings.secrets) out = out.split(secret).join('***');
    return out;
  }

  /** pg never puts the password in its errors; a malformed URL could still put it in a host name. */
  #scrub<E>(error: E): E {
    if (this.#settings.secrets.length === 0 || !(error instanceof Error)) return error;
    const message = error.message;
    const scrubbed = this.#scrubText(message);
    if (scrubbed !== message) {
      error.message = scrubbed;
      if (error.stack) error.stack = this.#scrubText(error.stack);
    }
    return error;
  }
}

/**
 * Runs one statement with an explicit callback, as pg-pool's `query()` does: a `callback` in a query config is
 * then replaced (pg-pool's behaviour too) instead of making `client.query` return before the statement ends.
 */
function queryOn<R extends QueryResultRow = QueryResultRow>(
  client: PoolClient,
  text: string | QueryConfig,
  values: unknown[] | undefined,
): Promise<QueryResult<R>> {
  return new Promise((resolve, reject) => {
    const done = (error: Error | undefined, result: QueryResult<R>) => (error ? reject(error) : resolve(result));
    (client.query as unknown as (t: unknown, v: unknown, cb: typeof done) => void)(text, values, done);
  });
}

/** The share of `maxLifetimeMs` a connection's life may be cut by, at random (HikariCP: 2.5%). */
const LIFETIME_VARIANCE = 0.025;

/** Refills closer together than this mean connections are dying young: the next one waits, doubling up to the max. */
const REFILL_INTERVAL_MS = 1_000;

const REFILL_MAX_DELAY_MS = 30_000;

/** Longest part of a `close()` deadline spent cancelling running statements on the server. */
const CANCEL_BUDGET_MS = 1_000;

function messageOf(error: unknown): string {
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(error);
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
