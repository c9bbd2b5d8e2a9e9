import { brand } from './brand.js';
import { PoolscopeError } from './poolscope-error.js';
import type { FailureReason } from './reasons.js';

/** The pool is closing or closed and takes no new work. */
export class PoolClosedError extends PoolscopeError {
  static {
    brand(this, 'PoolClosedError');
  }

  readonly code = 'POOLSCOPE_POOL_CLOSED';
  override readonly reason: FailureReason = 'other';
  constructor(pool: string, options?: { cause?: unknown }) {
    super(`Pool "${pool}" is closed`, pool, options);
  }
}
