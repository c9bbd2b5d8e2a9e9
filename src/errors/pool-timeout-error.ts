import { brand } from './brand.js';
import { PoolscopeError } from './poolscope-error.js';
import type { FailureReason } from './reasons.js';

export type TimeoutPhase = 'connect' | 'headers' | 'body' | 'request';

/** A phase timeout fired: connect, response headers, idle body, or the overall request deadline. */
export class PoolTimeoutError extends PoolscopeError {
  static {
    brand(this, 'PoolTimeoutError');
  }

  readonly code = 'POOLSCOPE_TIMEOUT';
  override readonly reason: FailureReason = 'timeout';
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
