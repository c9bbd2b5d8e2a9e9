import { brand } from './brand.js';
import { PoolscopeError } from './poolscope-error.js';
import type { FailureReason } from './reasons.js';

/** The bounded wait queue is full: the request was rejected at once instead of waiting. */
export class PoolQueueFullError extends PoolscopeError {
  static {
    brand(this, 'PoolQueueFullError');
  }

  readonly code = 'POOLSCOPE_QUEUE_FULL';
  override readonly reason: FailureReason = 'queue_full';
  constructor(
    pool: string,
    /** `maxQueued` of the pool. */
    readonly limit: number,
    options?: { cause?: unknown },
  ) {
    super(`Pool "${pool}" queue is full (maxQueued=${limit}); request rejected`, pool, options);
  }
}
