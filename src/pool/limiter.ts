import PQueue from 'p-queue';
import { PoolAcquireTimeoutError, PoolQueueFullError } from '../errors/index.js';

export type Release = () => void;

/**
 * The pool's concurrency limit and bounded FIFO wait queue.
 *
 * A free slot is taken with a counter alone: the request path pays nothing for the queue when nobody waits.
 * Waiters line up in p-queue (concurrency 1, so only the head waits for a slot); p-queue rather than p-limit
 * because a waiter that times out or is aborted must leave the queue at once — p-limit keeps it queued
 * until its turn, inflating `pendingRequests` and holding a `maxQueued` place for a request already gone.
 *
 * A slot is held until `release()` is called, so a request keeps it until its response body is read, not
 * merely until `fetch()` resolves.
 */
export class ConcurrencyLimiter {
  readonly #waiters = new PQueue({ concurrency: 1 });
  #active = 0;
  /** Wakes the head waiter when a slot frees. */
  #wakeHead: (() => void) | undefined;
  #idle: Array<() => void> = [];

  constructor(
    private readonly pool: string,
    readonly maxConcurrent: number,
    readonly maxQueued: number,
    readonly acquireMs: number,
  ) {}

  /** Requests holding a slot. */
  get active(): number {
    return this.#active;
  }

  /** Requests waiting for a slot. */
  get pending(): number {
    return this.#waiters.size + this.#waiters.pending;
  }

  /**
   * Resolves with the slot's release function. Rejects with `PoolQueueFullError` at once when the queue is
   * full, `PoolAcquireTimeoutError` after `acquireMs` in the queue, or the signal's reason if it aborts first.
   */
  acquire(signal?: AbortSignal | null): Promise<Release> | Release {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#active < this.maxConcurrent && this.pending === 0) return this.#take();
    if (this.pending >= this.maxQueued) return Promise.reject(new PoolQueueFullError(this.pool, this.maxQueued));
    return this.#wait(signal ?? undefined);
  }

  /** Resolves when no request holds or waits for a slot. */
  onIdle(): Promise<void> {
    if (this.#active === 0 && this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #take(): Release {
    this.#active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#active--;
      const wake = this.#wakeHead;
      this.#wakeHead = undefined;
      if (wake) wake();
      else this.#notifyIfIdle();
    };
  }

  #notifyIfIdle(): void {
    if (this.#active === 0 && this.pending === 0) for (const resolve of this.#idle.splice(0)) resolve();
  }

  #wait(signal: AbortSignal | undefined): Promise<Release> {
    const controller = new AbortController();
    const timer =
      this.acquireMs > 0
        ? setTimeout(() => controller.abort(new PoolAcquireTimeoutError(this.pool, this.acquireMs)), this.acquireMs)
        : undefined;
    const onCallerAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onCallerAbort, { once: true });
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onCallerAbort);
    };
    // The head of the line waits here for a slot; p-queue removes an aborted waiter wherever it stands.
    const headTakesSlot = () =>
      new Promise<Release>((resolve, reject) => {
        if (this.#active < this.maxConcurrent) return resolve(this.#take());
        this.#wakeHead = () => resolve(this.#take());
        controller.signal.addEventListener('abort', () => {
          this.#wakeHead = undefined;
          reject(controller.signal.reason);
        });
      });
    return this.#waiters.add(headTakesSlot, { signal: controller.signal }).then(
      (release) => {
        done();
        return release;
      },
      (error: unknown) => {
        done();
        this.#notifyIfIdle();
        throw error;
      },
    );
  }
}
