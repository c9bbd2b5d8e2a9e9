import { brand } from './brand.js';
import { PoolscopeError } from './poolscope-error.js';

/** A pool option (or an environment variable mapped onto one) has an invalid value. */
export class PoolConfigError extends PoolscopeError {
  static {
    brand(this, 'PoolConfigError');
  }

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
