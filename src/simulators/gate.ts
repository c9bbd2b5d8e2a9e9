/**
 * Waiting primitives for the simulators: a gate that held requests or streams wait on until a test
 * opens it, and a delay that gives up when the client goes away. Both resolve `false` when the
 * request's signal aborts, so a simulator never writes to a socket that is already gone.
 */

export class Gate {
  readonly #waiters = new Set<(released: boolean) => void>();

  /** How many requests or streams are waiting on this gate right now. */
  get waiting(): number {
    return this.#waiters.size;
  }

  /** Resolves `true` when the gate is opened, `false` if `signal` aborts first. */
  wait(signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const settle = (released: boolean): void => {
        this.#waiters.delete(settle);
        signal.removeEventListener('abort', onAbort);
        resolve(released);
      };
      const onAbort = (): void => settle(false);
      this.#waiters.add(settle);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Lets every current waiter go on; later waiters wait again. Returns how many were released. */
  open(): number {
    const waiters = [...this.#waiters];
    for (const settle of waiters) settle(true);
    return waiters.length;
  }
}

/** Resolves `true` after `ms`, or `false` as soon as `signal` aborts. */
export function delay(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
