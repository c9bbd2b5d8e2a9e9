import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Pool, PoolClient, PoolConfig, QueryConfig, QueryResult, QueryResultRow } from 'pg';
import type { Registry } from 'prom-client';
import { redactUrl } from '../config/redact.js';
import {
  PoolClosedError,
  PoolConfigError,
  PoolConnectError,
  PoolQueueFullError,
} from '../errors/index.js';
import { metricsFor, type LivePoolGauges, type PoolscopeMetrics } from '../metrics/families.js';
import { postgresMetricsFor, type PostgresMetrics } from '../metrics/postgres.js';
import { registry as defaultRegistry } from '../metrics/registry.js';
import type { PoolEventMap } from '../pool/events.js';
import { OperationNames } from '../pool/operations.js';
import { POOL_NAME_PATTERN } from '../pool/options.js';
import type { PoolStats } from '../pool/stats.js';
import { PoolRecorder, type LiveCounts, type OperationRecorder } from '../pool/recorder.js';
import {
  PgAcquireTimeoutError,
  isPgAcquireTimeout,
  isPgPoolEnded,
  pgConnectionErrorReason,
  pgFailureReason,
  sqlVerb,
} from './postgres-failure.js';

/** Where leak warnings and warm-up failures go: pino's `logger.warn(obj, msg)` fits, so does the default. */
export interface PgPoolLogger {
  warn(obj: Record<string, unknown>, msg: string): void;
  info?(obj: Record<string, unknown>, msg: string): void;
}

/** What `instrumentPgPool` takes: how to name and watch a `pg.Pool` the app already configured. */
export interface PgInstrumentOptions {
  /** Becomes the `pool` label and the default `application_name` (`poolscope:<name>`). Default `postgres`. */
  name?: string;
  /** prom-client registry to record into. Default: poolscope's own `registry`. */
  registry?: Registry;
  /**
   * A client held longer than this is reported once as a possible leak (warning with the stack that acquired
   * it, `poolscope_pool_leaks_total`). `0`, the default, turns detection off (HikariCP's default too).
   */
  leakDetectionThresholdMs?: number;
  /** Checkouts allowed to wait for a client; beyond it `PoolQueueFullError`. Default 1000, like every poolscope pool. */
  maxQueued?: number;
  /** `run()` operation names declared up front; they never fold into `other`. */
  operations?: readonly string[];
  /** Distinct undeclared `run()` names kept before the rest fold into `other`. Default 50. */
  maxOperations?: number;
  /** Finished queries kept for the stats snapshot's average and percentiles. Default 1000. */
  statsWindowSize?: number;
  /** Default: `console.warn`. */
  logger?: PgPoolLogger;
}

export interface PgPoolOptions extends PgInstrumentOptions {
  /** `postgres://user:password@host:5432/db?sslmode=require`. Never printed: stats and errors show `redactUrl(...)`. */
  connectionString?: string;
  /** Max clients (server connections). Default 10. */
  max?: number;
  /** Clients opened at start and kept open however idle. Default 0. */
  min?: number;
  /** How long a client above `min` may sit idle before it is closed; `0` keeps idle clients forever. Default 10000. */
  idleTimeoutMs?: number;
  /**
   * Longest wait for a client, in the pool's queue (then `PgAcquireTimeoutError`) or for a new connection to
   * open (then `PoolConnectError`, reason `timeout`). `0` waits forever. Default 5000.
   */
  connectionTimeoutMs?: number;
  /** Server-side `statement_timeout` of every connection; `0` (default) leaves the server's setting. */
  statementTimeoutMs?: number;
  /**
   * A connection is retired (once idle) after this long, each one up to 2.5% sooner so they do not all expire
   * together — HikariCP's `maxLifetime` and its variance. Keep it below any limit the network or database puts
   * on a connection's age. `0` keeps connections forever. Default 1800000 (30 min, HikariCP's default).
   */
  maxLifetimeMs?: number;
  /**
   * TCP keep-alive probes start after a connection has been quiet this long, so NATs and load balancers that
   * drop silent connections keep them, and a dead peer is noticed. `0` turns keep-alive off. Default 120000.
   */
  keepAliveIntervalMs?: number;
  /** Any other `pg.Pool` option (`ssl`, `host`, `user`, `password`...), passed through; the options above win. */
  pg?: PoolConfig;
}

/** The settings a `PgPool` runs with: never the connection string, only its redacted form. */
export interface ResolvedPgPoolOptions {
  name: string;
  /** The database the pool talks to, password replaced by `***`; undefined when pg reads it from `PG*` variables. */
  target: string | undefined;
  max: number;
  min: number;
  idleTimeoutMs: number;
  connectionTimeoutMs: number;
  statementTimeoutMs: number;
  maxLifetimeMs: number;
  keepAliveIntervalMs: number;
  leakDetectionThresholdMs: number;
  maxQueued: number;
}

export interface PgPoolEventMap extends PoolEventMap {
  /** A client has been held longer than `leakDetectionThresholdMs`; `stack` is where it was acquired. */
  leak: [event: { pool: string; heldMs: number; thresholdMs: number; stack: string | undefined }];
}

export const PG_POOL_DEFAULTS = {
  name: 'postgres',
  max: 10,
  min: 0,
  idleTimeoutMs: 10_000,
  connectionTimeoutMs: 5_000,
  statementTimeoutMs: 0,
  maxLifetimeMs: 1_800_000,
  keepAliveIntervalMs: 120_000,
  leakDetectionThresholdMs: 0,
  maxQueued: 1_000,
  maxOperations: 50,
  statsWindowSize: 1_000,
} as const;

interface Settings extends ResolvedPgPoolOptions {
  registry: Registry;
  logger: PgPoolLogger;
  operations: readonly string[];
  maxOperations: number;
  statsWindowSize: number;
  /** createPgPool's own pool: pre-warmed to `min` and refilled; an instrumented pool is the app's to manage. */
  owned: boolean;
  /** Strings scrubbed from anything we log or throw (the password, raw and URL-encoded). */
  secrets: readonly string[];
}

/** One checkout of a client, from pg's `acquire` event to its `release` event. */
interface Checkout {
  acquiredAt: number;
  timer: NodeJS.Timeout | undefined;
  /** Captured at checkout, formatted only if a leak is reported (V8 formats stacks lazily). */
  stack: StackHolder | undefined;
  leaked: boolean;
  warmup: boolean;
}

type HistogramChild = { observe(value: number): void };
type PgConnect = (callback: (error: Error | undefined, client: PoolClient | undefined) => void) => void;
type QueryCallback = (error: Error | undefined, result?: QueryResult) => void;


const instrumented = new WeakSet<Pool>();
const noop = () => undefined;

const defaultLogger: PgPoolLogger = {
  warn(obj, msg) {
    const { stack, ...rest } = obj;
    console.warn(`[poolscope] ${msg}`, rest, ...(typeof stack === 'string' ? [`\n${stack}`] : []));
  },
};

/**
 * A bounded, observable `pg.Pool`: checkouts timed and classified, clients held watched for leaks, queries
 * recorded by operation, and the live counts of pg itself (`totalCount`, `idleCount`, `waitingCount`) read
 * at scrape time into the same metric families as the HTTP pools. Made by `createPgPool` or `instrumentPgPool`.
 */
export class PgPool extends EventEmitter<PgPoolEventMap> implements LivePoolGauges {
  readonly name: string;
  readonly options: ResolvedPgPoolOptions;

  readonly #pool: Pool;
  /** pg-pool's own `connect`, callback form. */
  readonly #connect: PgConnect;
  readonly #settings: Settings;
  readonly #metrics: PoolscopeMetrics;
  readonly #pgMetrics: PostgresMetrics;
  readonly #operations: OperationNames;
  readonly #recorder: PoolRecorder;
  readonly #held = new Map<PoolClient, Checkout>();
  readonly #acquireWait: HistogramChild;
  readonly #usage: HistogramChild;
  #closing: Promise<void> | undefined;
  readonly #refill: { timer: NodeJS.Timeout | undefined; lastAt: number; delayMs: number } = {
    timer: undefined,
    lastAt: Number.NEGATIVE_INFINITY,
    delayMs: 0,
  };

  /** @internal Use `createPgPool()` or `instrumentPgPool()`. */
  constructor(pool: Pool, settings: Settings) {
    super();
    if (instrumented.has(pool)) throw new PoolConfigError('pool', 'is already instrumented by poolscope', settings.name);
    const { registry, logger, operations, maxOperations, statsWindowSize, owned, secrets, ...options } = settings;
    this.name = settings.name;
    this.options = options;
    this.#pool = pool;
    this.#settings = settings;
    this.#connect = pool.connect.bind(pool) as unknown as PgConnect;
    this.#operations = new OperationNames(operations, maxOperations);
    this.#metrics = metricsFor(registry);
    this.#metrics.register(this);
    instrumented.add(pool);
    this.#recorder = new PoolRecorder(this.name, this.#metrics, statsWindowSize, (operation, outcome, reason, status, durationMs) => {
      if (this.listenerCount('request:end') > 0) this.emit('request:end', { pool: this.name, operation, outcome, reason, status, durationMs });
    });
    this.#pgMetrics = postgresMetricsFor(registry);
    this.#acquireWait = this.#metrics.acquireWait.labels(this.name);
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
    const pool = this.#pool as unknown as { Client: new (...args: never[]) => ConnectingClient; options: { maxLifetimeSeconds?: number } };
    const Base = pool.Client;
    const recorder = this.#recorder;
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
          if (lifetimeMs > 0) pool.options.maxLifetimeSeconds = (lifetimeMs * (1 - Math.random() * LIFETIME_VARIANCE)) / 1000;
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
  query<R extends QueryResultRow = QueryResultRow>(text: string | QueryConfig, values?: unknown[]): Promise<QueryResult<R>> {
    const verb = sqlVerb(typeof text === 'string' ? text : text.text);
    return this.#execute(this.#recorderFor(verb), (client) => queryOn<R>(client, text, values), true, true);
  }

  /**
   * Checks out a client, runs `fn` with it as the named operation (the reference design's
   * `@monitor_query("list_uploads")`), and releases it whatever happens; a client whose `fn` threw is closed
   * rather than reused (as `pg.Pool#query` does), so a half-done transaction never returns to the pool.
   * Do not call `client.release()` inside `fn`. Names beyond `maxOperations` are recorded as `other`.
   */
  run<T>(operation: string, fn: (client: PoolClient) => Promise<T> | T): Promise<T> {
    return this.#execute(this.#recorderFor(this.#operations.labelFor(operation)), fn, true, false);
  }

  /** A plain snapshot, the same shape as the HTTP pools', computed from pg's live counts now. */
  stats(): PoolStats {
    return this.#recorder.snapshot(this.live());
  }

  /** Resets the snapshot's counters and window. Prometheus counters are never reset. */
  resetStats(): void {
    this.#recorder.reset();
  }

  /**
   * Live gauges from pg's own counts, read at scrape time. A client still opening its connection is
   * `connecting`, not active: it carries no work yet, and a database that never answers must not look busy.
   */
  live(): LiveCounts {
    const pool = this.#pool;
    let connecting = 0;
    for (const client of (pool as unknown as PgPoolInternals)._clients ?? []) if ((client as unknown as PgClientInternals)._connecting) connecting++;
    const active = Math.max(0, pool.totalCount - pool.idleCount - connecting);
    return {
      activeConnections: active,
      idleConnections: pool.idleCount,
      connectingConnections: connecting,
      poolSize: this.options.max,
      minConnections: this.options.min,
      activeRequests: active,
      pendingRequests: pool.waitingCount,
      maxConcurrent: this.options.max,
      maxQueued: this.options.maxQueued,
    };
  }

  /**
   * Stops taking work and ends the pg pool once every client is back. It returns by `deadlineMs` whatever state
   * the clients are in: near the deadline, statements still running on held clients are cancelled on the server
   * (PostgreSQL's cancel request), and every connection left — held, or still being opened to a database that
   * does not answer — is dropped. Instrumented pools are ended too: the pool is the app's, but so is the call.
   */
  close(deadlineMs = 10_000): Promise<void> {
    this.#closing ??= (async () => {
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
      this.#metrics.pools.delete(this);
    })();
    return this.#closing;
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
    for (const client of new Set([...held, ...(pool._clients ?? [])])) (client as unknown as PgClientInternals).connection?.stream?.destroy();
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** HikariCP's minimumIdle: replace a lost connection so `min` stay open (pg only stops reaping them). */
  #needsRefill(): boolean {
    const pool = this.#pool;
    // Waiters come first: pg-pool opens their connections itself, and those count towards `min` too.
    return this.#settings.owned && !this.#closing && !pool.ending && pool.totalCount < this.options.min && pool.waitingCount === 0;
  }

  /**
   * Refills towards `min`, at once after a quiet spell, but backing off (1 s, 2 s, 4 s... up to 30 s) while
   * connections die as fast as they are opened, so a database that drops every connection cannot make us spin.
   */
  #scheduleRefill(): void {
    if (this.#refill.timer || !this.#needsRefill()) return;
    const refill = this.#refill;
    const sinceLastMs = performance.now() - refill.lastAt;
    refill.delayMs = sinceLastMs < REFILL_INTERVAL_MS ? Math.min(REFILL_MAX_DELAY_MS, Math.max(REFILL_INTERVAL_MS, refill.delayMs * 2)) : 0;
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
        client.release();
        opened++;
      } else failure ??= attempt.reason;
    }
    if (failure !== undefined && !this.closed) {
      this.#log('warn', { pool: this.name, opened, wanted: count, reason: pgConnectionErrorReason(failure) }, `Pool "${this.name}" could not open ${count - opened} of ${count} connections to keep min=${this.options.min}`);
    }
    return opened;
  }

  /**
   * Checks a client out, runs `fn` on it, records the outcome and gives the client back (closed if it broke).
   * `failFast` (one-statement queries, as pg-pool's `query()`): an error the client emits meanwhile fails the
   * call at once and closes the client, instead of waiting for a statement that may never settle.
   */
  async #execute<T>(recorder: OperationRecorder, fn: (client: PoolClient) => Promise<T> | T, typed: boolean, failFast: boolean): Promise<T> {
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
    this.#recorder.requestStarted();
    if (this.listenerCount('request:start') > 0) this.emit('request:start', { pool: this.name, operation: recorder.name });
    // A checked-out client has no pool listener: without ours a connection lost between two statements of
    // `fn` would be an uncaught 'error' event.
    let lost: Error | undefined;
    let failNow: ((error: Error) => void) | undefined;
    const onError = (error: Error) => {
      lost ??= error;
      failNow?.(error);
    };
    client.on('error', onError);
    const startedAt = performance.now();
    let failed: unknown;
    try {
      let result: T;
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
   */
  #checkout(typed: boolean, warmup: boolean): Promise<PoolClient> {
    if (typed && (this.#closing || this.#pool.ending)) return Promise.reject(new PoolClosedError(this.name));
    return new Promise((resolve, reject) =>
      this.#checkoutThen(warmup, (error, client) => (error ? reject(typed ? this.#typed(error) : this.#scrub(error)) : resolve(client!))),
    );
  }

  /**
   * Checks a client out of pg-pool and calls back exactly when pg-pool does — synchronously on an ended pool,
   * inside `release()` for a waiter — so an app using callbacks sees pg-pool's timing; the wait is timed and a
   * failure counted on the way.
   */
  #checkoutThen(warmup: boolean, callback: (error: Error | undefined, client: PoolClient | undefined) => void): void {
    const pool = this.#pool;
    if (!this.#closing && !pool.ending && pool.totalCount >= this.options.max && pool.idleCount === 0 && pool.waitingCount >= this.options.maxQueued) {
      return callback(new PoolQueueFullError(this.name, this.options.maxQueued), undefined);
    }
    // The stack of whoever asked for the client: what a leak warning must show. Only paid for when detecting.
    const stack = this.options.leakDetectionThresholdMs > 0 && !warmup ? captureStack() : undefined;
    const waitStart = performance.now();
    this.#connect((error, client) => {
      if (!warmup) this.#acquireWait.observe((performance.now() - waitStart) / 1000);
      if (error) {
        this.#countCheckoutFailure(error);
        return callback(error, undefined);
      }
      const checkout = this.#held.get(client!);
      if (checkout) {
        checkout.stack = stack;
        checkout.warmup = warmup;
      }
      callback(undefined, client);
    });
  }

  /** The poolscope error for a failed checkout, pg's error kept as `cause` (scrubbed of any secret). */
  #typed(error: unknown): Error {
    if (error instanceof PoolQueueFullError || error instanceof PoolClosedError) return error;
    const cause = this.#scrub(error);
    if (isPgAcquireTimeout(error)) return new PgAcquireTimeoutError(this.name, this.options.connectionTimeoutMs, { cause });
    if (isPgPoolEnded(error)) return new PoolClosedError(this.name);
    return new PoolConnectError(this.name, pgConnectionErrorReason(error), { cause });
  }

  #countCheckoutFailure(error: unknown): void {
    // Every timed-out checkout counts, the app's own pool.connect() and pool.query() too.
    if (isPgAcquireTimeout(error)) return this.#recorder.acquireTimedOut();
    if (isPgPoolEnded(error)) return;
    // Anything else pg-pool fails a checkout with is a new connection that could not be opened.
    const reason = pgConnectionErrorReason(error);
    this.#recorder.connectionFailed(reason);
    if (this.listenerCount('connection:error') > 0) this.emit('connection:error', { pool: this.name, reason });
  }

  #watchPool(): void {
    const pool = this.#pool;
    const leakMs = this.options.leakDetectionThresholdMs;
    pool.on('connect', () => {
      this.#recorder.connectionOpened();
      if (this.listenerCount('connect') > 0) this.emit('connect', { pool: this.name });
    });
    pool.on('acquire', (client) => {
      const checkout: Checkout = { acquiredAt: performance.now(), timer: undefined, stack: undefined, leaked: false, warmup: false };
      if (leakMs > 0) {
        checkout.timer = setTimeout(() => this.#reportLeak(checkout), leakMs);
        checkout.timer.unref();
      }
      this.#held.set(client, checkout);
    });
    pool.on('release', (_error, client) => {
      const checkout = this.#held.get(client);
      if (!checkout) return; // checked out before poolscope was attached
      this.#held.delete(client);
      clearTimeout(checkout.timer);
      // pg-pool retires an expired idle client by checking it out and back itself: that is no use.
      if (checkout.warmup || (this.#pool as unknown as PgPoolInternals)._expired?.has(client)) return;
      const heldMs = performance.now() - checkout.acquiredAt;
      this.#usage.observe(heldMs / 1000);
      if (checkout.leaked) {
        this.#log('info', { pool: this.name, heldMs: Math.round(heldMs) }, `Previously reported leaked client of pool "${this.name}" was returned after ${Math.round(heldMs)} ms`);
      }
    });
    pool.on('remove', () => {
      this.#recorder.connectionClosed();
      if (this.listenerCount('disconnect') > 0) this.emit('disconnect', { pool: this.name });
      this.#scheduleRefill();
    });
    // An idle client's connection broke (server restart, pg_terminate_backend, network): pg has already
    // dropped it. Without a listener this 'error' would crash the process.
    pool.on('error', (error) => {
      this.#log('warn', { pool: this.name, code: codeOf(error) }, `Pool "${this.name}" lost an idle connection: ${this.#scrubText(messageOf(error))}`);
    });
  }

  /** The app's own `pool.connect()` and `pool.query()` go through the same checkout, so they are measured too. */
  #patchPool(): void {
    const pool = this.#pool as unknown as {
      connect: (callback?: (error: Error | undefined, client: PoolClient | undefined, done: (release?: Error | boolean) => void) => void) => Promise<PoolClient> | undefined;
      query: (...args: unknown[]) => unknown;
    };
    const originalQuery = pool.query.bind(pool);
    pool.connect = (callback) => {
      if (typeof callback !== 'function') return this.#checkout(false, false);
      this.#checkoutThen(false, (error, client) => callback(error && this.#scrub(error), client, client ? client.release : noop));
      return undefined;
    };
    pool.query = (text: unknown, values?: unknown, callback?: unknown) => {
      if (typeof values === 'function') {
        callback = values;
        values = undefined;
      }
      const isText = typeof text === 'string';
      const isConfig = !isText && text !== null && typeof text === 'object' && typeof (text as { text?: unknown }).text === 'string';
      // Streams (pg-cursor, pg-query-stream) and misuse keep pg's own path.
      if ((!isText && !isConfig) || typeof (text as { submit?: unknown }).submit === 'function') {
        return originalQuery(text, values, callback);
      }
      const verb = sqlVerb(isText ? text : (text as QueryConfig).text);
      const result = this.#execute(
        this.#recorderFor(verb),
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

  #recorderFor(operation: string): OperationRecorder {
    return this.#recorder.operation(operation);
  }
}

/**
 * Creates a `pg.Pool` with poolscope's bounds and metrics. `pg` is an optional peer dependency, loaded
 * here on first use. Opens `min` connections before resolving (failures are logged, never thrown: the
 * pool works once the database answers). Throws `PoolConfigError` naming the first bad option.
 */
export async function createPgPool(options: PgPoolOptions = {}): Promise<PgPool> {
  const settings = resolvePgPoolOptions(options);
  const pgPool = newPgPool(await loadPg(settings.name), options, settings);
  if (settings.min > 0) await pgPool.warm(settings.min);
  return pgPool;
}

/**
 * `createPgPool` for synchronous setup code that has `pg` at hand (`import pg from 'pg'`): the same pool,
 * returned at once, its `min` connections opening in the background.
 */
export function createPgPoolSync(pg: { Pool: typeof Pool }, options: PgPoolOptions = {}): PgPool {
  const settings = resolvePgPoolOptions(options);
  const pgPool = newPgPool(pg, options, settings);
  if (settings.min > 0) void pgPool.warm(settings.min);
  return pgPool;
}

function newPgPool(pg: { Pool: typeof Pool }, options: PgPoolOptions, settings: Settings): PgPool {
  const config: PoolConfig = {
    ...options.pg,
    max: settings.max,
    min: settings.min,
    idleTimeoutMillis: settings.idleTimeoutMs,
    connectionTimeoutMillis: settings.connectionTimeoutMs,
    maxLifetimeSeconds: settings.maxLifetimeMs / 1000,
    keepAlive: settings.keepAliveIntervalMs > 0,
    keepAliveInitialDelayMillis: settings.keepAliveIntervalMs,
  };
  if (options.connectionString !== undefined) config.connectionString = options.connectionString;
  if (settings.statementTimeoutMs > 0) config.statement_timeout = settings.statementTimeoutMs;
  // So DBAs see whose connections these are in pg_stat_activity; a name in the URL or PGAPPNAME still wins.
  if (config.application_name === undefined && process.env.PGAPPNAME === undefined) {
    config.application_name = `poolscope:${settings.name}`;
  }
  return new PgPool(new pg.Pool(config), settings);
}

/**
 * Instruments a `pg.Pool` the app already has: its `connect()` and `query()` are measured in place (errors
 * unchanged), its live counts become poolscope's gauges, and it gains `run()`, `stats()`, leak detection.
 * New connections get `application_name` `poolscope:<name>` unless one is set. Returns the `PgPool`.
 */
export function instrumentPgPool(pool: Pool, options: PgInstrumentOptions = {}): PgPool {
  const config = pool.options;
  const connectionString = typeof config.connectionString === 'string' ? config.connectionString : undefined;
  const common = resolveCommon(options);
  const statementTimeout = config.statement_timeout;
  const settings: Settings = {
    ...common,
    target: describeTarget(connectionString, config),
    max: config.max,
    min: config.min ?? 0,
    idleTimeoutMs: config.idleTimeoutMillis ?? 0,
    connectionTimeoutMs: config.connectionTimeoutMillis ?? 0,
    statementTimeoutMs: typeof statementTimeout === 'number' ? statementTimeout : 0,
    maxLifetimeMs: (config.maxLifetimeSeconds ?? 0) * 1000,
    keepAliveIntervalMs: config.keepAlive ? (config.keepAliveInitialDelayMillis ?? 0) : 0,
    owned: false,
    secrets: secretsOf(connectionString, config.password),
  };
  const pgPool = new PgPool(pool, settings);
  if (config.application_name === undefined && process.env.PGAPPNAME === undefined) {
    config.application_name = `poolscope:${settings.name}`;
  }
  return pgPool;
}

async function loadPg(pool: string): Promise<{ Pool: typeof Pool }> {
  try {
    return await import('pg');
  } catch {
    throw new PoolConfigError('pg', 'the optional peer dependency "pg" is not installed (npm install pg)', pool);
  }
}

function resolveCommon(options: PgInstrumentOptions) {
  if (options === null || typeof options !== 'object') throw new PoolConfigError('options', 'must be an object');
  const name = options.name ?? PG_POOL_DEFAULTS.name;
  if (typeof name !== 'string' || !POOL_NAME_PATTERN.test(name)) {
    throw new PoolConfigError('name', 'must match [a-z][a-z0-9_]* (it becomes the "pool" label)');
  }
  const operations = options.operations ?? [];
  if (!Array.isArray(operations) || !operations.every((o) => typeof o === 'string' && o.length > 0 && o.length <= 64)) {
    throw new PoolConfigError('operations', 'must be an array of non-empty names of at most 64 characters', name);
  }
  const logger = options.logger ?? defaultLogger;
  if (typeof logger?.warn !== 'function') throw new PoolConfigError('logger', 'must have a warn(obj, msg) method', name);
  return {
    name,
    registry: options.registry ?? defaultRegistry,
    logger,
    operations,
    leakDetectionThresholdMs: integer(options.leakDetectionThresholdMs, PG_POOL_DEFAULTS.leakDetectionThresholdMs, 'leakDetectionThresholdMs', name, 0),
    maxQueued: integer(options.maxQueued, PG_POOL_DEFAULTS.maxQueued, 'maxQueued', name, 0),
    maxOperations: integer(options.maxOperations, PG_POOL_DEFAULTS.maxOperations, 'maxOperations', name, 1),
    statsWindowSize: integer(options.statsWindowSize, PG_POOL_DEFAULTS.statsWindowSize, 'statsWindowSize', name, 1),
  };
}

function resolvePgPoolOptions(options: PgPoolOptions): Settings {
  const common = resolveCommon(options);
  const { name } = common;
  const { connectionString } = options;
  if (connectionString !== undefined) {
    if (typeof connectionString !== 'string' || connectionString.length === 0) {
      throw new PoolConfigError('connectionString', 'must be a non-empty string', name);
    }
    // Fail here, value unsaid: URL parse errors carry the whole input (password included) in `input`.
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(connectionString) && !URL.canParse(connectionString)) {
      throw new PoolConfigError('connectionString', 'is not a valid postgres:// URL', name);
    }
  }
  if (options.pg !== undefined && (options.pg === null || typeof options.pg !== 'object')) {
    throw new PoolConfigError('pg', 'must be an object of pg.Pool options', name);
  }
  // pg options poolscope sets from its own: one given under `pg` would be silently overridden, so it is refused.
  const overridden: Record<string, keyof PgPoolOptions | undefined> = {
    ...OWNED_PG_OPTIONS,
    connectionString: connectionString === undefined ? undefined : 'connectionString',
    statement_timeout: options.statementTimeoutMs ? 'statementTimeoutMs' : undefined,
  };
  for (const [pgOption, ours] of Object.entries(overridden)) {
    if (ours !== undefined && options.pg !== undefined && pgOption in options.pg) {
      throw new PoolConfigError(`pg.${pgOption}`, `would be overridden by poolscope's "${ours}" option: set that instead`, name);
    }
  }
  const max = integer(options.max, PG_POOL_DEFAULTS.max, 'max', name, 1);
  const min = integer(options.min, PG_POOL_DEFAULTS.min, 'min', name, 0);
  if (min > max) throw new PoolConfigError('min', 'must not be greater than max', name);
  return {
    ...common,
    target: describeTarget(connectionString, options.pg ?? {}),
    max,
    min,
    idleTimeoutMs: integer(options.idleTimeoutMs, PG_POOL_DEFAULTS.idleTimeoutMs, 'idleTimeoutMs', name, 0),
    connectionTimeoutMs: integer(options.connectionTimeoutMs, PG_POOL_DEFAULTS.connectionTimeoutMs, 'connectionTimeoutMs', name, 0),
    statementTimeoutMs: integer(options.statementTimeoutMs, PG_POOL_DEFAULTS.statementTimeoutMs, 'statementTimeoutMs', name, 0),
    maxLifetimeMs: integer(options.maxLifetimeMs, PG_POOL_DEFAULTS.maxLifetimeMs, 'maxLifetimeMs', name, 0),
    keepAliveIntervalMs: integer(options.keepAliveIntervalMs, PG_POOL_DEFAULTS.keepAliveIntervalMs, 'keepAliveIntervalMs', name, 0),
    owned: true,
    secrets: secretsOf(connectionString, options.pg?.password),
  };
}

/** pg.Pool options that `createPgPool` always sets itself, and the option of ours that sets each. */
const OWNED_PG_OPTIONS: Record<string, keyof PgPoolOptions> = {
  max: 'max',
  poolSize: 'max', // pg-pool's legacy name for max
  min: 'min',
  idleTimeoutMillis: 'idleTimeoutMs',
  connectionTimeoutMillis: 'connectionTimeoutMs',
  maxLifetimeSeconds: 'maxLifetimeMs',
  keepAlive: 'keepAliveIntervalMs',
  keepAliveInitialDelayMillis: 'keepAliveIntervalMs',
};

function describeTarget(connectionString: string | undefined, config: PoolConfig): string | undefined {
  if (connectionString !== undefined) return redactUrl(connectionString);
  if (config.host === undefined && config.database === undefined) return undefined;
  return `postgres://${config.host ?? 'localhost'}${config.port ? `:${config.port}` : ''}/${config.database ?? ''}`;
}

function secretsOf(connectionString: string | undefined, password: PoolConfig['password']): string[] {
  const secrets = new Set<string>();
  if (typeof password === 'string' && password.length > 0) secrets.add(password);
  if (connectionString !== undefined) {
    const redacted = redactUrl(connectionString);
    try {
      const raw = new URL(connectionString).password;
      if (raw) {
        secrets.add(raw);
        secrets.add(decodeURIComponent(raw));
      }
    } catch {
      // Not a URL: redactUrl's cut below still finds it.
    }
    // Whatever redactUrl hides (userinfo password, ?password=): the text between the shared prefix and suffix.
    if (redacted !== connectionString) {
      let start = 0;
      while (start < redacted.length && redacted[start] === connectionString[start]) start++;
      let end = 0;
      while (end < redacted.length - start && redacted[redacted.length - 1 - end] === connectionString[connectionString.length - 1 - end]) end++;
      const hidden = connectionString.slice(start, connectionString.length - end);
      if (hidden.length > 0) secrets.add(hidden);
    }
  }
  return [...secrets].filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
}

function integer(value: unknown, fallback: number, option: string, pool: string, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new PoolConfigError(option, 'must be an integer', pool);
  if (value < min) throw new PoolConfigError(option, `must be >= ${min}`, pool);
  return value;
}

/**
 * Runs one statement with an explicit callback, as pg-pool's `query()` does: a `callback` in a query config is
 * then replaced (pg-pool's behaviour too) instead of making `client.query` return before the statement ends.
 */
function queryOn<R extends QueryResultRow = QueryResultRow>(client: PoolClient, text: string | QueryConfig, values: unknown[] | undefined): Promise<QueryResult<R>> {
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

interface ConnectingClient {
  connect(callback?: (error: Error | null | undefined) => void): Promise<void> | undefined;
}

/** What `close()` needs of pg-pool and pg that their types do not declare (stable across pg 8). */
interface PgPoolInternals {
  _clients?: PoolClient[];
  /** Clients past `maxLifetimeSeconds`, retired at their next release. */
  _expired?: WeakSet<PoolClient>;
  Client: new (config: unknown) => { connection: PgConnectionInternals; cancel(client: PoolClient, query: unknown): void };
  options: unknown;
}
interface PgConnectionInternals {
  stream?: { destroy(): void };
  on(event: 'error' | 'end', listener: () => void): void;
}
interface PgClientInternals {
  /** True from `connect()` until the server is ready for queries. */
  _connecting?: boolean;
  activeQuery?: unknown;
  processID?: number | null;
  connection?: PgConnectionInternals;
}

/**
 * Asks the server to cancel what `client` is running: PostgreSQL's cancel request, sent on a connection of its
 * own with the client's backend key — no login, so it works even when the server is at `max_connections`.
 * Resolves once the server has taken it (it closes that connection) or after `timeoutMs`, whichever is first.
 */
function cancelRunning(pool: PgPoolInternals, client: PoolClient, timeoutMs: number): Promise<void> {
  const { activeQuery, processID } = client as unknown as PgClientInternals;
  if (!activeQuery || !processID) return Promise.resolve();
  const canceller = new pool.Client(pool.options);
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      canceller.connection.stream?.destroy();
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    canceller.connection.on('error', done);
    canceller.connection.on('end', done);
    try {
      canceller.cancel(client, activeQuery);
    } catch {
      done();
    }
  });
}

const OWN_FILE = fileURLToPath(import.meta.url);

interface StackHolder {
  stack?: string;
}

function captureStack(): StackHolder {
  const holder: StackHolder = {};
  Error.captureStackTrace(holder, captureStack);
  return holder;
}

/** Where the app asked for the client, without poolscope's own frames on top. */
function formatStack(holder: StackHolder): string | undefined {
  return holder.stack
    ?.split('\n')
    .slice(1)
    .filter((frame) => !frame.includes(OWN_FILE) && !frame.includes(import.meta.url) && !frame.includes('new Promise (<anonymous>)'))
    .join('\n');
}

function messageOf(error: unknown): string {
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(error);
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

