import PQueue from 'p-queue';
import { PoolAcquireTimeoutError } from '../errors/pool-acquire-timeout-error.js';
import { PoolClosedError } from '../errors/pool-closed-error.js';
import { PoolFleetUnavailableError } from '../errors/pool-fleet-unavailable-error.js';
import type { ResolvedFleetOptions } from './options.js';
import { exhaustedTokensResetMs, TokenWindow } from './token-window.js';
import { untilStopped } from './until-stopped.js';
import {
  announceRelease,
  connectRedis,
  leaseFactory,
  renewLease,
  subscriberOf,
  type FleetRedisClient,
  type FleetSubscriber,
  type Lease,
  type LeaseFactory,
  type OwnedRedisClient,
} from './redis.js';

/** Every value of `poolscope_fleet_errors_total{reason}`: each fleet pool exports all of them from 0. */
export const FLEET_ERROR_REASONS = ['unavailable', 'renewal_failed', 'lease_lost', 'release_failed'] as const;
export type FleetErrorReason = (typeof FLEET_ERROR_REASONS)[number];

/** Where a budget reports what it does: the pool's metrics. */
export interface FleetRecorder {
  leaseWaited(seconds: number): void;
  failed(reason: FleetErrorReason): void;
}

/** What the fleet gauges read at scrape time. */
export interface FleetLive {
  /** Leases this process holds. */
  leases: number;
  /** Requests of this process waiting for the fleet (they hold their local slot meanwhile). */
  waiting: number;
  /** The fleet-wide cap; absent for a tokens-only budget. */
  maxConcurrent?: number;
  /** The fleet's tokens per minute; absent without a token budget. */
  tokensPerMinute?: number;
  /** Tokens left in the fleet's current minute, as Redis last said. */
  tokensRemaining?: number;
}

export type FleetRelease = () => void;

/** How often a waiting request asks Redis again for a lease: redis-semaphore polls, it has no wake-up. */
const POLL_INTERVAL_MS = 5;
/**
 * The same once this process listens for releases (Redis pub/sub): a lease released anywhere in the fleet wakes
 * the waiter at once, and polling is left to catch leases that expired (a dead process) and a message lost to a
 * reconnect.
 */
const LISTENING_POLL_INTERVAL_MS = 50;
/** Longest a command to Redis may take before Redis counts as unreachable (clients poolscope opens). */
const COMMAND_TIMEOUT_MS = 1_000;
/** Longest `close()` waits for releases and token counts still on their way to Redis. */
const CLOSE_RELEASES_MS = 1_000;

const noRelease: FleetRelease = () => undefined;
/** The reason a waiter's poll is cut short by a local release: it asks again, it does not fail. */
const WAKE = Symbol('wake');

/** ioredis states of a client on its way to its first connection (`wait`: lazyConnect, not yet asked to connect). */
const INITIAL_CONNECT_STATES = new Set(['connecting', 'connect']);

/**
 * A fleet-wide budget in Redis: a concurrency cap (redis-semaphore's `Semaphore`: a sorted set of leases, taken and
 * expired atomically in Lua), a tokens-per-minute window (`TokenWindow`), or both. A request's lease is renewed
 * every `leaseMs / 3` while held and released with it; a lease whose process died expires after at most `leaseMs`.
 * While Redis cannot be reached, requests run under the local bound (`onUnavailable: 'local'`) or are refused
 * (`'reject'`), counted, and the transition logged once.
 */
export class FleetBudget {
  readonly key: string;
  readonly maxConcurrent: number | undefined;
  readonly #pool: string;
  readonly #options: ResolvedFleetOptions;
  readonly #recorder: FleetRecorder;
  readonly #client: FleetRedisClient;
  readonly #owned: OwnedRedisClient | undefined;
  readonly #newLease: LeaseFactory;
  readonly #redisKey: string;
  /** Where every process sharing the key announces a released lease. */
  readonly #releases: string;
  /** Opened the first time a request of this process has to wait for a lease. */
  #subscriber: FleetSubscriber | undefined;
  #listening = false;
  readonly #tokens: TokenWindow | undefined;
  readonly #held = new Set<Lease>();
  /** Releases and token counts on their way to Redis: `close()` lets them arrive. */
  readonly #writes = new Set<Promise<void>>();
  #waiting = 0;
  #closed = false;
  /** Ends each wait in progress: a set, not listeners on one signal, so a thousand waiters raise no warning. */
  readonly #onClose = new Set<() => void>();
  /** Cuts short the poll interval of the waiter asking Redis now, if any. */
  #wakeHead: (() => void) | undefined;
  readonly #turns = new PQueue({ concurrency: 1 });
  #everReady = false;
  #firstConnect: Promise<void> | undefined;
  #renewTimer: NodeJS.Timeout | undefined;
  /** Whether Redis answered the last command; `undefined` before the first. Transitions are logged. */
  #reachable: boolean | undefined;

  constructor(pool: string, options: ResolvedFleetOptions, recorder: FleetRecorder) {
    this.#pool = pool;
    this.#options = options;
    this.#recorder = recorder;
    this.key = options.key;
    this.maxConcurrent = options.maxConcurrent;
    this.#redisKey = `poolscope:fleet:${options.key}`;
    this.#releases = `${this.#redisKey}:released`;
    this.#newLease = leaseFactory();
    if (typeof options.redis === 'string') {
      this.#owned = connectRedis(options.redis, pool, COMMAND_TIMEOUT_MS);
      // Connection errors are reported through the requests they fail; without a listener ioredis prints each one.
      this.#owned.on('error', () => undefined);
      this.#client = this.#owned;
    } else {
      this.#client = options.redis;
    }
    // A reconnect is news worth logging before the next request proves it; an app's own client gets this listener only.
    (this.#client as Partial<OwnedRedisClient>).on?.('ready', this.#onReady);
    if (this.#client.status === 'ready') this.#everReady = true;
    this.#tokens =
      options.tokensPerMinute === undefined
        ? undefined
        : new TokenWindow(this.#client, options.key, options.tokensPerMinute);
  }

  live(): FleetLive {
    const live: FleetLive = { leases: this.#held.size, waiting: this.#waiting };
    if (this.maxConcurrent !== undefined) live.maxConcurrent = this.maxConcurrent;
    if (this.#tokens) {
      live.tokensPerMinute = this.#tokens.tokensPerMinute;
      live.tokensRemaining = this.#tokens.remaining;
    }
    return live;
  }

  /**
   * Counts tokens a response reported as used against `tokensPerMinute` (nothing without a token budget). Not
   * awaited by the request: a Redis that cannot be told is counted as `unavailable`, and those tokens go uncounted.
   */
  spendTokens(tokens: number): void {
    const window = this.#tokens;
    if (!window || this.#closed || !Number.isInteger(tokens) || tokens <= 0) return;
    // Tokens reported while the first connection is being made count once it is up, like requests wait for it.
    const connected = this.#connectingFirstTime() ? this.#firstConnection() : Promise.resolve();
    this.#write(
      connected.then(() => window.spend(tokens)),
      'unavailable',
    );
  }

  /**
   * Reads a response's rate-limit headers: when the upstream says its own token limit has run out, the whole
   * fleet pauses until it resets, so replicas stop together instead of each earning its own 429s.
   */
  observeRateLimit(headers: { get(name: string): string | null }): void {
    if (!this.#tokens || this.#closed) return;
    const resetMs = exhaustedTokensResetMs(headers);
    if (resetMs !== undefined) this.#write(this.#tokens.pause(resetMs), 'unavailable');
  }

  /**
   * A lease, for a request that already holds its local slot. Waits up to `timeoutMs` (0: no limit), then rejects
   * with `timedOut()` (by default `PoolAcquireTimeoutError` for `limitMs`); rejects with the signal's reason if it
   * aborts first, and with `PoolFleetUnavailableError` when Redis cannot be reached under `onUnavailable: 'reject'`.
   */
  async acquire(
    signal: AbortSignal | undefined,
    timeoutMs: number,
    limitMs: number,
    timedOut: () => Error = () => new PoolAcquireTimeoutError(this.#pool, limitMs),
  ): Promise<FleetRelease> {
    if (signal?.aborted) throw signal.reason;
    if (this.#closed) throw new PoolClosedError(this.#pool);
    const stop = new AbortController();
    const timer = timeoutMs > 0 ? setTimeout(() => stop.abort(timedOut()), timeoutMs) : undefined;
    const onCallerAbort = () => stop.abort(signal?.reason);
    signal?.addEventListener('abort', onCallerAbort, { once: true });
    const onClose = () => stop.abort(new PoolClosedError(this.#pool));
    this.#onClose.add(onClose);
    this.#waiting++;
    const startedAt = performance.now();
    try {
      return await this.#admit(stop.signal);
    } finally {
      this.#waiting--;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onCallerAbort);
      this.#onClose.delete(onClose);
      this.#recorder.leaseWaited((performance.now() - startedAt) / 1000);
    }
  }

  /** The token window's go-ahead, then a lease: tokens first, so no lease is held while the minute runs out. */
  async #admit(stop: AbortSignal): Promise<FleetRelease> {
    // Until the first connection is up, requests wait for it: a process starting under load must not run its
    // first burst outside the cap. Once it has been up, a connection that is not is Redis being unreachable.
    if (this.#connectingFirstTime()) await untilStopped(this.#firstConnection(), stop);
    if (this.#client.status !== 'ready')
      return this.#unavailable(new Error(`Redis connection is ${this.#client.status}`));
    if (this.#tokens) {
      try {
        await this.#tokens.admit(stop);
      } catch (error) {
        if (stop.aborted) throw stop.reason;
        return this.#unavailable(error);
      }
      this.#markReachable();
    }
    const maxConcurrent = this.maxConcurrent;
    if (maxConcurrent === undefined) return noRelease;
    // One waiter per process asks Redis at a time, in arrival order; the others wait their turn here, where an
    // abort or a timeout takes them out of the line at once.
    return this.#turns.add(() => this.#lease(stop, maxConcurrent), { signal: stop });
  }

  async #lease(stop: AbortSignal, maxConcurrent: number): Promise<FleetRelease> {
    if (this.#client.status !== 'ready')
      return this.#unavailable(new Error(`Redis connection is ${this.#client.status}`));
    let lease!: Lease;
    let acquired = false;
    for (let woken = true; woken;) {
      // A lease given back here or announced by another process wakes the waiter from its poll interval: it asks
      // Redis again at once. An abort that came while nothing listened (between the first connection and here)
      // ends the wait now.
      stop.throwIfAborted();
      // A new one each time round: it polls at the interval of the moment, and only the one acquired is held.
      lease = this.#newLease(this.#client, this.#redisKey, maxConcurrent, {
        lockTimeout: this.#options.leaseMs,
        acquireTimeout: Number.POSITIVE_INFINITY, // bounded below, by `timeoutMs` and the caller's signal
        retryInterval: this.#listening ? LISTENING_POLL_INTERVAL_MS : POLL_INTERVAL_MS,
        refreshInterval: 0, // renewed by #renewAll, which catches Redis errors
        onLockLost: () => undefined,
      });
      const attempt = new AbortController();
      const onStop = () => attempt.abort(stop.reason);
      stop.addEventListener('abort', onStop, { once: true });
      this.#wakeHead = () => attempt.abort(WAKE);
      // Not granted at the first ask: the fleet is at its cap, and this process starts listening for releases.
      const contended = setTimeout(this.#listen, POLL_INTERVAL_MS);
      try {
        acquired = await lease.tryAcquire(attempt.signal);
        woken = false;
      } catch (error) {
        if (stop.aborted) throw stop.reason;
        if (error !== WAKE) return this.#unavailable(error);
      } finally {
        clearTimeout(contended);
        this.#wakeHead = undefined;
        stop.removeEventListener('abort', onStop);
      }
    }
    this.#markReachable();
    // Redis granted the lease as the caller gave up: it goes straight back.
    if (stop.aborted || !acquired) {
      if (acquired) this.#release(lease);
      throw stop.reason;
    }
    this.#hold(lease);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#release(lease);
    };
  }

  /** Opens the subscriber, once: every release the fleet announces then wakes this process's waiter. */
  readonly #listen = (): void => {
    if (this.#subscriber || this.#closed) return;
    const subscriber = subscriberOf(this.#client);
    if (!subscriber) return; // a client that cannot duplicate itself: polling alone
    this.#subscriber = subscriber;
    subscriber.on('error', () => undefined);
    subscriber.on('message', (channel) => {
      if (channel === this.#releases) this.#wakeHead?.();
    });
    // Subscribed again on every (re)connection; polling stays fast while the subscription is down.
    const subscribe = () =>
      void subscriber.subscribe(this.#releases).then(
        () => (this.#listening = true),
        () => undefined,
      );
    subscriber.on('ready', subscribe);
    subscriber.on('close', () => (this.#listening = false));
    if (subscriber.status === 'ready') subscribe();
    else if (subscriber.status === 'wait') subscriber.connect().catch(() => undefined);
  };

  readonly #onReady = (): void => {
    this.#everReady = true;
    this.#markReachable();
  };

  /** Whether the client is still making its first connection (an app's own client may be `ready` already). */
  #connectingFirstTime(): boolean {
    return this.#client.status !== 'ready' && !this.#everReady && INITIAL_CONNECT_STATES.has(this.#client.status);
  }

  /** Resolves when the client is first ready or its first attempt fails: one listener set, however many wait. */
  #firstConnection(): Promise<void> {
    return (this.#firstConnect ??= new Promise<void>((resolve) => {
      const client = this.#client as {
        once?: (event: string, listener: () => void) => unknown;
        off?: (event: string, listener: () => void) => unknown;
      };
      if (typeof client.once !== 'function') return resolve();
      const done = () => {
        for (const event of ['ready', 'error', 'close']) client.off?.(event, done);
        resolve();
      };
      for (const event of ['ready', 'error', 'close']) client.once!(event, done);
    }));
  }

  /** Stops renewing, lets releases on their way reach Redis, and closes the client if poolscope opened it. */
  async close(): Promise<void> {
    // Requests still waiting for a lease when the pool's drain deadline has passed: they will not get one.
    this.#closed = true;
    for (const onClose of [...this.#onClose]) onClose();
    (this.#client as { off?: (event: string, listener: () => void) => unknown }).off?.('ready', this.#onReady);
    clearInterval(this.#renewTimer);
    this.#renewTimer = undefined;
    this.#subscriber?.disconnect();
    this.#listening = false;
    for (const lease of [...this.#held]) this.#release(lease);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(this.#writes),
      new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_RELEASES_MS))),
    ]);
    clearTimeout(timer);
    if (this.#owned) await this.#owned.quit().catch(() => this.#owned?.disconnect());
  }

  #unavailable(error: unknown): FleetRelease {
    this.#recorder.failed('unavailable');
    this.#markUnreachable(error);
    if (this.#options.onUnavailable === 'reject')
      throw new PoolFleetUnavailableError(this.#pool, this.key, { cause: error });
    return noRelease;
  }

  #hold(lease: Lease): void {
    this.#held.add(lease);
    if (this.#renewTimer === undefined) {
      this.#renewTimer = setInterval(this.#renewAll, Math.floor(this.#options.leaseMs / 3));
      this.#renewTimer.unref();
    }
  }

  #release(lease: Lease): void {
    this.#held.delete(lease);
    this.#wakeHead?.();
    if (this.#held.size === 0 && this.#renewTimer !== undefined) {
      clearInterval(this.#renewTimer);
      this.#renewTimer = undefined;
    }
    // A release that fails expires by itself within leaseMs: capacity is lost to the fleet until then, not for good.
    // One that reaches Redis is announced, for the processes waiting for a lease.
    this.#write(
      lease.release().then(() => announceRelease(this.#client, this.#releases)),
      'release_failed',
    );
  }

  /** A write to Redis no request waits for: counted and logged when it fails, awaited by `close()`. */
  #write(write: Promise<void>, failure: FleetErrorReason): void {
    const done: Promise<void> = write.then(
      () => this.#markReachable(),
      (error: unknown) => {
        this.#recorder.failed(failure);
        this.#markUnreachable(error);
      },
    );
    this.#writes.add(done);
    void done.finally(() => this.#writes.delete(done));
  }

  readonly #renewAll = (): void => {
    let lost = 0;
    const renewals = [...this.#held].map(async (lease) => {
      if (this.#client.status !== 'ready') {
        this.#recorder.failed('renewal_failed');
        return this.#markUnreachable(new Error(`Redis connection is ${this.#client.status}`));
      }
      try {
        const renewed = await renewLease(lease);
        this.#markReachable();
        if (renewed || !this.#held.has(lease)) return;
        // Redis no longer has it (restarted, flushed, or renewals came too late): the request runs on without one.
        this.#held.delete(lease);
        this.#recorder.failed('lease_lost');
        lost++;
      } catch (error) {
        if (!this.#held.has(lease)) return;
        this.#recorder.failed('renewal_failed');
        this.#markUnreachable(error);
      }
    });
    void Promise.all(renewals).then(() => {
      if (lost > 0)
        this.#log(
          'warn',
          { lost },
          `Pool "${this.#pool}" lost ${lost} fleet lease(s) of budget "${this.key}": Redis no longer held them; those requests run on outside the fleet cap`,
        );
    });
  };

  #markReachable(): void {
    if (this.#reachable === true) return;
    const before = this.#reachable;
    this.#reachable = true;
    if (before === false)
      this.#log(
        'info',
        {},
        `Pool "${this.#pool}" reaches Redis again: fleet budget "${this.key}" enforced (${this.#describe()})`,
      );
  }

  #markUnreachable(error: unknown): void {
    if (this.#reachable === false) return;
    this.#reachable = false;
    const fallback =
      this.#options.onUnavailable === 'local' ? 'requests run under the local bound only' : 'requests are rejected';
    this.#log(
      'warn',
      { error: messageOf(error) },
      `Pool "${this.#pool}" cannot reach Redis for fleet budget "${this.key}": ${fallback} until it answers again`,
    );
  }

  #describe(): string {
    const limits = [];
    if (this.maxConcurrent !== undefined) limits.push(`maxConcurrent=${this.maxConcurrent}`);
    if (this.#tokens) limits.push(`tokensPerMinute=${this.#tokens.tokensPerMinute}`);
    return limits.join(', ');
  }

  #log(level: 'warn' | 'info', obj: Record<string, unknown>, msg: string): void {
    const logger = this.#options.logger;
    const fields = { pool: this.#pool, key: this.key, ...obj };
    try {
      if (level === 'info' && logger.info) logger.info(fields, msg);
      else logger.warn(fields, msg);
    } catch {
      // A broken logger must not break the pool.
    }
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
