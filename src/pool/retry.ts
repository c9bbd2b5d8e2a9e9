import type { RetryOptions } from './options.js';

/**
 * Every `reason` of `poolscope_request_retries_total`; each pool exports all of them from 0. `refused_stream`: an
 * HTTP/2 stream the server refused, so never processed (any method). `sdk`: a retry an SDK made itself where it
 * cannot be switched off (postgrest-js marks them `X-Retry-Count`).
 */
export const RETRY_REASONS = [
  'connect_error',
  'refused_stream',
  'reset',
  'rate_limited',
  'unavailable',
  'server_error',
  'sdk',
] as const;
export type RetryReason = (typeof RETRY_REASONS)[number];

const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

export function isIdempotent(method: string): boolean {
  return IDEMPOTENT_METHODS.has(method);
}

/** Full-jitter exponential backoff: uniform in [0, min(maxDelay, base·2^attempt)). */
export function backoffMs(retry: RetryOptions, attempt: number): number {
  return Math.random() * Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** attempt);
}

/**
 * The wait an upstream asked for: OpenAI's `retry-after-ms`, else `Retry-After` in seconds or as an
 * HTTP date. Undefined when absent or unparseable.
 */
export function retryAfterMs(
  headers: { get(name: string): string | null },
  nowMs: number = Date.now(),
): number | undefined {
  const ms = headers.get('retry-after-ms');
  if (ms !== null && ms.trim() !== '' && Number.isFinite(Number(ms)) && Number(ms) >= 0) return Number(ms);
  const value = headers.get('retry-after');
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/** Does the caller retry this failure (a status, or `network` for a failed connection or reset) itself? */
export function isLeftToCaller(retry: RetryOptions, method: string, failure: number | 'network'): boolean {
  const caller = retry.leaveToCaller;
  if (!caller || !caller.methods.includes(method)) return false;
  return failure === 'network' ? caller.networkErrors : caller.statuses.includes(failure);
}

/**
 * Should a response with this status be retried? 429 always (nothing was processed); another listed status
 * when the method is idempotent, the policy allows non-idempotent retries, or the upstream sent Retry-After.
 */
export function retryReasonForStatus(
  retry: RetryOptions,
  status: number,
  method: string,
  hasRetryAfter: boolean,
): RetryReason | undefined {
  if (!retry.statuses.includes(status) || isLeftToCaller(retry, method, status)) return undefined;
  if (status === 429) return 'rate_limited';
  if (!(hasRetryAfter || retry.nonIdempotent || isIdempotent(method))) return undefined;
  return status === 503 ? 'unavailable' : 'server_error';
}
