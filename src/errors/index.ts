/**
 * Typed errors. Every error carries a stable `code` users can switch on, the pool it came from and,
 * where one was hit, the limit. Messages never contain request headers, URLs with paths, or secrets.
 */

/** Every value of `poolscope_request_failures_total{reason}`: each operation of a pool exports all of them from 0. */
export const FAILURE_REASONS = [
  'timeout',
  'acquire_timeout',
  'queue_full',
  'connect_error',
  'http_4xx',
  'http_5xx',
  'rate_limited',
  'aborted',
  'other',
] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

/** Every value of `poolscope_pool_connection_errors_total{reason}`: each pool exports all of them from 0. */
export const CONNECTION_ERROR_REASONS = ['refused', 'timeout', 'reset', 'tls', 'dns', 'other'] as const;
export type ConnectionErrorReason = (typeof CONNECTION_ERROR_REASONS)[number];

export type TimeoutPhase = 'connect' | 'headers' | 'body' | 'request';

export abstract class PoolscopeError extends Error {
  abstract readonly code: string;
  /** The pool the error came from, when there is one. */
  readonly pool: string | undefined;

  constructor(message: string, pool: string | undefined, options?: { cause?: unknown }) {
    super(message, options);
    this.pool = pool;
  }

  override get name(): string {
    return this.constructor.name;
  }
}

/** A pool option (or an environment variable mapped onto one) has an invalid value. */
export class PoolConfigError extends PoolscopeError {
  readonly code = 'POOLSCOPE_CONFIG_INVALID';
  constructor(
    /** The option at fault, e.g. `timeouts.connectMs`. */
    readonly option: string,
    /** What is wrong with the value (never the value itself, which may be a secret). */
    readonly problem: string,
    pool?: string,
    options?: { cause?: unknown },
  ) {
    super(`Invalid pool option "${option}"${pool ? ` for pool "${pool}"` : ''}: ${problem}`, pool, options);
  }
}

/** The bounded wait queue is full: the request was rejected at once instead of waiting. */
export class PoolQueueFullError extends PoolscopeError {
  readonly code = 'POOLSCOPE_QUEUE_FULL';
  readonly reason: FailureReason = 'queue_full';
  constructor(
    pool: string,
    /** `maxQueued` of the pool. */
    readonly limit: number,
  ) {
    super(`Pool "${pool}" queue is full (maxQueued=${limit}); request rejected`, pool);
  }
}

/** The request waited longer than `timeouts.acquireMs` for a concurrency slot. */
export class PoolAcquireTimeoutError extends PoolscopeError {
  readonly code = 'POOLSCOPE_ACQUIRE_TIMEOUT';
  readonly reason: FailureReason = 'acquire_timeout';
  constructor(
    pool: string,
    /** `timeouts.acquireMs` of the pool. */
    readonly limitMs: number,
  ) {
    super(`Pool "${pool}" had no free slot within acquireMs=${limitMs}`, pool);
  }
}

/** A phase timeout fired: connect, response headers, idle body, or the overall request deadline. */
export class PoolTimeoutError extends PoolscopeError {
  readonly code = 'POOLSCOPE_TIMEOUT';
  readonly reason: FailureReason = 'timeout';
  constructor(
    pool: string,
    readonly phase: TimeoutPhase,
    /** The configured limit for that phase, in milliseconds. */
    readonly limitMs: number,
    options?: { cause?: unknown },
  ) {
    super(`Pool "${pool}" ${phase} timeout after ${limitMs} ms`, pool, options);
  }
}

/** The connection to the upstream could not be established (refused, DNS, TLS...). */
export class PoolConnectError extends PoolscopeError {
  readonly code = 'POOLSCOPE_CONNECT_FAILED';
  readonly reason: FailureReason = 'connect_error';
  constructor(
    pool: string,
    readonly connectionReason: ConnectionErrorReason,
    options?: { cause?: unknown },
  ) {
    super(`Pool "${pool}" could not connect to its upstream (${connectionReason})`, pool, options);
  }
}

/** The request failed on the wire after it was sent (reset, socket closed, protocol error). */
export class PoolRequestError extends PoolscopeError {
  readonly code = 'POOLSCOPE_REQUEST_FAILED';
  constructor(
    pool: string,
    readonly reason: FailureReason,
    options?: { cause?: unknown },
  ) {
    super(`Pool "${pool}" request failed (${reason})`, pool, options);
  }
}

/** The pool is closing or closed and takes no new work. */
export class PoolClosedError extends PoolscopeError {
  readonly code = 'POOLSCOPE_POOL_CLOSED';
  readonly reason: FailureReason = 'other';
  constructor(pool: string) {
    super(`Pool "${pool}" is closed`, pool);
  }
}

/**
 * `pool.fetch` was given a URL on another origin than the pool's, or the upstream redirected it there
 * (`via: 'redirect'`): a pool's sockets serve its one origin, so the request is never sent elsewhere.
 */
export class PoolOriginError extends PoolscopeError {
  readonly code = 'POOLSCOPE_ORIGIN_MISMATCH';
  readonly reason: FailureReason = 'other';
  constructor(
    pool: string,
    /** The pool's origin. */
    readonly expected: string,
    /** The request's origin (never its path or query, which may carry ids). */
    readonly actual: string,
    /** `request`: the caller's URL; `redirect`: a `Location` the upstream answered with. */
    readonly via: 'request' | 'redirect' = 'request',
  ) {
    super(
      via === 'redirect'
        ? `Pool "${pool}" serves ${expected}; it does not follow a redirect to ${actual}`
        : `Pool "${pool}" serves ${expected}; it cannot send a request to ${actual}`,
      pool,
    );
  }
}
