import type { Registry } from 'prom-client';
import { PoolConfigError } from '../errors/index.js';
import { resolveFleetOptions, type FleetOptions, type ResolvedFleetOptions } from '../fleet/options.js';
import { integer, operationNames, poolName } from './validate.js';

/** Phase timeouts, set on the undici dispatcher itself (not only an AbortController). `0` disables one. */
export interface PoolTimeouts {
  /** Longest time to establish a TCP (+TLS) connection. */
  connectMs: number;
  /** Longest wait for response headers once the request is sent (undici's `headersTimeout`, 300 s by default there). */
  headersMs: number;
  /** Longest idle gap between two body chunks (undici's `bodyTimeout`); a stalled stream fails instead of hanging. */
  bodyMs: number;
  /** Longest wait in the pool's queue for a concurrency slot; beyond it `PoolAcquireTimeoutError`. */
  acquireMs: number;
  /**
   * Overall deadline from slot acquired to response body fully read, retries included. It is also what frees
   * the slot of a response whose body nobody reads or cancels. `0` disables it (long SSE streams).
   */
  requestMs: number;
}

export interface RetryOptions {
  /** Retries after the first attempt; `0` disables retrying. */
  maxRetries: number;
  /** First backoff step; doubles each retry, with full jitter. */
  baseDelayMs: number;
  /** Cap of one backoff step. */
  maxDelayMs: number;
  /** Total time a request may spend waiting between retries; a `Retry-After` beyond what is left is not waited for. */
  budgetMs: number;
  /** Response statuses worth retrying. Default [429, 503]; 429 is retried for any method. */
  statuses: readonly number[];
  /**
   * Retry non-idempotent requests (POST, PATCH) on retryable statuses and socket resets too. Off by default;
   * on for APIs whose POSTs are safe to repeat (OpenAI completions, Pinecone query/upsert), so the pool,
   * not the SDK, owns every retry.
   */
  nonIdempotent: boolean;
  /**
   * Failures a caller retries by itself and cannot be told not to (postgrest-js retries GET/HEAD/OPTIONS on
   * network errors and 503/520): the pool leaves exactly those to it, so nothing is retried twice. Unset: none.
   */
  leaveToCaller?: CallerRetries;
}

/** What a caller (an SDK) retries on its own: these methods, on these statuses and, if set, on network errors. */
export interface CallerRetries {
  methods: readonly string[];
  statuses: readonly number[];
  networkErrors: boolean;
}

/** What an operation classifier sees of a request: never the body. Use headers only to pick a bounded name. */
export interface RequestDescriptor {
  method: string;
  url: URL;
  header(name: string): string | null;
}

export interface TlsOptions {
  /** Extra CA certificates to trust (PEM), e.g. a self-signed upstream in tests. */
  ca?: string | Buffer | Array<string | Buffer>;
  rejectUnauthorized?: boolean;
  servername?: string;
}

export interface PoolOptions {
  /** Becomes the `pool` label: `[a-z][a-z0-9_]*`. */
  name: string;
  /** `http(s)://host[:port]`, no path, no credentials. */
  origin: string | URL;
  /** Max sockets to the origin. Default 10. */
  connections?: number;
  /** How long an idle keep-alive socket is kept. Default 4000: below the 5 s idle timeout of Node servers and most proxies, so we close first. */
  keepAliveTimeoutMs?: number;
  /** Negotiate HTTP/2 over TLS (ALPN). Default false. */
  allowH2?: boolean;
  /** Requests in flight at once. Default: `connections`. */
  maxConcurrent?: number;
  /** Requests allowed to wait for a slot; beyond it `PoolQueueFullError`. Default 1000. */
  maxQueued?: number;
  timeouts?: Partial<PoolTimeouts>;
  /** Retry policy, or `false` for none. */
  retry?: Partial<RetryOptions> | false;
  /** prom-client registry to record into. Default: poolscope's own `registry`. */
  registry?: Registry;
  /** Operation names declared up front; they never fold into `other`. */
  operations?: readonly string[];
  /** Distinct undeclared operation names kept before the rest fold into `other`. Default 50. */
  maxOperations?: number;
  /** Names a `pool.fetch` request's operation. Default: the lowercased HTTP method. */
  operationOf?: (request: RequestDescriptor) => string;
  /** Requests kept for the stats snapshot's average and percentiles. Default 1000 (the window `DatabasePool.getStats()` averages over). */
  statsWindowSize?: number;
  tls?: TlsOptions;
  /**
   * A fleet-wide cap in Redis, shared by every process whose pool names the same key: a request takes its local
   * slot, then a lease, and gives both back when its body ends. See docs/fleet.md.
   */
  fleet?: FleetOptions;
}

export interface ResolvedPoolOptions {
  name: string;
  origin: string;
  connections: number;
  keepAliveTimeoutMs: number;
  allowH2: boolean;
  maxConcurrent: number;
  maxQueued: number;
  timeouts: PoolTimeouts;
  retry: RetryOptions;
  registry: Registry | undefined;
  operations: readonly string[];
  maxOperations: number;
  operationOf: ((request: RequestDescriptor) => string) | undefined;
  statsWindowSize: number;
  tls: TlsOptions | undefined;
  fleet: ResolvedFleetOptions | undefined;
}

export const POOL_DEFAULTS = {
  connections: 10,
  keepAliveTimeoutMs: 4_000,
  allowH2: false,
  maxQueued: 1_000,
  maxOperations: 50,
  statsWindowSize: 1_000,
  timeouts: { connectMs: 10_000, headersMs: 60_000, bodyMs: 60_000, acquireMs: 5_000, requestMs: 120_000 },
  retry: {
    maxRetries: 2,
    baseDelayMs: 100,
    maxDelayMs: 2_000,
    budgetMs: 10_000,
    statuses: [429, 503],
    nonIdempotent: false,
  },
} as const satisfies {
  connections: number;
  keepAliveTimeoutMs: number;
  allowH2: boolean;
  maxQueued: number;
  maxOperations: number;
  statsWindowSize: number;
  timeouts: PoolTimeouts;
  retry: RetryOptions;
};

/** Validates options and fills in defaults. Throws `PoolConfigError` naming the first option at fault. */
export function resolvePoolOptions(options: PoolOptions): ResolvedPoolOptions {
  if (options === null || typeof options !== 'object') throw new PoolConfigError('options', 'must be an object');
  const name = poolName(options.name);
  rejectUnknown(options, POOL_OPTION_NAMES, '', name);
  if (options.timeouts !== undefined) rejectUnknown(options.timeouts, TIMEOUT_NAMES, 'timeouts.', name);
  if (options.retry !== undefined && options.retry !== false) rejectUnknown(options.retry, RETRY_NAMES, 'retry.', name);
  const origin = resolveOrigin(options.origin, name);
  const connections = integer(options.connections, POOL_DEFAULTS.connections, 'connections', name, 1);
  const timeouts: PoolTimeouts = {
    connectMs: integer(options.timeouts?.connectMs, POOL_DEFAULTS.timeouts.connectMs, 'timeouts.connectMs', name, 0),
    headersMs: integer(options.timeouts?.headersMs, POOL_DEFAULTS.timeouts.headersMs, 'timeouts.headersMs', name, 0),
    bodyMs: integer(options.timeouts?.bodyMs, POOL_DEFAULTS.timeouts.bodyMs, 'timeouts.bodyMs', name, 0),
    acquireMs: integer(options.timeouts?.acquireMs, POOL_DEFAULTS.timeouts.acquireMs, 'timeouts.acquireMs', name, 0),
    requestMs: integer(options.timeouts?.requestMs, POOL_DEFAULTS.timeouts.requestMs, 'timeouts.requestMs', name, 0),
  };
  const retryInput = options.retry === false ? { maxRetries: 0 } : (options.retry ?? {});
  const retry: RetryOptions = {
    maxRetries: integer(retryInput.maxRetries, POOL_DEFAULTS.retry.maxRetries, 'retry.maxRetries', name, 0),
    baseDelayMs: integer(retryInput.baseDelayMs, POOL_DEFAULTS.retry.baseDelayMs, 'retry.baseDelayMs', name, 0),
    maxDelayMs: integer(retryInput.maxDelayMs, POOL_DEFAULTS.retry.maxDelayMs, 'retry.maxDelayMs', name, 0),
    budgetMs: integer(retryInput.budgetMs, POOL_DEFAULTS.retry.budgetMs, 'retry.budgetMs', name, 0),
    statuses: statusList(retryInput.statuses, name),
    nonIdempotent: retryInput.nonIdempotent ?? POOL_DEFAULTS.retry.nonIdempotent,
  };
  if (typeof retry.nonIdempotent !== 'boolean')
    throw new PoolConfigError('retry.nonIdempotent', 'must be a boolean', name);
  if (retryInput.leaveToCaller !== undefined) retry.leaveToCaller = callerRetries(retryInput.leaveToCaller, name);
  if (options.operationOf !== undefined && typeof options.operationOf !== 'function') {
    throw new PoolConfigError('operationOf', 'must be a function', name);
  }
  const operations = operationNames(options.operations, name);
  if (options.allowH2 !== undefined && typeof options.allowH2 !== 'boolean') {
    throw new PoolConfigError('allowH2', 'must be a boolean', name);
  }
  return {
    name,
    origin,
    connections,
    keepAliveTimeoutMs: integer(
      options.keepAliveTimeoutMs,
      POOL_DEFAULTS.keepAliveTimeoutMs,
      'keepAliveTimeoutMs',
      name,
      1,
    ),
    allowH2: options.allowH2 ?? POOL_DEFAULTS.allowH2,
    maxConcurrent: integer(options.maxConcurrent, connections, 'maxConcurrent', name, 1),
    maxQueued: integer(options.maxQueued, POOL_DEFAULTS.maxQueued, 'maxQueued', name, 0),
    timeouts,
    retry,
    registry: options.registry,
    operations,
    maxOperations: integer(options.maxOperations, POOL_DEFAULTS.maxOperations, 'maxOperations', name, 1),
    operationOf: options.operationOf,
    statsWindowSize: integer(options.statsWindowSize, POOL_DEFAULTS.statsWindowSize, 'statsWindowSize', name, 1),
    tls: options.tls,
    fleet: resolveFleetOptions(options.fleet, name, true),
  };
}

// Every option `createPool` knows: a typo (`maxQueue`) or an option of a newer version is refused, not ignored.
const POOL_OPTION_NAMES = new Set<string>([
  'name',
  'origin',
  'connections',
  'keepAliveTimeoutMs',
  'allowH2',
  'maxConcurrent',
  'maxQueued',
  'timeouts',
  'retry',
  'registry',
  'operations',
  'maxOperations',
  'operationOf',
  'statsWindowSize',
  'tls',
  'fleet',
] satisfies Array<keyof PoolOptions>);
const TIMEOUT_NAMES = new Set<string>(['connectMs', 'headersMs', 'bodyMs', 'acquireMs', 'requestMs'] satisfies Array<
  keyof PoolTimeouts
>);
const RETRY_NAMES = new Set<string>([
  'maxRetries',
  'baseDelayMs',
  'maxDelayMs',
  'budgetMs',
  'statuses',
  'nonIdempotent',
  'leaveToCaller',
] satisfies Array<keyof RetryOptions>);

function rejectUnknown(value: object, known: ReadonlySet<string>, prefix: string, pool: string): void {
  if (value === null || typeof value !== 'object')
    throw new PoolConfigError(prefix.slice(0, -1) || 'options', 'must be an object', pool);
  for (const key of Object.keys(value)) {
    if (!known.has(key))
      throw new PoolConfigError(
        `${prefix}${key}`,
        `is not an option of createPool (known: ${[...known].join(', ')})`,
        pool,
      );
  }
}

function callerRetries(value: CallerRetries, pool: string): CallerRetries {
  const { methods, statuses, networkErrors } = value ?? ({} as CallerRetries);
  if (!Array.isArray(methods) || !methods.every((m) => typeof m === 'string' && /^[A-Z]+$/.test(m))) {
    throw new PoolConfigError('retry.leaveToCaller.methods', 'must be a list of upper-case HTTP methods', pool);
  }
  if (!isErrorStatusList(statuses))
    throw new PoolConfigError('retry.leaveToCaller.statuses', ERROR_STATUS_LIST_PROBLEM, pool);
  if (typeof networkErrors !== 'boolean')
    throw new PoolConfigError('retry.leaveToCaller.networkErrors', 'must be a boolean', pool);
  return { methods: [...methods], statuses: [...statuses], networkErrors };
}

function statusList(value: readonly number[] | undefined, pool: string): readonly number[] {
  if (value === undefined) return POOL_DEFAULTS.retry.statuses;
  if (!isErrorStatusList(value)) throw new PoolConfigError('retry.statuses', ERROR_STATUS_LIST_PROBLEM, pool);
  return value;
}

const ERROR_STATUS_LIST_PROBLEM = 'must be a list of HTTP status codes between 400 and 599';

function isErrorStatusList(value: unknown): value is readonly number[] {
  return Array.isArray(value) && value.every((s) => Number.isInteger(s) && s >= 400 && s <= 599);
}

function resolveOrigin(value: unknown, pool: string): string {
  let url: URL;
  try {
    url = value instanceof URL ? value : new URL(String(value));
  } catch {
    throw new PoolConfigError('origin', 'must be an absolute http(s) URL such as https://api.example.com', pool);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new PoolConfigError('origin', 'must use http: or https:', pool);
  }
  if (url.username || url.password) {
    throw new PoolConfigError('origin', 'must not carry credentials; pass them as headers', pool);
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    throw new PoolConfigError('origin', 'must be an origin only (no path, query or fragment)', pool);
  }
  return url.origin;
}
