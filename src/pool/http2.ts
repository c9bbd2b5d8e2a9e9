/**
 * HTTP/2 errors as undici reports them, mapped to RFC 9113's error codes: the bounded `code` label of the HTTP/2
 * metrics, and what each says about retrying; and an `allowH2` pool's sessions, counted from its sockets.
 */
import type { PoolscopeMetrics } from '../metrics/families.js';
import { exported, type CounterChild } from './recorder.js';

/** RFC 9113 §7 error codes in order of their number, as labels; `other` for any number beyond them. */
export const HTTP2_ERROR_CODES = [
  'no_error',
  'protocol_error',
  'internal_error',
  'flow_control_error',
  'settings_timeout',
  'stream_closed',
  'frame_size_error',
  'refused_stream',
  'cancel',
  'compression_error',
  'connect_error',
  'enhance_your_calm',
  'inadequate_security',
  'http_1_1_required',
  'other',
] as const;
export type Http2ErrorCode = (typeof HTTP2_ERROR_CODES)[number];

interface MaybeHttp2Error {
  code?: unknown;
  message?: unknown;
  /** undici 8 sets the stream's RST_STREAM code on the error it reports. */
  http2ErrorCode?: unknown;
}

function codeForNumber(value: number): Http2ErrorCode {
  return Number.isInteger(value) && value >= 0 && value < HTTP2_ERROR_CODES.length - 1
    ? HTTP2_ERROR_CODES[value]!
    : 'other';
}

/**
 * The RST_STREAM code of a stream the server reset, or undefined for any other error. Node reports it as
 * `ERR_HTTP2_STREAM_ERROR` "Stream closed with error code NGHTTP2_REFUSED_STREAM"; undici 8 adds the number.
 */
export function streamResetCode(error: unknown): Http2ErrorCode | undefined {
  const e = error as MaybeHttp2Error | null;
  if (e?.code !== 'ERR_HTTP2_STREAM_ERROR') return undefined;
  if (typeof e.http2ErrorCode === 'number') return codeForNumber(e.http2ErrorCode);
  const name = typeof e.message === 'string' ? /NGHTTP2_([A-Z0-9_]+)/.exec(e.message)?.[1] : undefined;
  const code = name?.toLowerCase() as Http2ErrorCode | undefined;
  return code !== undefined && HTTP2_ERROR_CODES.includes(code) ? code : 'other';
}

const GOAWAY = /"GOAWAY" frame received with code (\d+)/;

/**
 * The code of the GOAWAY an error reports, or undefined. undici names it in the message of the error it ends the
 * session with (both majors): `HTTP/2: "GOAWAY" frame received with code 0`.
 */
export function goawayCode(error: unknown): Http2ErrorCode | undefined {
  const message = (error as MaybeHttp2Error | null)?.message;
  const match = typeof message === 'string' ? GOAWAY.exec(message) : null;
  return match ? codeForNumber(Number(match[1])) : undefined;
}

/**
 * Whether undici failed a request for a graceful GOAWAY without it being processed. undici 8 drains one
 * (nodejs/undici#5090): streams at or below its last-stream-id run to their end, and the only requests it fails
 * with the GOAWAY's own error (`UND_ERR_INFO` for NO_ERROR) are those above it that it could not replay itself —
 * the server never processed them. undici 7 ends every stream of the session with `UND_ERR_SOCKET`, processed or
 * not, and so does undici 8 for a GOAWAY with an error code: those are resets (idempotent requests only).
 */
export function isRefusedByGoaway(error: unknown): boolean {
  return (error as MaybeHttp2Error | null)?.code === 'UND_ERR_INFO' && goawayCode(error) !== undefined;
}

/**
 * An `allowH2` pool's HTTP/2 bookkeeping: the sessions open (sockets that negotiated `h2`, counted from the
 * connector to the socket's close), and the GOAWAYs and stream resets the upstream sent, by code. Every code is
 * exported from 0, so `increase()` sees the first one.
 */
export class Http2Sessions {
  #open = 0;
  readonly #goaways = new Map<Http2ErrorCode, CounterChild>();
  readonly #resets = new Map<Http2ErrorCode, CounterChild>();

  constructor(pool: string, metrics: PoolscopeMetrics) {
    for (const code of HTTP2_ERROR_CODES) {
      this.#goaways.set(code, exported(metrics.http2Goaways.labels(pool, code)));
      this.#resets.set(code, exported(metrics.http2StreamResets.labels(pool, code)));
    }
  }

  get open(): number {
    return this.#open;
  }

  /** A socket the pool's connector has just opened. */
  connected(socket: {
    alpnProtocol?: string | false | null;
    once(event: 'close', listener: () => void): unknown;
  }): void {
    if (socket.alpnProtocol !== 'h2') return;
    this.#open++;
    socket.once('close', () => this.#open--);
  }

  /** A session ended: counted when it was a GOAWAY's doing. */
  ended(error: unknown): void {
    const code = goawayCode(error);
    if (code !== undefined) this.#goaways.get(code)!.inc();
  }

  /** A request failed: counted when the upstream reset its stream. */
  failed(error: unknown): void {
    const code = streamResetCode(error);
    if (code !== undefined) this.#resets.get(code)!.inc();
  }
}
