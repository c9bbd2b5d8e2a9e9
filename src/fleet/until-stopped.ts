/**
 * `promise`, or a rejection with `stop`'s reason as soon as it aborts: for a Redis command or connection a waiter
 * gives up on without cancelling it (the command still completes; its result is dropped).
 */
export function untilStopped<T>(promise: Promise<T>, stop: AbortSignal): Promise<T> {
  if (stop.aborted) return Promise.reject(stop.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onStop = () => reject(stop.reason as Error);
    stop.addEventListener('abort', onStop, { once: true });
    void promise.then(resolve, reject).finally(() => stop.removeEventListener('abort', onStop));
  });
}
