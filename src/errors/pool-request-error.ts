import { brand } from './brand.js';
import { PoolscopeError } from './poolscope-error.js';
import type { FailureReason } from './reasons.js';

/** The request failed on the wire after it was sent (reset, socket closed, protocol error). */
export class PoolRequestError extends PoolscopeError {
  static {
    brand(this, 'PoolRequestError');
  }

  readonly code = 'POOLSCOPE_REQUEST_FAILED';
  constructor(
    pool: string,
    override readonly reason: FailureReason,
    options?: { cause?: unknown },
  ) {
    super(`Pool "${pool}" request failed (${reason})`, pool, options);
  }
}
