import type OpenAI from 'openai';
import type { Index, Pinecone } from '@pinecone-database/pinecone';
import type { SupabaseClient } from '@supabase/supabase-js';
import type { Registry } from 'prom-client';
import { ConfigError } from '../errors/index.js';
import type { PoolscopeConfig } from '../config/types.js';
import { PoolConfigError } from '../errors/index.js';
import type { HealthInput } from '../health/evaluate.js';
import { metricsFor } from '../metrics/families.js';
import { registry as defaultRegistry } from '../metrics/registry.js';
import { loadPeer } from '../peers.js';
import type { PoolOptions, TlsOptions } from '../pool/options.js';
import { fleetOptionsFromConfig } from '../config/pool-options.js';
import type { FleetLogger } from '../fleet/options.js';
import type { UpstreamPool } from '../pool/pool.js';
import { poolName } from '../pool/validate.js';
import {
  checkPostgres,
  createPgPoolSync,
  createPostgresFacade,
  pgPoolOptionsFromConfig,
  type PgPool,
  type PgPoolOptions,
} from '../postgres/index.js';
import { HttpPoolManagerFacade, OpenAIFacade } from './facades.js';
import { recordHealth } from './health-check.js';
import { startHealthChecks, type HealthChecks, type HealthChecksOptions } from './health-checks.js';
import { createOpenAIClient, type OpenAIClientHandle } from './openai.js';
import { createPineconeClient, type PineconeClientHandle } from './pinecone.js';
import { createSupabaseClients, type SupabaseClientsHandle } from './supabase.js';
import type { UpstreamSetup } from './upstream-setup.js';
import type {
  PoolManagerFacade,
  HealthCheckResult,
  MonitoredPool,
  MonitoredUpstreams,
  OpenAIFacade as OpenAIFacadeType,
} from './types.js';

/** Pool options over the environment's, per upstream (each validated as `createPool` / `createPgPool` validate). */
export interface UpstreamPoolOptions {
  supabase?: Partial<PoolOptions>;
  openai?: Partial<PoolOptions>;
  /** The data plane; the control plane takes only `timeouts`, `retry` and `tls` from here. */
  pinecone?: Partial<PoolOptions>;
  postgres?: Partial<PgPoolOptions>;
}

export interface CreateClientsOptions {
  /** Where the pools record. Default: poolscope's own `registry`. */
  registry?: Registry;
  /**
   * Prefixes every pool name of this set, for a second set beside the process-wide one: `'tenant_b'` names
   * its pools `tenant_b_supabase`, `tenant_b_openai`... so their series stay apart. `[a-z][a-z0-9_]*`.
   */
  poolPrefix?: string;
  /** Extra trust for upstreams with private CAs (self-signed simulators in tests and the demo). */
  tls?: TlsOptions;
  /** Pool options over what the environment says, per upstream. */
  poolOptions?: UpstreamPoolOptions;
  /** The OpenAI SDK's own overall timeout in ms. Default: `OPENAI_TIMEOUT`. */
  openaiTimeoutMs?: number;
  /**
   * Where the fleet budgets (`FLEET_REDIS_URL`) log Redis becoming unreachable and reachable again: pino's
   * logger fits (the service passes its own). Default: `console.warn`.
   */
  logger?: FleetLogger;
  /**
   * The `pg` module for the Postgres pool when `DATABASE_URL` is set. Default: the app's installed `pg`,
   * loaded then; without it the Postgres pool reports the missing package (health check down, facade throws).
   */
  pg?: { Pool: typeof import('pg').Pool };
}

/** The SDK instances, each on its poolscope pool, each built on first read. Absent when that upstream is not configured. */
export interface SdkClients {
  readonly supabase?: SupabaseClient;
  readonly supabaseAdmin?: SupabaseClient;
  readonly openai?: OpenAI;
  readonly pinecone?: Pinecone;
}

export interface Clients extends MonitoredUpstreams {
  readonly sdk: SdkClients;
  /** The configured Pinecone index, its host resolved once. */
  pineconeIndex(): Promise<Index>;
  readonly handles: {
    /** Throws the `PoolConfigError` naming `pg` when DATABASE_URL is set and `pg` is not installed. */
    readonly postgres?: PgPool;
    readonly supabase?: SupabaseClientsHandle;
    readonly openai?: OpenAIClientHandle;
    readonly pinecone?: PineconeClientHandle;
  };
  /**
   * Runs every upstream's health check now and then periodically, as the service does, until stopped or until
   * this set closes. One loop per set: a second call returns the running one.
   */
  startHealthChecks(options?: HealthChecksOptions): HealthChecks;
}

/**
 * Builds the configured upstreams' pools and, on first use, their SDK clients. The process-wide singletons
 * (`getSupabaseClient()`...) use one of these; an app that needs a second set beside them gives it a
 * `poolPrefix`. Throws `PoolConfigError` before building anything when one of the set's pool names is taken.
 */
export function createClients(config: PoolscopeConfig, options: CreateClientsOptions = {}): Clients {
  const metrics = metricsFor(options.registry ?? defaultRegistry);
  const prefix = options.poolPrefix === undefined ? '' : `${poolName(options.poolPrefix)}_`;
  const name = (base: string) => `${prefix}${base}`;
  const release = metrics.reserve(plannedNames(config).map(name), 'poolPrefix');
  const setupFor = (
    overrides: Partial<PoolOptions> | undefined,
    limits: Parameters<typeof fleetOptionsFromConfig>[1],
  ): UpstreamSetup => {
    // The environment's fleet budget first, so an app's own `poolOptions.<upstream>.fleet` replaces it.
    const layered = { ...fleetOptionsFromConfig(config.fleet, limits, options.logger), ...overrides };
    return { metrics, name, overrides: options.tls ? { tls: options.tls, ...layered } : layered };
  };

  const built: Array<UpstreamPool | PgPool> = [];
  let supabase: SupabaseClientsHandle | undefined;
  let openai: OpenAIClientHandle | undefined;
  let pinecone: PineconeClientHandle | undefined;
  let postgres: PgPool | undefined;
  let postgresMissing: PoolConfigError | undefined;
  try {
    if (config.supabase) {
      supabase = createSupabaseClients(config.supabase, setupFor(options.poolOptions?.supabase, config.supabase));
      built.push(supabase.pool);
    }
    if (config.openai) {
      openai = createOpenAIClient(config.openai, {
        ...setupFor(options.poolOptions?.openai, config.openai),
        ...(options.openaiTimeoutMs !== undefined && { timeoutMs: options.openaiTimeoutMs }),
      });
      built.push(openai.pool);
    }
    if (config.pinecone) {
      pinecone = createPineconeClient(config.pinecone, setupFor(options.poolOptions?.pinecone, config.pinecone));
      built.push(pinecone.controlPool);
    }
    if (config.database) {
      const pgName = name('postgres');
      let pg = options.pg;
      try {
        pg ??= loadPeer<{ Pool: typeof import('pg').Pool }>('pg', pgName);
      } catch (error) {
        // Reported by the Postgres pool alone (its health check and facade), not by the set: the other clients work.
        if (!(error instanceof PoolConfigError)) throw error;
        postgresMissing = error;
      }
      if (pg) {
        postgres = createPgPoolSync(pg, {
          ...pgPoolOptionsFromConfig(config.database),
          ...fleetOptionsFromConfig(config.fleet, config.database, options.logger),
          ...options.poolOptions?.postgres,
          name: pgName,
          registry: metrics.registry,
        });
        built.push(postgres);
      }
    }
  } catch (error) {
    // All or nothing: a bad override must not leave half a set holding names and sockets. The new pools have
    // carried nothing: out of the live set now (their names free at once), their dispatchers closed behind.
    for (const pool of built) {
      metrics.pools.delete(pool);
      void pool.close(0);
    }
    release();
    throw error;
  }

  const lastHealth = new Map<string, HealthCheckResult>();
  const tracked =
    (poolOf: () => string, check: (timeoutMs?: number) => Promise<HealthCheckResult>) =>
    async (timeoutMs?: number): Promise<HealthCheckResult> => {
      const result = await check(timeoutMs);
      lastHealth.set(poolOf(), result);
      return result;
    };

  const supabaseFacade: PoolManagerFacade | undefined = supabase
    ? new HttpPoolManagerFacade(
        () => supabase.pool,
        tracked(() => supabase.pool.name, supabase.healthCheck),
      )
    : undefined;
  let postgresFacade: PoolManagerFacade | undefined;
  if (postgres) {
    const pgPool = postgres;
    postgresFacade = createPostgresFacade(pgPool, {
      check: tracked(
        () => pgPool.name,
        (timeoutMs) => checkPostgres(pgPool, timeoutMs),
      ),
    });
  } else if (postgresMissing) {
    const missing = postgresMissing;
    const check = tracked(
      () => name('postgres'),
      async () => recordHealth(metrics, name('postgres'), 'Database', 'unhealthy', performance.now(), missing.problem),
    );
    postgresFacade = unavailableFacade(missing, check);
  }
  const openaiFacade: OpenAIFacadeType | undefined = openai
    ? new OpenAIFacade(
        openai.pool,
        openai.usage,
        openai.timeoutMs,
        tracked(() => openai.pool.name, openai.healthCheck),
      )
    : undefined;
  const pineconeFacade: PoolManagerFacade | undefined = pinecone
    ? new HttpPoolManagerFacade(
        pinecone.pool,
        tracked(() => (pinecone.pool() ?? pinecone.controlPool).name, pinecone.healthCheck),
      )
    : undefined;
  const checks: Array<[string, (timeoutMs?: number) => Promise<HealthCheckResult>]> = [];
  if (supabaseFacade) checks.push(['supabase', (ms) => supabaseFacade.healthCheck(ms)]);
  if (postgresFacade) checks.push(['postgres', (ms) => postgresFacade.healthCheck(ms)]);
  if (openaiFacade) checks.push(['openai', (ms) => openaiFacade.healthCheck(ms)]);
  if (pineconeFacade) checks.push(['pinecone', (ms) => pineconeFacade.healthCheck(ms)]);

  const pools = (): MonitoredPool[] =>
    [supabase?.pool, pinecone?.pool(), pinecone?.controlPool, openai?.pool, postgres].filter(
      (p): p is NonNullable<typeof p> => p !== undefined,
    );

  const sdk: SdkClients = {};
  const expose = (key: keyof SdkClients, read: () => unknown) =>
    Object.defineProperty(sdk, key, { get: read, enumerable: true });
  if (supabase?.config.anonKey) expose('supabase', () => supabase.client);
  if (supabase?.config.serviceRoleKey) expose('supabaseAdmin', () => supabase.adminClient);
  if (openai) expose('openai', () => openai.client);
  if (pinecone) expose('pinecone', () => pinecone.client);

  const handles: Clients['handles'] = {
    ...(supabase && { supabase }),
    ...(openai && { openai }),
    ...(pinecone && { pinecone }),
  };
  if (postgres) Object.defineProperty(handles, 'postgres', { value: postgres, enumerable: true });
  else if (postgresMissing) {
    const missing = postgresMissing;
    Object.defineProperty(handles, 'postgres', {
      get: () => {
        throw missing;
      },
      enumerable: true,
    });
  }

  let healthChecks: HealthChecks | undefined;
  let closing: Promise<void> | undefined;

  const clients: Clients = {
    config,
    sdk,
    handles,
    // `DatabasePool` wraps the Supabase clients: `database` is Supabase's REST pool when there is
    // one, the direct Postgres pool otherwise. Each also has its own entry.
    ...((supabaseFacade ?? postgresFacade) && { database: supabaseFacade ?? postgresFacade }),
    ...(supabaseFacade && { supabase: supabaseFacade }),
    ...(postgresFacade && { postgres: postgresFacade }),
    ...(openaiFacade && { openai: openaiFacade }),
    ...(pineconeFacade && { pinecone: pineconeFacade }),
    pools,
    pineconeIndex: () =>
      pinecone
        ? pinecone.index()
        : Promise.reject(
            new ConfigError([{ variable: 'PINECONE_API_KEY', problem: 'is not set: the Pinecone index needs it' }]),
          ),
    healthInput(): HealthInput {
      const upstreams: HealthInput['upstreams'] = {};
      for (const [pool, result] of lastHealth) {
        upstreams[pool] = { up: result.healthy, latencyMs: result.latencyMs, checkedAt: result.checkedAt };
      }
      return {
        pools: pools().map((pool) => pool.stats()),
        upstreams,
        rateLimits: openai ? openai.usage.rateLimitSnapshots(openai.pool.name) : [],
      };
    },
    async checkHealth(timeoutMs?: number) {
      const results: Record<string, HealthCheckResult> = {};
      await Promise.all(
        checks.map(async ([upstream, run]) => {
          results[upstream] = await run(timeoutMs);
        }),
      );
      return results;
    },
    startHealthChecks(healthOptions?: HealthChecksOptions) {
      if (closing) throw new PoolConfigError('startHealthChecks', 'this client set is closed');
      healthChecks ??= startHealthChecks(clients, {
        intervalMs: config.service.healthIntervalSeconds * 1000,
        ...healthOptions,
      });
      return healthChecks;
    },
    close(deadlineMs = 10_000) {
      closing ??= (async () => {
        const stopped = healthChecks?.stop();
        await Promise.all(pools().map((pool) => pool.close(deadlineMs)));
        await stopped;
        release();
      })();
      return closing;
    },
  };
  return clients;
}

/** The pool names a set built from `config` uses now or later (Pinecone's data pool once its host is known). */
function plannedNames(config: PoolscopeConfig): string[] {
  const names: string[] = [];
  if (config.supabase) names.push('supabase');
  if (config.openai) names.push('openai');
  if (config.pinecone) names.push('pinecone', 'pinecone_control');
  if (config.database) names.push('postgres');
  return names;
}

/** The Postgres facade when `pg` is missing: every read throws the error naming it; the health check reports it. */
function unavailableFacade(error: PoolConfigError, check: () => Promise<HealthCheckResult>): PoolManagerFacade {
  const fail = (): never => {
    throw error;
  };
  return {
    getStats: fail,
    getPoolConfig: fail,
    getQueueStatus: fail,
    resetStats: fail,
    healthCheck: async () => ({
      ...(await check()),
      stats: {
        totalConnections: 0,
        activeConnections: 0,
        idleConnections: 0,
        totalQueries: 0,
        successfulQueries: 0,
        failedQueries: 0,
        averageResponseTime: 0,
        lastQueryTime: null,
      },
    }),
    close: async () => undefined,
  };
}
