import type { Dispatcher } from 'undici';
import { PoolOriginError } from '../errors/index.js';
import { classifyNetworkFailure, isAbortError, rootCause } from './failure.js';
import type { Http2Sessions } from './http2.js';
import type { PoolTimeouts } from './options.js';

type Controller = Dispatcher.DispatchController;
type Headers = Record<string, string | string[] | undefined>;

/**
 * The handler `undici.fetch` dispatches with: undici 7's fetch still uses the legacy callbacks
 * (`onConnect`/`onHeaders`/...), undici 8's the current ones (`onRequestStart`/`onResponseStart`/...).
 */
interface FetchHandler extends Dispatcher.DispatchHandler {
  onConnect?(abort: (reason?: Error) => void, context?: unknown): void;
  onResponseStarted?(): void;
  onHeaders?(status: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean;
  onData?(chunk: Buffer): boolean;
  onComplete?(trailers: unknown): void;
  onError?(error: Error): void;
  onUpgrade?(status: number, rawHeaders: unknown, socket: unknown): void;
}

export type AttemptEnd = 'complete' | 'error';

/** What an attempt needs to know of its pool and its caller. */
export interface AttemptContext {
  readonly pool: string;
  readonly origin: string;
  readonly timeouts: PoolTimeouts;
  /** The caller's `redirect` mode: only `follow` makes a 3xx a hop on the way rather than the answer. */
  readonly follow: boolean;
  readonly callerSignal: AbortSignal | undefined;
  /** An `allowH2` pool's sessions: counts the stream resets its requests meet. */
  readonly http2: Http2Sessions | undefined;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * One try of a request: one `undici.fetch` call, handed to it as its dispatcher. fetch dispatches once per
 * redirect hop; the attempt checks each hop's origin, keeps every hop under the one slot and deadline, and
 * ends with the hop whose response the caller gets. It speaks undici's current handler API to the pool (so it
 * runs on undici 7 and 8) and whichever API fetch's own handler has.
 *
 * It also knows when undici has let go of all its hops (`settled`): the slot is held until then, so work a
 * caller gave up on can never pile up inside undici behind the limiter's back.
 */
export class Attempt {
  /** The status of the response the caller gets (redirect hops followed on the way are not it). */
  status = 0;
  ended: AttemptEnd | undefined;
  error: unknown;
  /** Hops handed to undici. */
  hops = 0;
  /** Set once the caller will receive this attempt's response: its end is the request's end. */
  onEnd: ((attempt: Attempt) => void) | undefined;
  #open = 0;
  #current: Hop | undefined;
  #abandoned: Error | undefined;
  #onSettled: (() => void) | undefined;

  constructor(
    private readonly target: Dispatcher,
    readonly context: AttemptContext,
  ) {}

  /** The `Dispatcher` face `undici.fetch` calls, once per hop. */
  dispatch(options: Dispatcher.DispatchOptions, handler: FetchHandler): boolean {
    if (options.origin !== undefined && String(options.origin) !== this.context.origin) {
      // A redirect off the pool's origin: never sent anywhere (the pool's sockets serve one origin only).
      const error = new PoolOriginError(this.context.pool, this.context.origin, String(options.origin), 'redirect');
      this.#end('error', error);
      queueMicrotask(() => errorHandler(handler, error));
      return true;
    }
    const hop = new Hop(this, handler);
    this.#current = hop;
    this.hops++;
    this.#open++;
    return this.target.dispatch(options, hop);
  }

  /** True once undici holds none of this attempt's hops. */
  get settled(): boolean {
    return this.#open === 0;
  }

  /** Runs `callback` once undici holds none of this attempt's hops (now, if it already holds none). */
  whenSettled(callback: () => void): void {
    if (this.#open === 0) callback();
    else this.#onSettled = callback;
  }

  /**
   * Gives the attempt up with `reason` (the request's deadline): a hop on the wire is aborted; a hop undici has
   * not started yet fails for fetch at once and is dropped by undici, when it reaches it, without a socket.
   */
  abandon(reason: Error): void {
    if (this.#abandoned || this.ended) return;
    this.#abandoned = reason;
    this.#current?.abandon(reason);
  }

  /** Whether a hop that undici is about to start must be dropped instead. */
  get abandonedReason(): unknown {
    return this.#abandoned ?? (this.context.callerSignal?.aborted ? this.context.callerSignal.reason : undefined);
  }

  /** A hop has its response headers: a redirect fetch will follow is not the attempt's answer. */
  hopStarted(hop: Hop, status: number, headers: Headers): void {
    hop.redirect = this.context.follow && REDIRECT_STATUSES.has(status) && headers.location !== undefined;
    if (!hop.redirect && status >= 200) this.status = status;
  }

  hopEnded(hop: Hop, kind: AttemptEnd, error: unknown): void {
    this.#open--;
    // A followed redirect's end is not the request's end; any hop's failure is.
    if (kind === 'error' || !hop.redirect) this.#end(kind, error);
    if (this.#open === 0 && this.#onSettled) {
      const settled = this.#onSettled;
      this.#onSettled = undefined;
      settled();
    }
  }

  #end(kind: AttemptEnd, error: unknown): void {
    if (this.ended) return;
    this.ended = kind;
    this.error = error;
    this.onEnd?.(this);
  }
}

/** One hop of an attempt on the wire: fetch's handler for one dispatch, wrapped. */
class Hop implements Dispatcher.DispatchHandler {
  redirect = false;
  #controller: Controller | undefined;
  #headersSeen = false;
  #abandoned = false;
  readonly #legacy: boolean;

  constructor(
    private readonly attempt: Attempt,
    private readonly inner: FetchHandler,
  ) {
    this.#legacy = typeof inner.onRequestStart !== 'function';
  }

  abandon(reason: Error): void {
    if (this.#controller) return this.#controller.abort(reason);
    // Not started: undici still has it queued. fetch fails now; undici drops it when it gets to it.
    this.#abandoned = true;
    errorHandler(this.inner, reason);
  }

  onRequestStart(controller: Controller, context: unknown): void {
    this.#controller = controller;
    const gaveUp = this.attempt.abandonedReason;
    if (this.#abandoned || gaveUp !== undefined) {
      this.#abandoned = true;
      // Throwing here makes undici drop the request without writing it and keep the socket; aborting it (what
      // fetch would do) destroys a socket that carried nothing.
      throw gaveUp instanceof Error ? gaveUp : new Error('aborted');
    }
    if (this.#legacy) this.inner.onConnect?.((reason) => controller.abort(reason as Error), context);
    else this.inner.onRequestStart!(controller, context);
  }

  onResponseStarted(): void {
    this.inner.onResponseStarted?.();
  }

  onRequestUpgrade(controller: Controller, status: number, headers: Headers, socket: never): void {
    if (this.#legacy) this.inner.onUpgrade?.(status, controller.rawHeaders ?? rawHeadersOf(headers), socket);
    else this.inner.onRequestUpgrade?.(controller, status, headers, socket);
    // An upgraded socket leaves undici: the hop is over for the pool.
    this.attempt.hopEnded(this, 'complete', undefined);
  }

  onResponseStart(controller: Controller, status: number, headers: Headers, statusMessage?: string): void {
    if (status >= 200) {
      this.#headersSeen = true;
      this.attempt.hopStarted(this, status, headers);
    }
    if (!this.#legacy) return this.inner.onResponseStart?.(controller, status, headers, statusMessage);
    const raw = (controller.rawHeaders as Buffer[] | undefined) ?? rawHeadersOf(headers);
    if (this.inner.onHeaders?.(status, raw, () => controller.resume(), statusMessage ?? '') === false)
      controller.pause();
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    if (!this.#legacy) return this.inner.onResponseData?.(controller, chunk);
    if (this.inner.onData?.(chunk) === false) controller.pause();
  }

  onResponseEnd(controller: Controller, trailers: Headers): void {
    if (this.#legacy) this.inner.onComplete?.(controller.rawTrailers ?? []);
    else this.inner.onResponseEnd?.(controller, trailers);
    this.attempt.hopEnded(this, 'complete', undefined);
  }

  onResponseError(_controller: Controller | undefined, error: Error): void {
    if (this.#abandoned) return this.attempt.hopEnded(this, 'error', error);
    this.attempt.context.http2?.failed(rootCause(error));
    // Mid-body, fetch can only error the body stream with `TypeError('terminated', { cause })`: make the cause
    // the typed poolscope error. Before headers, fetch's rejection is mapped by the pool itself.
    const { pool, timeouts, callerSignal } = this.attempt.context;
    const typed = this.#headersSeen && !callerSignal?.aborted && !isAbortError(error);
    const forwarded = typed ? classifyNetworkFailure(pool, error, timeouts).error : error;
    this.attempt.hopEnded(this, 'error', forwarded);
    errorHandler(this.inner, forwarded);
  }
}

function errorHandler(handler: FetchHandler, error: Error): void {
  if (typeof handler.onResponseError === 'function') handler.onResponseError(undefined as unknown as Controller, error);
  else handler.onError?.(error);
}

function rawHeadersOf(headers: Headers): Buffer[] {
  const raw: Buffer[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value])
      raw.push(Buffer.from(name, 'latin1'), Buffer.from(v, 'latin1'));
  }
  return raw;
}
