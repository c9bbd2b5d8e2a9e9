import { brand, ownBrand } from './brand.js';
import type { FailureReason } from './reasons.js';

/**
 * The base of every poolscope error. Every error carries a stable `code` users can switch on, the pool it came
 * from and, where one was hit, the limit. Messages never contain request headers, URLs with paths, or secrets.
 */
export abstract class PoolscopeError extends Error {
  static {
    brand(this, 'PoolscopeError');
  }

  /**
   * `instanceof` by brand rather than by prototype, as undici's errors do: it holds when the error was built by
   * another copy of poolscope (two versions installed side by side, or one bundled). A subclass without a brand
   * of its own (a user's) is checked the ordinary way.
   */
  static override [Symbol.hasInstance](instance: unknown): boolean {
    const symbol = ownBrand(this);
    if (symbol === undefined) return Function.prototype[Symbol.hasInstance].call(this, instance);
    return typeof instance === 'object' && instance !== null && (instance as Record<symbol, unknown>)[symbol] === true;
  }

  abstract readonly code: string;
  /** The pool the error came from, when there is one. */
  readonly pool: string | undefined;
  /**
   * The `reason` label the failure is counted under in `poolscope_request_failures_total`, for errors a request
   * can fail with; `undefined` for configuration and service errors. Declared only, so those carry no such field.
   */
  declare readonly reason: FailureReason | undefined;

  constructor(message: string, pool: string | undefined, options?: { cause?: unknown }) {
    super(message, options);
    this.pool = pool;
  }

  override get name(): string {
    return this.constructor.name;
  }
}
