import { brand } from './brand.js';
import { PoolAcquireTimeoutError } from './pool-acquire-timeout-error.js';

/**
 * A database checkout waited `connectionTimeoutMs` for a client in vain. A `PoolAcquireTimeoutError` (same
 * `code`, `reason` and `instanceof`) so one handler serves HTTP and database pools; pg's error is the `cause`.
 */
export class PgAcquireTimeoutError extends PoolAcquireTimeoutError {
  static {
    brand(this, 'PgAcquireTimeoutError');
  }

  constructor(pool: string, limitMs: number, options?: { cause?: unknown }) {
    super(
      pool,
      limitMs,
      options,
      `Pool "${pool}" could not check out a database client within connectionTimeoutMs=${limitMs}`,
    );
  }
}
