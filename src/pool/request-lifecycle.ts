import { PoolTimeoutError, type FailureReason } from '../errors/index.js';
import type { Attempt } from './attempt.js';
import type { Outcome } from './events.js';
import type { OperationRecorder } from './recorder.js';
import { classifyNetworkFailure, isAbortError, statusFailureReason } from './failure.js';
import type { Release } from './limiter.js';
import type { PoolTimeouts } from './options.js';

/** Why a request must stop now, and what its caller gets. */
export interface Stop {
  error: unknown;
  reason: FailureReason;
}

/**
 * One logical request from slot acquired to body fully read (or failed), across retries and redirects. It owns
 * the overall `requestMs` deadline, records the outcome once, and gives the slot back once undici has let go
 * of the request's last attempt.
 */
export class RequestLifecycle {
  readonly #startedAt = performance.now();
  #timer: NodeJS.Timeout | undefined;
  #deadlineError: PoolTimeoutError | undefined;
  #finished = false;
  #wake: (() => void) | undefined;
  current: Attempt | undefined;

  constructor(
    private readonly pool: string,
    private readonly timeouts: PoolTimeouts,
    private readonly recorder: OperationRecorder,
    private readonly release: Release,
    readonly callerSignal: AbortSignal | undefined,
  ) {
    if (timeouts.requestMs > 0) {
      this.#timer = setTimeout(this.#onDeadline, timeouts.requestMs);
      this.#timer.unref();
    }
  }

  /** The caller aborted (their reason, unchanged, counted `aborted`) or `requestMs` passed (counted `timeout`). */
  get stopped(): Stop | undefined {
    // The deadline does not fire once the caller has aborted, so whichever is set came first.
    if (this.#deadlineError) return { error: this.#deadlineError, reason: 'timeout' };
    if (this.callerSignal?.aborted) return { error: this.callerSignal.reason, reason: 'aborted' };
    return undefined;
  }

  /** Time left before `requestMs`; `Infinity` when there is no deadline. */
  get remainingMs(): number {
    return this.timeouts.requestMs > 0
      ? this.timeouts.requestMs - (performance.now() - this.#startedAt)
      : Number.POSITIVE_INFINITY;
  }

  readonly #onDeadline = (): void => {
    if (this.#finished || this.callerSignal?.aborted) return;
    this.#deadlineError = new PoolTimeoutError(this.pool, 'request', this.timeouts.requestMs);
    this.current?.abandon(this.#deadlineError);
    this.#wake?.();
  };

  /**
   * Waits `delayMs` before a retry. If the caller aborts or the deadline passes first, the request ends there
   * and this rejects with what the caller gets.
   */
  async wait(delayMs: number): Promise<void> {
    this.throwIfStopped();
    const signal = this.callerSignal;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, delayMs);
      signal?.addEventListener('abort', done, { once: true });
      this.#wake = done;
      function done() {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
    });
    this.#wake = undefined;
    this.throwIfStopped();
  }

  /** Ends the request with the caller's abort or the deadline, if either happened. */
  throwIfStopped(): void {
    const stop = this.stopped;
    if (!stop) return;
    this.finish('error', stop.reason);
    throw stop.error;
  }

  /** The response goes to the caller: the request ends when this attempt's body ends. */
  deliver(attempt: Attempt): void {
    attempt.onEnd = this.#onDeliveredEnd;
    if (attempt.ended) this.#onDeliveredEnd(attempt);
  }

  readonly #onDeliveredEnd = (attempt: Attempt): void => {
    if (attempt.ended === 'complete') return this.finishWithStatus(attempt.status);
    const stop = this.stopped;
    if (stop) return this.finish('error', stop.reason, attempt.status);
    // The consumer cancelled a body it did not need: the exchange still succeeded.
    if (isAbortError(attempt.error)) return this.finishWithStatus(attempt.status);
    this.finish('error', classifyNetworkFailure(this.pool, attempt.error, this.timeouts).reason, attempt.status);
  };

  finishWithStatus(status: number): void {
    const reason = statusFailureReason(status);
    this.finish(reason ? 'error' : 'success', reason, status);
  }

  finish(outcome: Outcome, reason: FailureReason | undefined, status?: number): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#timer) clearTimeout(this.#timer);
    const durationMs = performance.now() - this.#startedAt;
    // The slot is free once undici holds nothing of the request: at once, unless a hop the caller gave up on
    // still waits inside undici (it is dropped, socket kept, when undici reaches it). Slot first, so observers
    // of the end event already see it free.
    const attempt = this.current;
    if (attempt && !attempt.settled) attempt.whenSettled(this.release);
    else this.release();
    this.recorder.finish(outcome, reason, status || undefined, durationMs);
  }
}
