import type { Dispatcher } from 'undici';

/** The legacy handler shape undici's `fetch` dispatches with (undici adapts it to the new API itself). */
interface FetchHandler {
  onConnect?(abort: (reason?: Error) => void, context?: unknown): void;
  onResponseStarted?(): void;
  onHeaders?(status: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean;
  onData?(chunk: Buffer): boolean;
  onComplete?(trailers: string[] | null): void;
  onError?(error: Error): void;
  onUpgrade?(status: number, rawHeaders: Buffer[] | string[] | null, socket: unknown): void;
}

export type AttemptEnd = 'complete' | 'error';

/**
 * One try of a request on the wire. It is handed to `undici.fetch` as the request's dispatcher and wraps
 * fetch's handler on its way to the pool, so it sees the status, the end of the body (read or cancelled),
 * and the abort function, without touching or buffering the body.
 */
export class Attempt {
  #inner: FetchHandler | undefined;
  #abort: ((reason?: Error) => void) | undefined;
  #pendingAbort: Error | undefined;
  status = 0;
  ended: AttemptEnd | undefined;
  error: unknown;
  /** Set once the caller will receive this attempt's response: its end is the request's end. */
  onEnd: ((attempt: Attempt) => void) | undefined;

  constructor(private readonly target: Dispatcher) {}

  /** The `Dispatcher` face `undici.fetch` calls. */
  dispatch(options: Dispatcher.DispatchOptions, handler: FetchHandler): boolean {
    this.#inner = handler;
    return this.target.dispatch(options, this as unknown as Dispatcher.DispatchHandler);
  }

  /** Aborts the exchange (headers or body phase) with `reason`, now or as soon as it starts. */
  abort(reason: Error): void {
    if (this.ended) return;
    if (this.#abort) this.#abort(reason);
    else this.#pendingAbort = reason;
  }

  onConnect(abort: (reason?: Error) => void, context?: unknown): void {
    this.#abort = abort;
    this.#inner?.onConnect?.(abort, context);
    if (this.#pendingAbort) abort(this.#pendingAbort);
  }

  onResponseStarted(): void {
    this.#inner?.onResponseStarted?.();
  }

  onHeaders(status: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    if (status >= 200) this.status = status;
    return this.#inner?.onHeaders?.(status, rawHeaders, resume, statusText) ?? true;
  }

  onData(chunk: Buffer): boolean {
    return this.#inner?.onData?.(chunk) ?? true;
  }

  onComplete(trailers: string[] | null): void {
    this.#inner?.onComplete?.(trailers);
    this.#end('complete', undefined);
  }

  onError(error: Error): void {
    this.#end('error', error);
    if (!this.#inner?.onError) throw error;
    this.#inner.onError(error);
  }

  onUpgrade(status: number, rawHeaders: Buffer[] | string[] | null, socket: unknown): void {
    this.#inner?.onUpgrade?.(status, rawHeaders, socket);
  }

  #end(kind: AttemptEnd, error: unknown): void {
    if (this.ended) return;
    this.ended = kind;
    this.error = error;
    this.onEnd?.(this);
  }
}
