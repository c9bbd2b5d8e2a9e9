import { brand } from './brand.js';
import { PoolscopeError } from './poolscope-error.js';

/** The service could not listen on HOST:PORT (port in use, not allowed, no such address). */
export class ServiceListenError extends PoolscopeError {
  static {
    brand(this, 'ServiceListenError');
  }

  readonly code = 'POOLSCOPE_LISTEN_FAILED';
  constructor(
    readonly host: string,
    readonly port: number,
    /** The system error code: `EADDRINUSE`, `EACCES`, `EADDRNOTAVAIL`... */
    readonly systemCode: string,
    options?: { cause?: unknown },
  ) {
    super(`Cannot listen on ${host}:${port}: ${explain(systemCode, port)}`, undefined, options);
  }
}

function explain(code: string, port: number): string {
  switch (code) {
    case 'EADDRINUSE':
      return `port ${port} is already in use (set PORT or --port to a free port)`;
    case 'EACCES':
      return `not allowed to use port ${port} (ports below 1024 need privileges; set PORT or --port)`;
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return 'this machine has no such address (set HOST or --host)';
    default:
      return `listen failed (${code})`;
  }
}
