import { brand } from './brand.js';
import { PoolscopeError } from './poolscope-error.js';
import type { FailureReason } from './reasons.js';

/**
 * The pool's fleet budget (`fleet.onUnavailable: 'reject'`) could not reach Redis, so the request was refused
 * rather than run outside the fleet-wide cap. The Redis error is the `cause`.
 */
export class PoolFleetUnavailableError extends PoolscopeError {
  static {
    brand(this, 'PoolFleetUnavailableError');
  }

  readonly code = 'POOLSCOPE_FLEET_UNAVAILABLE';
  override readonly reason: FailureReason = 'fleet_unavailable';
  constructor(
    pool: string,
    /** `fleet.key`: the budget that could not be reached. */
    readonly key: string,
    options?: { cause?: unknown },
  ) {
    super(
      `Pool "${pool}" could not reach Redis for its fleet budget "${key}" (onUnavailable=reject); request rejected`,
      pool,
      options,
    );
  }
}
