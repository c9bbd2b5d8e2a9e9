import { PoolConfigError } from '../errors/index.js';
import type { PoolOptions } from '../pool/options.js';
import { integer } from '../pool/validate.js';
import type { PgPoolOptions } from '../postgres/index.js';
import type { UpstreamPoolOptions } from './create-clients.js';
import type { PoolManagerConfig, OpenAIPoolConfig } from './types.js';

/** Which pool `DatabasePool` stands for: Supabase's REST pool, or the direct Postgres pool when only DATABASE_URL is set. */
export type DatabaseTarget = 'supabase' | 'postgres';

const DATABASE_SETTINGS = [
  'maxConnections',
  'minConnections',
  'connectionTimeout',
  'idleTimeout',
  'maxRetries',
  'retryDelay',
] as const;
const OPENAI_SETTINGS = ['maxConcurrentRequests', 'requestTimeout', 'maxRetries', 'retryDelay', 'timeout'] as const;

/**
 * `DatabasePool.initialize(settings)` → pool options for `createClients`, validated now: `PoolConfigError` names
 * the first bad setting. An HTTP pool keeps no connections open when idle and a SQL pool retries nothing, so
 * `minConnections` (Supabase) and `maxRetries`/`retryDelay` (Postgres) accept only 0 there.
 */
export function databaseInitializeOptions(
  settings: Partial<PoolManagerConfig>,
  target: DatabaseTarget,
): UpstreamPoolOptions {
  const s = known(settings, DATABASE_SETTINGS, 'DatabasePool.initialize');
  const setting = (key: (typeof DATABASE_SETTINGS)[number], min: number) =>
    s[key] === undefined ? undefined : integer(s[key], 0, key, target, min);
  const max = setting('maxConnections', 1);
  const min = setting('minConnections', 0);
  const connectMs = setting('connectionTimeout', 0);
  const idleMs = setting('idleTimeout', 1);
  const maxRetries = setting('maxRetries', 0);
  const retryDelay = setting('retryDelay', 0);
  if (target === 'postgres') {
    for (const [key, value] of [
      ['maxRetries', maxRetries],
      ['retryDelay', retryDelay],
    ] as const) {
      if (value !== undefined && value !== 0) {
        throw new PoolConfigError(
          key,
          'pg has no retries and poolscope adds none to SQL (a repeated write is not always safe): only 0 applies',
          target,
        );
      }
    }
    const postgres: Partial<PgPoolOptions> = {
      ...(max !== undefined && { max }),
      ...(min !== undefined && { min }),
      ...(connectMs !== undefined && { connectionTimeoutMs: connectMs }),
      ...(idleMs !== undefined && { idleTimeoutMs: idleMs }),
    };
    return { postgres };
  }
  if (min !== undefined && min !== 0) {
    throw new PoolConfigError(
      'minConnections',
      'undici opens HTTP sockets on demand and keeps none open when idle: only 0 applies',
      target,
    );
  }
  const supabase: Partial<PoolOptions> = {
    ...(max !== undefined && { connections: max, maxConcurrent: max }),
    ...(connectMs !== undefined && { timeouts: { connectMs } }),
    ...(idleMs !== undefined && { keepAliveTimeoutMs: idleMs }),
    ...((maxRetries !== undefined || retryDelay !== undefined) && {
      retry: {
        ...(maxRetries !== undefined && { maxRetries }),
        ...(retryDelay !== undefined && { baseDelayMs: retryDelay }),
      },
    }),
  };
  return { supabase };
}

/** `OpenAIPool.initialize(settings)` → the OpenAI pool's options and the SDK's overall timeout, validated now. */
export function openaiInitializeOptions(settings: Partial<OpenAIPoolConfig>): {
  openai: Partial<PoolOptions>;
  timeoutMs?: number;
} {
  const s = known(settings, OPENAI_SETTINGS, 'OpenAIPool.initialize');
  const setting = (key: (typeof OPENAI_SETTINGS)[number], min: number) =>
    s[key] === undefined ? undefined : integer(s[key], 0, key, 'openai', min);
  const maxConcurrent = setting('maxConcurrentRequests', 1);
  const headersMs = setting('requestTimeout', 0);
  const maxRetries = setting('maxRetries', 0);
  const retryDelay = setting('retryDelay', 0);
  const timeoutMs = setting('timeout', 0);
  return {
    openai: {
      ...(maxConcurrent !== undefined && { maxConcurrent }),
      ...(headersMs !== undefined && { timeouts: { headersMs } }),
      ...((maxRetries !== undefined || retryDelay !== undefined) && {
        retry: {
          ...(maxRetries !== undefined && { maxRetries }),
          ...(retryDelay !== undefined && { baseDelayMs: retryDelay }),
        },
      }),
    },
    ...(timeoutMs !== undefined && { timeoutMs }),
  };
}

/**
 * On a live pool nothing is resized under running requests: each given setting must equal the live value, or
 * `PoolConfigError` names it and says `problem` (by default: when to call `initialize()`).
 */
export function assertUnchanged<C extends object>(
  settings: Partial<C>,
  live: C,
  facade: string,
  pool: string,
  problem = `cannot change once the pool is live (poolscope's clients are built at their first use): call ${facade}.initialize() before that, or set it in the environment`,
): void {
  for (const [key, value] of Object.entries(settings)) {
    if (value === undefined || (live as Record<string, unknown>)[key] === value) continue;
    throw new PoolConfigError(key, problem, pool);
  }
}

function known<K extends string>(settings: unknown, keys: readonly K[], where: string): Partial<Record<K, unknown>> {
  if (settings === null || typeof settings !== 'object')
    throw new PoolConfigError(where, 'takes an object of settings');
  for (const key of Object.keys(settings)) {
    if (!(keys as readonly string[]).includes(key))
      throw new PoolConfigError(key, `is not a ${where} setting (known: ${keys.join(', ')})`);
  }
  return settings as Partial<Record<K, unknown>>;
}
