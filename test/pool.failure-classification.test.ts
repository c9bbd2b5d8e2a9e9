/**
 * How a failure undici reports becomes what the caller gets and what the pool may retry: the error shapes both
 * undici majors and Node's http2 produce, classified one by one. (The wire tests drive the same paths on real
 * sockets; these pin the shapes a single undici version never shows, such as undici 8's `http2ErrorCode`.)
 */
import { describe, expect, it } from 'vitest';
import { PoolConnectError, PoolRequestError, PoolTimeoutError } from '../src/errors/index.js';
import { classifyNetworkFailure, isAbortError, rootCause } from '../src/pool/failure.js';
import { goawayCode, isRefusedByGoaway, streamResetCode } from '../src/pool/http2.js';

const timeouts = { connectMs: 1_000, headersMs: 2_000, bodyMs: 3_000, requestMs: 0, acquireMs: 0 };
const coded = (code: unknown, message = 'failed', cause?: unknown) =>
  Object.assign(new Error(message, cause === undefined ? undefined : { cause }), { code });
/** What undici's fetch rejects with: `TypeError('fetch failed')` around what happened. */
const fetchFailed = (cause: unknown) => new TypeError('fetch failed', { cause });
const classify = (error: unknown) => classifyNetworkFailure('p', error, timeouts);

describe('the root cause of a fetch failure', () => {
  it("is the first coded error under fetch's TypeErrors, not what that error wraps in turn", () => {
    const headers = coded('UND_ERR_HEADERS_TIMEOUT', 'Headers Timeout Error', coded('ECONNRESET'));
    expect(rootCause(fetchFailed(headers))).toBe(headers);
    expect(classify(fetchFailed(headers))).toMatchObject({ reason: 'timeout', reset: false });
    expect(classify(fetchFailed(headers)).error).toMatchObject({ phase: 'headers', limitMs: 2_000 });
  });

  it('stops at a poolscope error, keeping its own reason', () => {
    const typed = new PoolRequestError('p', 'other', { cause: coded('ECONNRESET') });
    expect(rootCause(fetchFailed(typed))).toBe(typed);
    expect(classify(fetchFailed(typed))).toMatchObject({ error: typed, reason: 'other', reset: false });
  });

  it('ends on a cause chain that loops, and on causes that are not errors at all', () => {
    const loop = new TypeError('fetch failed');
    Object.assign(loop, { cause: loop });
    expect(rootCause(loop)).toBe(loop);
    expect(classify(fetchFailed(null)).error).toBeInstanceOf(PoolRequestError);
    expect(classify(fetchFailed(coded(7, 'numeric code'))).reason).toBe('other');
    expect(classify(null)).toMatchObject({ reason: 'other', beforeSend: false, refused: false, reset: false });
  });
});

describe('network failures', () => {
  it.each([
    ['ECONNREFUSED', 'refused'],
    ['ENOTFOUND', 'dns'],
    ['CERT_HAS_EXPIRED', 'tls'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'tls'],
    ['ETIMEDOUT', 'timeout'],
  ])('%s never reached the upstream: a PoolConnectError (%s) any method may retry', (code, reason) => {
    const failure = classify(fetchFailed(coded(code)));
    expect(failure).toMatchObject({ reason: 'connect_error', beforeSend: true, refused: false, reset: false });
    expect(failure.error).toBeInstanceOf(PoolConnectError);
    expect(failure.error).toMatchObject({ reason: 'connect_error', connectionReason: reason });
  });

  it('times the body out as the body phase, with its limit', () => {
    const failure = classify(fetchFailed(coded('UND_ERR_BODY_TIMEOUT')));
    expect(failure.error).toBeInstanceOf(PoolTimeoutError);
    expect(failure.error).toMatchObject({ phase: 'body', limitMs: 3_000 });
    expect(failure).toMatchObject({ reason: 'timeout', beforeSend: false, reset: false });
  });

  it('takes a socket reset as a reset: retried for idempotent methods only', () => {
    expect(classify(fetchFailed(coded('ECONNRESET')))).toMatchObject({ reason: 'other', reset: true, refused: false });
  });

  it('knows an abort by its name or code, and nothing else as one', () => {
    expect(isAbortError(new DOMException('gone', 'AbortError'))).toBe(true);
    expect(isAbortError(coded('UND_ERR_ABORTED'))).toBe(true);
    expect(isAbortError(coded('ABORT_ERR'))).toBe(true);
    expect(isAbortError(new DOMException('late', 'TimeoutError'))).toBe(false);
    expect(isAbortError(null)).toBe(false);
    expect(isAbortError(undefined)).toBe(false);
  });
});

describe('HTTP/2 stream resets', () => {
  const reset = (name: string) => coded('ERR_HTTP2_STREAM_ERROR', `Stream closed with error code NGHTTP2_${name}`);

  it('reads the code from the message Node gives (undici 7) or the number undici 8 adds', () => {
    expect(streamResetCode(reset('REFUSED_STREAM'))).toBe('refused_stream');
    expect(streamResetCode(reset('INTERNAL_ERROR'))).toBe('internal_error');
    expect(streamResetCode(reset('ENHANCE_YOUR_CALM'))).toBe('enhance_your_calm');
    // undici 8: the number wins over the message.
    expect(streamResetCode(Object.assign(reset('CANCEL'), { http2ErrorCode: 7 }))).toBe('refused_stream');
    expect(streamResetCode(Object.assign(reset('CANCEL'), { http2ErrorCode: 0 }))).toBe('no_error');
    expect(streamResetCode(Object.assign(reset('CANCEL'), { http2ErrorCode: 13 }))).toBe('http_1_1_required');
  });

  it('bounds the label: any code it does not know is other', () => {
    for (const http2ErrorCode of [14, 15, 99, -1, 1.5, Number.NaN])
      expect(streamResetCode(Object.assign(reset('CANCEL'), { http2ErrorCode }))).toBe('other');
    expect(streamResetCode(reset('SOMETHING_NEW'))).toBe('other');
    expect(streamResetCode(coded('ERR_HTTP2_STREAM_ERROR', 'no code named here'))).toBe('other');
    expect(streamResetCode(Object.assign(coded('ERR_HTTP2_STREAM_ERROR'), { message: 42 }))).toBe('other');
  });

  it('is no reset for any other error, or for none', () => {
    expect(streamResetCode(coded('ECONNRESET', 'NGHTTP2_REFUSED_STREAM'))).toBeUndefined();
    expect(streamResetCode(null)).toBeUndefined();
    expect(streamResetCode(undefined)).toBeUndefined();
  });

  it('retries a refused stream for any method, and any other reset as a socket reset', () => {
    expect(classify(fetchFailed(reset('REFUSED_STREAM')))).toMatchObject({ refused: true, reset: false });
    expect(classify(fetchFailed(reset('INTERNAL_ERROR')))).toMatchObject({ refused: false, reset: true });
    expect(classify(fetchFailed(reset('CANCEL'))).error).toBeInstanceOf(PoolRequestError);
  });
});

describe('GOAWAY', () => {
  const goaway = (code: string, n: number) => coded(code, `HTTP/2: "GOAWAY" frame received with code ${n}`);

  it('reads its code from the message undici ends the session with', () => {
    expect(goawayCode(goaway('UND_ERR_SOCKET', 0))).toBe('no_error');
    expect(goawayCode(goaway('UND_ERR_INFO', 11))).toBe('enhance_your_calm');
    expect(goawayCode(goaway('UND_ERR_SOCKET', 77))).toBe('other');
    expect(goawayCode(coded('UND_ERR_SOCKET', 'other side closed'))).toBeUndefined();
    expect(goawayCode(Object.assign(new Error(), { message: undefined }))).toBeUndefined();
    expect(goawayCode(null)).toBeUndefined();
  });

  it("takes undici 8's graceful GOAWAY error as a refusal (never processed); undici 7's as a reset", () => {
    expect(isRefusedByGoaway(goaway('UND_ERR_INFO', 0))).toBe(true);
    expect(isRefusedByGoaway(goaway('UND_ERR_SOCKET', 0))).toBe(false);
    expect(isRefusedByGoaway(coded('UND_ERR_INFO', 'something else'))).toBe(false);
    expect(isRefusedByGoaway(null)).toBe(false);
    expect(classify(fetchFailed(goaway('UND_ERR_INFO', 0)))).toMatchObject({ refused: true, reset: false });
    expect(classify(fetchFailed(goaway('UND_ERR_SOCKET', 0)))).toMatchObject({ refused: false, reset: true });
  });
});
