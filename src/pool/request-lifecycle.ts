import { PoolTimeoutError, type FailureReason } from '../errors/index.js';
import type { Attempt } from './attempt.js';
import type { Outcome } from './events.js';
import type { OperationRecorder } from './recorder.js';
import { classifyNetworkFailure, isAbortError, statusFailureReason } from './failure.js';
import type { Release } from './limiter.js';
import type { PoolTimeouts } from './options.js';

/**
 * One logical request from slot acquired to body fully read (or failed), across retries. It owns the
 * overall `requestMs` deadline and gives the slot back exactly once.
 */
export class RequestLifecycle {
  readonly #startedAt = performance.now();
  #timer: NodeJS.Timeout | undefined;
  #deadlineError: PoolTimeoutError | undefined;
  #finished = false;
  current: Attempt | undefined;

  constructor(
    private readonly pool: string,
    private readonly timeouts: PoolTimeouts,
    private readonly recorder: OperationRecorder,
    private readonly release: Release,
    private readonly callerSignal: AbortSignal | undefined,
  ) {
    if (timeouts.requestMs > 0) {
      this.#timer = setTimeout(this.#onDeadline, timeouts.requestMs);
      this.#timer.unref();
    }
  }

  get deadlineError(): PoolTimeoutError | undefined {
    return this.#deadlineError;
  }

  readonly #onDeadline = (): void => {
    this.#deadlineError = new PoolTimeoutError(this.pool, 'request', this.timeouts.requestMs);
    this.current?.abort(this.#deadlineError);
  };

  /** The response goes to the caller: the request ends when this attempt's body ends. */
  deliver(attempt: Attempt): void {
    attempt.onEnd = this.#onDeliveredEnd;
    if (attempt.ended) this.#onDeliveredEnd(attempt);
  }

  readonly #onDeliveredEnd = (attempt: Attempt): void => {
    if (attempt.ended === 'complete') return this.finishWithStatus(attempt.status);
    const error = attempt.error;
    if (error === this.#deadlineError) return this.finish('error', 'timeout', attempt.status);
    if (isAbortError(error)) {
      // The caller aborted: an error. The consumer cancelled a body it did not need: the exchange still succeeded.
      if (this.callerSignal?.aborted) return this.finish('error', 'aborted', attempt.status);
      return this.finishWithStatus(attempt.status);
    }
    this.finish('error', classifyNetworkFailure(this.pool, error, this.timeouts).reason, attempt.status);
  };

  finishWithStatus(status: number): void {
    const reason = statusFailureReason(status);
    this.finish(reason ? 'error' : 'success', reason, status);
  }

  finish(outcome: Outcome, reason: FailureReason | undefined, status?: number): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#timer) clearTimeout(this.#timer);
    // Slot first, so observers of the end event already see it free.
    this.release();
    this.recorder.finish(outcome, reason, status || undefined, performance.now() - this.#startedAt);
  }
}
