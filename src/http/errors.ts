import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';

/** The body of every error the monitoring surface sends: a stable `code` to switch on, a message for people. */
export interface ErrorBody {
  error: { code: string; message: string };
}

/** Stable codes of the errors the routes answer with. */
export type HttpErrorCode =
  | 'UNAUTHORIZED'
  | 'MONITORING_TOKEN_NOT_SET'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'NOT_CONFIGURED'
  | 'BAD_REQUEST'
  | 'INTERNAL_ERROR';

export function sendError(res: Response, status: number, code: HttpErrorCode | string, message: string): void {
  const body: ErrorBody = { error: { code, message } };
  res.status(status).set('Cache-Control', 'no-store').json(body);
}

/** Unknown routes under the router's own prefixes: JSON, never Express' HTML page. */
export const notFound: RequestHandler = (req, res) => {
  sendError(res, 404, 'NOT_FOUND', `No route for ${req.method} ${req.originalUrl.split('?')[0] ?? ''}`);
};

/** A known path asked with a method it does not serve. */
export function methodNotAllowed(allowed: readonly string[]): RequestHandler {
  const allow = allowed.join(', ');
  return (req, res) => {
    res.set('Allow', allow);
    sendError(res, 405, 'METHOD_NOT_ALLOWED', `${req.method} is not allowed here; use ${allow}`);
  };
}

/**
 * The last word on errors: 4xx keep their status with a generic message (body parsers' messages can echo
 * input), everything else is a 500 whose details go to the log only, never to the client.
 */
export function errorHandler(logger?: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const status = statusOf(error);
    if (status >= 400 && status < 500) {
      sendError(
        res,
        status,
        status === 404 ? 'NOT_FOUND' : 'BAD_REQUEST',
        `The request could not be handled (HTTP ${status})`,
      );
      return;
    }
    logger?.error({ err: error, method: req.method, path: req.path }, 'monitoring route failed');
    sendError(res, 500, 'INTERNAL_ERROR', 'Internal error; see the service log');
  };
}

function statusOf(error: unknown): number {
  if (typeof error !== 'object' || error === null) return 500;
  const { status, statusCode } = error as { status?: unknown; statusCode?: unknown };
  const value = typeof status === 'number' ? status : typeof statusCode === 'number' ? statusCode : 500;
  return Number.isInteger(value) && value >= 400 && value <= 599 ? value : 500;
}
