import {
  PoolConnectError,
  PoolRequestError,
  PoolTimeoutError,
  PoolscopeError,
  type ConnectionErrorReason,
  type FailureReason,
} from '../errors/index.js';
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
  /** Set for a socket reset / closed mid-exchange: safe to retry idempotent requests. */
  reset: boolean;
}

/** Maps a network failure from undici to a typed error and a bounded failure reason. */
export function classifyNetworkFailure(pool: string, error: unknown, timeouts: PoolTimeouts): ClassifiedFailure {
  const cause = rootCause(error);
  if (cause instanceof PoolscopeError) {
    const reason = cause.reason ?? 'other';
    return { error: cause, reason, beforeSend: false, reset: false };
  }
  switch (codeOf(cause)) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return {
        error: new PoolTimeoutError(pool, 'connect', timeouts.connectMs, { cause }),
        reason: 'connect_error',
        beforeSend: true,
        reset: false,
      };
    case 'UND_ERR_HEADERS_TIMEOUT':
      return {
        error: new PoolTimeoutError(pool, 'headers', timeouts.headersMs, { cause }),
        reason: 'timeout',
        beforeSend: false,
        reset: false,
      };
    case 'UND_ERR_BODY_TIMEOUT':
      return {
        error: new PoolTimeoutError(pool, 'body', timeouts.bodyMs, { cause }),
        reason: 'timeout',
        beforeSend: false,
        reset: false,
      };
  }
  const connection = connectionErrorReason(cause);
  if (connection === 'refused' || connection === 'dns' || connection === 'tls' || connection === 'timeout') {
    return {
      error: new PoolConnectError(pool, connection, { cause }),
      reason: 'connect_error',
      beforeSend: true,
      reset: false,
    };
  }
  if (connection === 'reset') {
    return { error: new PoolRequestError(pool, 'other', { cause }), reason: 'other', beforeSend: false, reset: true };
  }
  return { error: new PoolRequestError(pool, 'other', { cause }), reason: 'other', beforeSend: false, reset: false };
}

/** The failure reason of a finished HTTP exchange, or undefined for success. */
export function statusFailureReason(status: number): FailureReason | undefined {
  if (status < 400) return undefined;
  if (status === 429) return 'rate_limited';
  return status < 500 ? 'http_4xx' : 'http_5xx';
}
