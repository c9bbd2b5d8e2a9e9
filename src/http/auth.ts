import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { sendError } from './errors.js';

const REALM = 'Bearer realm="poolscope"';

/**
 * Bearer-token check. Both sides are hashed first so `timingSafeEqual` compares equal-length digests: the
 * comparison takes the same time whatever the token's length or how much of it matches.
 *
 * With no token configured every protected route fails closed (503) rather than opening up.
 */
export function bearerAuth(token: string | undefined): RequestHandler {
  const expected = token === undefined || token === '' ? undefined : digest(token);
  return (req, res, next) => {
    if (expected === undefined) {
      sendError(
        res,
        503,
        'MONITORING_TOKEN_NOT_SET',
        'This route needs a bearer token and none is configured: set MONITORING_TOKEN (or the router\'s "token" option)',
      );
      return;
    }
    const presented = bearerToken(req.get('authorization'));
    if (presented === undefined) {
      res.set('WWW-Authenticate', REALM);
      sendError(res, 401, 'UNAUTHORIZED', 'Missing bearer token: send "Authorization: Bearer <MONITORING_TOKEN>"');
      return;
    }
    if (!timingSafeEqual(digest(presented), expected)) {
      res.set('WWW-Authenticate', `${REALM}, error="invalid_token"`);
      sendError(res, 401, 'UNAUTHORIZED', 'Invalid bearer token');
      return;
    }
    next();
  };
}

/** The token of an `Authorization: Bearer <token>` header (scheme case-insensitive, RFC 6750). */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match?.[1];
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
