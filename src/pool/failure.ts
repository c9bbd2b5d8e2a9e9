import {
  PoolConnectError,
  PoolRequestError,
  PoolTimeoutError,
  PoolscopeError,
  type ConnectionErrorReason,
  type FailureReason,
} from '../errors/index.js';
import { isRefusedByGoaway, streamResetCode } from './http2.js';
import type { PoolTimeouts } from './options.js';

interface ErrorWithCode {
  code?: unknown;
  name?: unknown;
  cause?: unknown;
}

function codeOf(error: unknown): string {
  const code = (error as ErrorWithCode | null)?.code;
  return typeof code === 'string' ? code : '';
}

/** undici wraps network failures as `TypeError('fetch failed', { cause })`: the cause is what happened. */
export function rootCause(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 4; depth++) {
    const next = (current as ErrorWithCode | null)?.cause;
    if (next === undefined || next === null || current instanceof PoolscopeError) break;
    if (codeOf(current) !== '' && !(current instanceof TypeError)) break;
    current = next;
  }
  return current;
}

export function isAbortError(error: unknown): boolean {
  const e = error as ErrorWithCode | null;
  return e?.name === 'AbortError' || codeOf(e) === 'UND_ERR_ABORTED' || codeOf(e) === 'ABORT_ERR';
}

/** The bounded `reason` of `poolscope_pool_connection_errors_total`. */
export function connectionErrorReason(error: unknown): ConnectionErrorReason {
  const code = codeOf(error);
  switch (code) {
    case 'ECONNREFUSED':
      return 'refused';
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
    case 'ECONNABORTED':
      return 'timeout';
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return 'reset';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
    case 'EAI_FAIL':
      return 'dns';
  }
  if (/^(ERR_TLS|ERR_SSL|ERR_OSSL|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_|HOSTNAME_MISMATCH)/.test(code)) return 'tls';
  return 'other';
}

export interface ClassifiedFailure {
  /** What the caller gets: a typed poolscope error with the original kept as `cause`. */
  error: Error;
  reason: FailureReason;
  /** Set when nothing reached the upstream (connection never established): safe to retry any method. */
  beforeSend: boolean;
  /**
   * Set for an HTTP/2 stream the server refused (RST_STREAM REFUSED_STREAM, or above a GOAWAY's last-stream-id):
   * RFC 9113 §8.7 says it was not processed, so any method is safe to retry.
   */
  refused: boolean;
  /** Set for a socket reset / closed mid-exchange, or any other stream reset: safe to retry idempotent requests. */
  reset: boolean;
}

/** Maps a network failure from undici to a typed error and a bounded failure reason. */
export function classifyNetworkFailure(pool: string, error: unknown, timeouts: PoolTimeouts): ClassifiedFailure {
  const cause = rootCause(error);
  if (cause instanceof PoolscopeError) return failed(cause, cause.reason ?? 'other');
  switch (codeOf(cause)) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return failed(new PoolTimeoutError(pool, 'connect', timeouts.connectMs, { cause }), 'connect_error', {
        beforeSend: true,
      });
    case 'UND_ERR_HEADERS_TIMEOUT':
      return failed(new PoolTimeoutError(pool, 'headers', timeouts.headersMs, { cause }), 'timeout');
    case 'UND_ERR_BODY_TIMEOUT':
      return failed(new PoolTimeoutError(pool, 'body', timeouts.bodyMs, { cause }), 'timeout');
  }
  // A stream the server reset: REFUSED_STREAM (or refused by a GOAWAY) was never processed; any other code may
  // have been, like a socket reset.
  const resetCode = streamResetCode(cause);
  if (resetCode !== undefined || isRefusedByGoaway(cause)) {
    const refused = resetCode === undefined || resetCode === 'refused_stream';
    return failed(new PoolRequestError(pool, 'other', { cause }), 'other', { refused, reset: !refused });
  }
  const connection = connectionErrorReason(cause);
  if (connection === 'refused' || connection === 'dns' || connection === 'tls' || connection === 'timeout')
    return failed(new PoolConnectError(pool, connection, { cause }), 'connect_error', { beforeSend: true });
  return failed(new PoolRequestError(pool, 'other', { cause }), 'other', { reset: connection === 'reset' });
}

function failed(
  error: Error,
  reason: FailureReason,
  retry: Partial<Pick<ClassifiedFailure, 'beforeSend' | 'refused' | 'reset'>> = {},
): ClassifiedFailure {
  return { error, reason, beforeSend: false, refused: false, reset: false, ...retry };
}

/** The failure reason of a finished HTTP exchange, or undefined for success. */
export function statusFailureReason(status: number): FailureReason | undefined {
  if (status < 400) return undefined;
  if (status === 429) return 'rate_limited';
  return status < 500 ? 'http_4xx' : 'http_5xx';
}
