/**
 * Config sections → `PoolOptions`. The variables come from Python clients (httpx for Supabase,
 * urllib3 for Pinecone); undici's knobs differ, so each mapping below says what survives.
 * docs/configuration.md has the full table.
 */
import { PoolConfigError } from '../errors/index.js';
import type { PoolOptions, PoolTimeouts } from '../pool/options.js';
import type { FleetLogger, FleetOptions } from '../fleet/options.js';
import type { FleetConfig, OpenAIConfig, PineconeConfig, SupabaseConfig } from './types.js';

/** httpx's reference setup connects within 10 s whatever the overall timeout. */
const CONNECT_TIMEOUT_CAP_MS = 10_000;
/** Keep-alive off: an idle socket closes about as soon as its response is read. */
const KEEP_ALIVE_OFF_MS = 1;

const toMs = (seconds: number): number => Math.round(seconds * 1000);

/** httpx-style single timeout applied to every phase (connect capped), as SUPABASE_TIMEOUT means it. */
function everyPhase(seconds: number): PoolTimeouts {
  const ms = toMs(seconds);
  return { connectMs: Math.min(ms, CONNECT_TIMEOUT_CAP_MS), headersMs: ms, bodyMs: ms, acquireMs: ms, requestMs: ms };
}

/**
 * undici keeps every idle socket up to `connections`, with no separate idle cap, so a keep-alive
 * count above 0 is min(count, pool size) in effect; only 0 (keep-alive off) changes anything.
 */
function keepAlive(idleSocketsKept: number): Pick<PoolOptions, 'keepAliveTimeoutMs'> {
  return idleSocketsKept === 0 ? { keepAliveTimeoutMs: KEEP_ALIVE_OFF_MS } : {};
}

/** `https://host[:port]` of a URL or a bare host (Pinecone gives hosts without a scheme). */
function requireOrigin(urlOrHost: string | URL, option: string, pool: string): string {
  const text = String(urlOrHost);
  try {
    return new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`).origin;
  } catch {
    throw new PoolConfigError(option, 'must be an http(s) URL or a host name', pool);
  }
}

/**
 * SUPABASE_POOL_SIZE → `connections` and `maxConcurrent`; SUPABASE_MAX_KEEPALIVE 0 → keep-alive off;
 * SUPABASE_TIMEOUT → every phase timeout (connect capped at 10 s).
 */
export function supabasePoolOptions(
  config: Pick<SupabaseConfig, 'url' | 'poolSize' | 'maxKeepAlive' | 'timeoutSeconds'>,
): PoolOptions {
  return {
    name: 'supabase',
    origin: requireOrigin(config.url, 'origin', 'supabase'),
    connections: config.poolSize,
    maxConcurrent: config.poolSize,
    ...keepAlive(config.maxKeepAlive),
    timeouts: everyPhase(config.timeoutSeconds),
  };
}

/**
 * PINECONE_POOL_SIZE → `connections` and `maxConcurrent`; PINECONE_POOL_MAXSIZE is the keep-alive
 * count (≥ 1, so keep-alive stays on); PINECONE_POOL_TIMEOUT → every phase timeout (connect capped).
 * `origin` is the host this pool talks to; it defaults to the index (data plane) host.
 */
export function pineconePoolOptions(
  config: Pick<PineconeConfig, 'indexHost' | 'poolSize' | 'poolMaxSize' | 'timeoutSeconds'>,
  origin: string | URL | undefined = config.indexHost,
): PoolOptions {
  if (origin === undefined) {
    throw new PoolConfigError('origin', 'pass the index host (PINECONE_INDEX_HOST is not set)', 'pinecone');
  }
  return {
    name: 'pinecone',
    origin: requireOrigin(origin, 'origin', 'pinecone'),
    connections: config.poolSize,
    maxConcurrent: config.poolSize,
    ...keepAlive(config.poolMaxSize),
    timeouts: everyPhase(config.timeoutSeconds),
  };
}

/**
 * OPENAI_MAX_CONCURRENT → `maxConcurrent`; OPENAI_POOL_SIZE → `connections`; OPENAI_TIMEOUT → the
 * headers wait, the idle gap between body chunks and the queue wait, with no overall deadline
 * (streams run long); OPENAI_MAX_RETRIES → `retry.maxRetries` (the client factory sets the SDK's to 0).
 */
export function openaiPoolOptions(
  config: Pick<OpenAIConfig, 'baseURL' | 'maxConcurrent' | 'poolSize' | 'timeoutSeconds' | 'maxRetries'>,
): PoolOptions {
  const ms = toMs(config.timeoutSeconds);
  return {
    name: 'openai',
    origin: requireOrigin(config.baseURL, 'origin', 'openai'),
    connections: config.poolSize,
    maxConcurrent: config.maxConcurrent,
    timeouts: {
      connectMs: Math.min(ms, CONNECT_TIMEOUT_CAP_MS),
      headersMs: ms,
      bodyMs: ms,
      acquireMs: ms,
      requestMs: 0,
    },
    retry: { maxRetries: config.maxRetries },
  };
}

/**
 * FLEET_REDIS_URL, FLEET_LEASE_MS, FLEET_ON_UNAVAILABLE and an upstream's `<UPSTREAM>_FLEET_MAX_CONCURRENT` (and
 * `OPENAI_FLEET_TOKENS_PER_MINUTE`) → its pool's `fleet` option (the key defaults to the pool's name); nothing
 * when Redis or every limit is unset.
 */
export function fleetOptionsFromConfig(
  fleet: FleetConfig | undefined,
  limits: { fleetMaxConcurrent?: number; fleetTokensPerMinute?: number },
  logger?: FleetLogger,
): { fleet?: FleetOptions } {
  const { fleetMaxConcurrent: maxConcurrent, fleetTokensPerMinute: tokensPerMinute } = limits;
  if (fleet === undefined || (maxConcurrent === undefined && tokensPerMinute === undefined)) return {};
  // `redisUrl` is a non-enumerable secret of the section: read by name, never spread.
  const options: FleetOptions = {
    redis: fleet.redisUrl,
    leaseMs: fleet.leaseMs,
    onUnavailable: fleet.onUnavailable,
  };
  if (maxConcurrent !== undefined) options.maxConcurrent = maxConcurrent;
  if (tokensPerMinute !== undefined) options.tokensPerMinute = tokensPerMinute;
  if (logger !== undefined) options.logger = logger;
  return { fleet: options };
}

/**
 * Layers pool options, later over earlier; `timeouts`, `retry` and `tls` merge field by field, so an override of
 * `timeouts.connectMs` keeps the environment's other phases. `retry: false` in a later layer turns retries off.
 */
export function mergePoolOptions<T extends Partial<PoolOptions>>(
  base: T,
  ...layers: ReadonlyArray<Partial<PoolOptions> | undefined>
): T {
  let merged: Partial<PoolOptions> = { ...base };
  for (const layer of layers) {
    if (layer === undefined) continue;
    const { timeouts, retry, tls, ...rest } = layer;
    merged = { ...merged, ...rest };
    if (timeouts !== undefined) merged.timeouts = { ...merged.timeouts, ...timeouts };
    if (tls !== undefined) merged.tls = { ...merged.tls, ...tls };
    if (retry !== undefined)
      merged.retry = retry === false || merged.retry === false ? retry : { ...merged.retry, ...retry };
  }
  return merged as T;
}
