import { redactUrl } from '../config/redact.js';
import { PoolConfigError } from '../errors/index.js';
import { integer } from '../pool/validate.js';
import type { FleetRedisClient } from './redis.js';

/** What happens to a request while Redis cannot be reached. */
export type FleetUnavailablePolicy = 'local' | 'reject';

/** Where the fleet budget logs Redis becoming unreachable and reachable again: pino's `warn(obj, msg)` fits. */
export interface FleetLogger {
  warn(obj: Record<string, unknown>, msg: string): void;
  info?(obj: Record<string, unknown>, msg: string): void;
}

/**
 * A fleet-wide budget shared through Redis by every process whose pool names the same `key`: a concurrency cap
 * (a request holds a lease for as long as it holds its local slot, and the fleet never holds more than
 * `maxConcurrent` leases at once), a tokens-per-minute budget, or both.
 */
export interface FleetOptions {
  /**
   * A Redis URL (`redis://`, `rediss://`), or an ioredis client the app owns (poolscope never closes it, only the
   * `duplicate()` it opens to listen for released leases).
   */
  redis: string | FleetRedisClient;
  /** Names the shared budget: every process whose pool uses this key shares one cap. Default: the pool name. */
  key?: string;
  /** Requests in flight at once across every process sharing the key. Required unless `tokensPerMinute` is set. */
  maxConcurrent?: number;
  /**
   * Tokens the fleet may spend per minute (an HTTP pool whose responses report usage: the OpenAI pool of
   * `createClients` counts each response's `usage`, any other app calls `pool.recordTokens()`). A request waits
   * while the fleet's current minute has none left, and the whole fleet pauses when the upstream answers
   * `x-ratelimit-remaining-tokens: 0`, until its `x-ratelimit-reset-tokens`.
   */
  tokensPerMinute?: number;
  /**
   * A lease not renewed for this long expires, so a process that dies cannot hold the fleet's budget forever.
   * Held leases are renewed every `leaseMs / 3`. Keep it well above host clock differences. Default 10000.
   */
  leaseMs?: number;
  /**
   * While Redis is unreachable: `local` (default) runs requests under the local bound alone, counted in
   * `poolscope_fleet_errors_total{reason="unavailable"}` and logged once per transition; `reject` fails them
   * at once with `PoolFleetUnavailableError`.
   */
  onUnavailable?: FleetUnavailablePolicy;
  /** Default: `console.warn`. */
  logger?: FleetLogger;
}

export interface ResolvedFleetOptions {
  redis: string | FleetRedisClient;
  key: string;
  maxConcurrent: number | undefined;
  tokensPerMinute: number | undefined;
  leaseMs: number;
  onUnavailable: FleetUnavailablePolicy;
  logger: FleetLogger;
}

export const FLEET_DEFAULTS = { leaseMs: 10_000, onUnavailable: 'local' } as const;

const FLEET_OPTION_NAMES = new Set<string>([
  'redis',
  'key',
  'maxConcurrent',
  'tokensPerMinute',
  'leaseMs',
  'onUnavailable',
  'logger',
] satisfies Array<keyof FleetOptions>);

const defaultLogger: FleetLogger = {
  warn(obj, msg) {
    console.warn(`[poolscope] ${msg}`, obj);
  },
};

/**
 * Validates `fleet` of a pool's options. Throws `PoolConfigError` naming `fleet.<option>`. `countsTokens`: the
 * pool can be told of tokens spent (HTTP pools; a database pool has none).
 */
export function resolveFleetOptions(
  value: FleetOptions | undefined,
  pool: string,
  countsTokens: boolean,
): ResolvedFleetOptions | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object') throw new PoolConfigError('fleet', 'must be an object', pool);
  for (const key of Object.keys(value)) {
    if (!FLEET_OPTION_NAMES.has(key))
      throw new PoolConfigError(
        `fleet.${key}`,
        `is not a fleet option (known: ${[...FLEET_OPTION_NAMES].join(', ')})`,
        pool,
      );
  }
  const { redis } = value;
  if (typeof redis === 'string') {
    // Checked without echoing the value: a Redis URL may carry a password.
    if (!URL.canParse(redis) || !/^rediss?:$/.test(new URL(redis).protocol)) {
      throw new PoolConfigError('fleet.redis', 'must be a redis:// or rediss:// URL, or an ioredis client', pool);
    }
  } else if (
    redis === null ||
    typeof redis !== 'object' ||
    typeof (redis as { evalsha?: unknown }).evalsha !== 'function'
  ) {
    throw new PoolConfigError('fleet.redis', 'must be a redis:// or rediss:// URL, or an ioredis client', pool);
  }
  const key = value.key ?? pool;
  if (typeof key !== 'string' || !/^[A-Za-z0-9_.:-]{1,128}$/.test(key)) {
    throw new PoolConfigError('fleet.key', 'must be 1-128 characters of letters, digits, _ . : -', pool);
  }
  if (value.tokensPerMinute !== undefined && !countsTokens)
    throw new PoolConfigError('fleet.tokensPerMinute', 'is for HTTP pools whose responses report tokens', pool);
  if (value.maxConcurrent === undefined && value.tokensPerMinute === undefined)
    throw new PoolConfigError(
      'fleet.maxConcurrent',
      'is required unless fleet.tokensPerMinute is set: the fleet-wide cap',
      pool,
    );
  const onUnavailable = value.onUnavailable ?? FLEET_DEFAULTS.onUnavailable;
  if (onUnavailable !== 'local' && onUnavailable !== 'reject')
    throw new PoolConfigError('fleet.onUnavailable', "must be 'local' or 'reject'", pool);
  const logger = value.logger ?? defaultLogger;
  if (typeof logger?.warn !== 'function')
    throw new PoolConfigError('fleet.logger', 'must have a warn(obj, msg) method', pool);
  return {
    redis,
    key,
    maxConcurrent: optionalInteger(value.maxConcurrent, 'fleet.maxConcurrent', pool),
    tokensPerMinute: optionalInteger(value.tokensPerMinute, 'fleet.tokensPerMinute', pool),
    // Renewals every leaseMs / 3 need a few milliseconds of room.
    leaseMs: integer(value.leaseMs, FLEET_DEFAULTS.leaseMs, 'fleet.leaseMs', pool, 30),
    onUnavailable,
    logger,
  };
}

function optionalInteger(value: number | undefined, option: string, pool: string): number | undefined {
  return value === undefined ? undefined : integer(value, 0, option, pool, 1);
}

/**
 * The fleet options as a pool shows them in its `options`: a URL with its password replaced by `***`, a client
 * by a name, so a logged or serialised `pool.options` carries no secret.
 */
export function describeFleetOptions(fleet: ResolvedFleetOptions | undefined): ResolvedFleetOptions | undefined {
  return fleet && { ...fleet, redis: typeof fleet.redis === 'string' ? redactUrl(fleet.redis) : 'an ioredis client' };
}
