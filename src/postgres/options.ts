import type { PoolConfig } from 'pg';
import type { Registry } from 'prom-client';
import { redactUrl } from '../config/redact.js';
import { PoolConfigError } from '../errors/index.js';
import { resolveFleetOptions, type FleetOptions, type ResolvedFleetOptions } from '../fleet/options.js';
import { registry as defaultRegistry } from '../metrics/registry.js';
import { integer, operationNames, poolName } from '../pool/validate.js';

/** Where leak warnings and warm-up failures go: pino's `logger.warn(obj, msg)` fits, so does the default. */
export interface PgPoolLogger {
  warn(obj: Record<string, unknown>, msg: string): void;
  info?(obj: Record<string, unknown>, msg: string): void;
}

/** What `instrumentPgPool` takes: how to name and watch a `pg.Pool` the app already configured. */
export interface PgInstrumentOptions {
  /** Becomes the `pool` label and the default `application_name` (`poolscope:<name>`). Default `postgres`. */
  name?: string;
  /** prom-client registry to record into. Default: poolscope's own `registry`. */
  registry?: Registry;
  /**
   * A client held longer than this is reported once as a possible leak (warning with the stack that acquired
   * it, `poolscope_pool_leaks_total`). `0`, the default, turns detection off (HikariCP's default too).
   */
  leakDetectionThresholdMs?: number;
  /** Checkouts allowed to wait for a client; beyond it `PoolQueueFullError`. Default 1000, like every poolscope pool. */
  maxQueued?: number;
  /** `run()` operation names declared up front; they never fold into `other`. */
  operations?: readonly string[];
  /** Distinct undeclared `run()` names kept before the rest fold into `other`. Default 50. */
  maxOperations?: number;
  /** Finished queries kept for the stats snapshot's average and percentiles. Default 1000. */
  statsWindowSize?: number;
  /** Default: `console.warn`. */
  logger?: PgPoolLogger;
  /**
   * A fleet-wide cap in Redis on clients checked out at once (statements and transactions in flight), shared by
   * every process whose pool names the same key: a checkout takes its client, then a lease, and gives the lease
   * back with the client. It bounds work in flight, not open connections (`max` × processes). See docs/fleet.md.
   */
  fleet?: FleetOptions;
}

export interface PgPoolOptions extends PgInstrumentOptions {
  /** `postgres://user:password@host:5432/db?sslmode=require`. Never printed: stats and errors show `redactUrl(...)`. */
  connectionString?: string;
  /** Max clients (server connections). Default 10. */
  max?: number;
  /** Clients opened at start and kept open however idle. Default 0. */
  min?: number;
  /** How long a client above `min` may sit idle before it is closed; `0` keeps idle clients forever. Default 10000. */
  idleTimeoutMs?: number;
  /**
   * Longest wait for a client, in the pool's queue (then `PgAcquireTimeoutError`) or for a new connection to
   * open (then `PoolConnectError`, reason `timeout`). `0` waits forever. Default 5000.
   */
  connectionTimeoutMs?: number;
  /** Server-side `statement_timeout` of every connection; `0` (default) leaves the server's setting. */
  statementTimeoutMs?: number;
  /**
   * A connection is retired (once idle) after this long, each one up to 2.5% sooner so they do not all expire
   * together — HikariCP's `maxLifetime` and its variance. Keep it below any limit the network or database puts
   * on a connection's age. `0` keeps connections forever. Default 1800000 (30 min, HikariCP's default).
   */
  maxLifetimeMs?: number;
  /**
   * TCP keep-alive probes start after a connection has been quiet this long, so NATs and load balancers that
   * drop silent connections keep them, and a dead peer is noticed. `0` turns keep-alive off. Default 120000.
   */
  keepAliveIntervalMs?: number;
  /** Any other `pg.Pool` option (`ssl`, `host`, `user`, `password`...), passed through; the options above win. */
  pg?: PoolConfig;
}

/** The settings a `PgPool` runs with: never the connection string, only its redacted form. */
export interface ResolvedPgPoolOptions {
  name: string;
  /** The database the pool talks to, password replaced by `***`; undefined when pg reads it from `PG*` variables. */
  target: string | undefined;
  max: number;
  min: number;
  idleTimeoutMs: number;
  connectionTimeoutMs: number;
  statementTimeoutMs: number;
  maxLifetimeMs: number;
  keepAliveIntervalMs: number;
  leakDetectionThresholdMs: number;
  maxQueued: number;
}

export const PG_POOL_DEFAULTS = {
  name: 'postgres',
  max: 10,
  min: 0,
  idleTimeoutMs: 10_000,
  connectionTimeoutMs: 5_000,
  statementTimeoutMs: 0,
  maxLifetimeMs: 1_800_000,
  keepAliveIntervalMs: 120_000,
  leakDetectionThresholdMs: 0,
  maxQueued: 1_000,
  maxOperations: 50,
  statsWindowSize: 1_000,
} as const;

export interface PgPoolSettings extends ResolvedPgPoolOptions {
  registry: Registry;
  logger: PgPoolLogger;
  operations: readonly string[];
  maxOperations: number;
  statsWindowSize: number;
  /** createPgPool's own pool: pre-warmed to `min` and refilled; an instrumented pool is the app's to manage. */
  owned: boolean;
  /** Strings scrubbed from anything we log or throw (the password, raw and URL-encoded). */
  secrets: readonly string[];
  fleet: ResolvedFleetOptions | undefined;
}

const defaultLogger: PgPoolLogger = {
  warn(obj, msg) {
    const { stack, ...rest } = obj;
    console.warn(`[poolscope] ${msg}`, rest, ...(typeof stack === 'string' ? [`\n${stack}`] : []));
  },
};

/** The options every database pool takes, made or instrumented. Throws `PoolConfigError` naming the first bad one. */
export function resolveCommon(options: PgInstrumentOptions) {
  if (options === null || typeof options !== 'object') throw new PoolConfigError('options', 'must be an object');
  const name = poolName(options.name ?? PG_POOL_DEFAULTS.name);
  const operations = operationNames(options.operations, name);
  const logger = options.logger ?? defaultLogger;
  if (typeof logger?.warn !== 'function')
    throw new PoolConfigError('logger', 'must have a warn(obj, msg) method', name);
  return {
    name,
    registry: options.registry ?? defaultRegistry,
    logger,
    operations,
    leakDetectionThresholdMs: integer(
      options.leakDetectionThresholdMs,
      PG_POOL_DEFAULTS.leakDetectionThresholdMs,
      'leakDetectionThresholdMs',
      name,
      0,
    ),
    maxQueued: integer(options.maxQueued, PG_POOL_DEFAULTS.maxQueued, 'maxQueued', name, 0),
    maxOperations: integer(options.maxOperations, PG_POOL_DEFAULTS.maxOperations, 'maxOperations', name, 1),
    statsWindowSize: integer(options.statsWindowSize, PG_POOL_DEFAULTS.statsWindowSize, 'statsWindowSize', name, 1),
    fleet: resolveFleetOptions(options.fleet, name, false),
  };
}

export function resolvePgPoolOptions(options: PgPoolOptions): PgPoolSettings {
  const common = resolveCommon(options);
  const { name } = common;
  const { connectionString } = options;
  if (connectionString !== undefined) {
    if (typeof connectionString !== 'string' || connectionString.length === 0) {
      throw new PoolConfigError('connectionString', 'must be a non-empty string', name);
    }
    // Fail here, value unsaid: URL parse errors carry the whole input (password included) in `input`.
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(connectionString) && !URL.canParse(connectionString)) {
      throw new PoolConfigError('connectionString', 'is not a valid postgres:// URL', name);
    }
  }
  if (options.pg !== undefined && (options.pg === null || typeof options.pg !== 'object')) {
    throw new PoolConfigError('pg', 'must be an object of pg.Pool options', name);
  }
  // pg options poolscope sets from its own: one given under `pg` would be silently overridden, so it is refused.
  const overridden: Record<string, keyof PgPoolOptions | undefined> = {
    ...OWNED_PG_OPTIONS,
    connectionString: connectionString === undefined ? undefined : 'connectionString',
    statement_timeout: options.statementTimeoutMs ? 'statementTimeoutMs' : undefined,
  };
  for (const [pgOption, ours] of Object.entries(overridden)) {
    if (ours !== undefined && options.pg !== undefined && pgOption in options.pg) {
      throw new PoolConfigError(
        `pg.${pgOption}`,
        `would be overridden by poolscope's "${ours}" option: set that instead`,
        name,
      );
    }
  }
  const max = integer(options.max, PG_POOL_DEFAULTS.max, 'max', name, 1);
  const min = integer(options.min, PG_POOL_DEFAULTS.min, 'min', name, 0);
  if (min > max) throw new PoolConfigError('min', 'must not be greater than max', name);
  return {
    ...common,
    target: describeTarget(connectionString, options.pg ?? {}),
    max,
    min,
    idleTimeoutMs: integer(options.idleTimeoutMs, PG_POOL_DEFAULTS.idleTimeoutMs, 'idleTimeoutMs', name, 0),
    connectionTimeoutMs: integer(
      options.connectionTimeoutMs,
      PG_POOL_DEFAULTS.connectionTimeoutMs,
      'connectionTimeoutMs',
      name,
      0,
    ),
    statementTimeoutMs: integer(
      options.statementTimeoutMs,
      PG_POOL_DEFAULTS.statementTimeoutMs,
      'statementTimeoutMs',
      name,
      0,
    ),
    maxLifetimeMs: integer(options.maxLifetimeMs, PG_POOL_DEFAULTS.maxLifetimeMs, 'maxLifetimeMs', name, 0),
    keepAliveIntervalMs: integer(
      options.keepAliveIntervalMs,
      PG_POOL_DEFAULTS.keepAliveIntervalMs,
      'keepAliveIntervalMs',
      name,
      0,
    ),
    owned: true,
    secrets: secretsOf(connectionString, options.pg?.password),
  };
}

/** pg.Pool options that `createPgPool` always sets itself, and the option of ours that sets each. */
const OWNED_PG_OPTIONS: Record<string, keyof PgPoolOptions> = {
  max: 'max',
  poolSize: 'max', // pg-pool's legacy name for max
  min: 'min',
  idleTimeoutMillis: 'idleTimeoutMs',
  connectionTimeoutMillis: 'connectionTimeoutMs',
  maxLifetimeSeconds: 'maxLifetimeMs',
  keepAlive: 'keepAliveIntervalMs',
  keepAliveInitialDelayMillis: 'keepAliveIntervalMs',
};

export function describeTarget(connectionString: string | undefined, config: PoolConfig): string | undefined {
  if (connectionString !== undefined) return redactUrl(connectionString);
  if (config.host === undefined && config.database === undefined) return undefined;
  return `postgres://${config.host ?? 'localhost'}${config.port ? `:${config.port}` : ''}/${config.database ?? ''}`;
}

export function secretsOf(connectionString: string | undefined, password: PoolConfig['password']): string[] {
  const secrets = new Set<string>();
  if (typeof password === 'string' && password.length > 0) secrets.add(password);
  if (connectionString !== undefined) {
    const redacted = redactUrl(connectionString);
    try {
      const raw = new URL(connectionString).password;
      if (raw) {
        secrets.add(raw);
        secrets.add(decodeURIComponent(raw));
      }
    } catch {
      // Not a URL: redactUrl's cut below still finds it.
    }
    // Whatever redactUrl hides (userinfo password, ?password=): the text between the shared prefix and suffix.
    if (redacted !== connectionString) {
      let start = 0;
      while (start < redacted.length && redacted[start] === connectionString[start]) start++;
      let end = 0;
      while (
        end < redacted.length - start &&
        redacted[redacted.length - 1 - end] === connectionString[connectionString.length - 1 - end]
      )
        end++;
      const hidden = connectionString.slice(start, connectionString.length - end);
      if (hidden.length > 0) secrets.add(hidden);
    }
  }
  return [...secrets].filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
}
