/**
 * The base of every poolscope error. Every error carries a stable `code` users can switch on, the pool it came
 * from and, where one was hit, the limit. Messages never contain request headers, URLs with paths, or secrets.
 */
import type { FailureReason } from './reasons.js';

export abstract class PoolscopeError extends Error {
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
