import { brand } from './brand.js';
import { PoolscopeError } from './poolscope-error.js';
import type { FailureReason } from './reasons.js';

/**
 * `pool.fetch` was given a URL on another origin than the pool's, or the upstream redirected it there
 * (`via: 'redirect'`): a pool's sockets serve its one origin, so the request is never sent elsewhere.
 */
export class PoolOriginError extends PoolscopeError {
  static {
    brand(this, 'PoolOriginError');
  }

  readonly code = 'POOLSCOPE_ORIGIN_MISMATCH';
  override readonly reason: FailureReason = 'other';
  constructor(
    pool: string,
    /** The pool's origin. */
    readonly expected: string,
    /** The request's origin (never its path or query, which may carry ids). */
    readonly actual: string,
    /** `request`: the caller's URL; `redirect`: a `Location` the upstream answered with. */
    readonly via: 'request' | 'redirect' = 'request',
    options?: { cause?: unknown },
  ) {
    super(
      via === 'redirect'
        ? `Pool "${pool}" serves ${expected}; it does not follow a redirect to ${actual}`
        : `Pool "${pool}" serves ${expected}; it cannot send a request to ${actual}`,
      pool,
      options,
    );
  }
}
