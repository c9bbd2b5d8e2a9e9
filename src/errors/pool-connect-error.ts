import { brand } from './brand.js';
import { PoolscopeError } from './poolscope-error.js';
import type { ConnectionErrorReason, FailureReason } from './reasons.js';

/** The connection to the upstream could not be established (refused, DNS, TLS...). */
export class PoolConnectError extends PoolscopeError {
  static {
    brand(this, 'PoolConnectError');
  }

  readonly code = 'POOLSCOPE_CONNECT_FAILED';
  override readonly reason: FailureReason = 'connect_error';
  constructor(
    pool: string,
    readonly connectionReason: ConnectionErrorReason,
    options?: { cause?: unknown },
  ) {
    super(`Pool "${pool}" could not connect to its upstream (${connectionReason})`, pool, options);
  }
}
