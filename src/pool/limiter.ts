import PQueue from 'p-queue';
import { PoolAcquireTimeoutError, PoolQueueFullError } from '../errors/index.js';

export type Release = () => void;

/**
 * The pool's concurrency limit and bounded FIFO wait queue, on p-queue. p-queue (not p-limit) because a
 * waiter that times out or is aborted must leave the queue at once: p-limit keeps it queued until its turn,
 * which would inflate `pendingRequests` and hold a `maxQueued` place for a request that is already gone.
 *
 * A slot is held by a task that resolves only when `release()` is called, so a request keeps its slot
 * until its response body is read, not merely until `fetch()` resolves.
 */
export class ConcurrencyLimiter {
  readonly #queue: PQueue;
  // Counted here rather than read from p-queue, which frees a slot a few microtasks after release.
  #active = 0;

  constructor(
    private readonly pool: string,
    readonly maxConcurrent: number,
    readonly maxQueued: number,
    readonly acquireMs: number,
  ) {
    this.#queue = new PQueue({ concurrency: maxConcurrent });
  }

  /** Requests holding a slot. */
  get active(): number {
    return this.#active;
  }

  /** Requests waiting for a slot. */
  get queued(): number {
    return this.#queue.size;
  }

  /**
   * Resolves with the slot's release function. Rejects with `PoolQueueFullError` at once when the queue is
   * full, `PoolAcquireTimeoutError` after `acquireMs` in the queue, or the signal's reason if it aborts first.
   */
  acquire(signal?: AbortSignal | null): Promise<Release> {
    const mustWait = this.#active >= this.maxConcurrent || this.#queue.size > 0;
    if (mustWait && this.#queue.size >= this.maxQueued) {
      return Promise.reject(new PoolQueueFullError(this.pool, this.maxQueued));
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<Release>((resolve, reject) => {
      // Timers and abort wiring only for requests that actually wait: the free-slot path stays allocation-light.
      let waiting: AbortController | undefined;
      let timer: NodeJS.Timeout | undefined;
      let onCallerAbort: (() => void) | undefined;
      if (mustWait && (this.acquireMs > 0 || signal)) {
        const controller = (waiting = new AbortController());
        if (this.acquireMs > 0) {
          timer = setTimeout(() => controller.abort(new PoolAcquireTimeoutError(this.pool, this.acquireMs)), this.acquireMs);
        }
        if (signal) {
          onCallerAbort = () => controller.abort(signal.reason);
          signal.addEventListener('abort', onCallerAbort, { once: true });
        }
      }
      const holdSlot = () =>
        new Promise<void>((release) => {
          // Started: from here on nothing may abort the p-queue task, or p-queue would free the slot early.
          if (timer) clearTimeout(timer);
          if (onCallerAbort) signal?.removeEventListener('abort', onCallerAbort);
          this.#active++;
          let released = false;
          resolve(() => {
            if (released) return;
            released = true;
            this.#active--;
            release();
          });
        });
      this.#queue.add(holdSlot, waiting ? { signal: waiting.signal } : {}).catch((error: unknown) => {
        if (timer) clearTimeout(timer);
        if (onCallerAbort) signal?.removeEventListener('abort', onCallerAbort);
        reject(error);
      });
    });
  }

  /** Resolves when no request holds or waits for a slot. */
  onIdle(): Promise<void> {
    return this.#queue.onIdle();
  }
}
