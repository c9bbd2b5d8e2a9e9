import { brand } from './brand.js';
import { PoolscopeError } from './poolscope-error.js';
import type { FailureReason } from './reasons.js';

/** The request waited longer than `timeouts.acquireMs` for a concurrency slot. */
export class PoolAcquireTimeoutError extends PoolscopeError {
  static {
    brand(this, 'PoolAcquireTimeoutError');
  }

  readonly code = 'POOLSCOPE_ACQUIRE_TIMEOUT';
  override readonly reason: FailureReason = 'acquire_timeout';
  constructor(
    pool: string,
    /** `timeouts.acquireMs` of the pool. */
    readonly limitMs: number,
    options?: { cause?: unknown },
    /** For a subclass that waits on something else than a slot, e.g. a database client. */
    message = `Pool "${pool}" had no free slot within acquireMs=${limitMs}`,
  ) {
    super(message, pool, options);
  }
}
