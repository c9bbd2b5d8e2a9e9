import type OpenAI from 'openai';
import type { Index, Pinecone } from '@pinecone-database/pinecone';
import type { SupabaseClient } from '@supabase/supabase-js';
import type { Registry } from 'prom-client';
import type { PoolscopeConfig } from '../config/types.js';
import type { HealthInput } from '../health/evaluate.js';
import { metricsFor } from '../metrics/families.js';
import { registry as defaultRegistry } from '../metrics/registry.js';
import type { UpstreamPool } from '../pool/pool.js';
import type { PoolOptions, TlsOptions } from '../pool/options.js';
import { HttpDatabaseFacade, OpenAIFacade } from './facades.js';
import { createOpenAIClient, type OpenAIClientHandle } from './openai.js';
import { createPineconeClient, type PineconeClientHandle } from './pinecone.js';
import { createSupabaseClients, type SupabaseClientsHandle } from './supabase.js';
import { checkPostgres, createPgPoolSync, createPostgresFacade, pgPoolOptionsFromConfig, type PgPool } from '../postgres/index.js';
import type { DatabaseFacade, HealthCheckResult, MonitoredPool, MonitoredUpstreams, OpenAIFacade as OpenAIFacadeType, PineconeFacade } from './types.js';

export interface CreateClientsOptions {
  /** Where the pools record. Default: poolscope's own `registry`. */
  registry?: Registry;
  /** Extra trust for upstreams with private CAs (self-signed simulators in tests and the demo). */
  tls?: TlsOptions;
  /**
   * The `pg` module, for a direct Postgres pool when `DATABASE_URL` is set (`await import('pg')`). Passed in so
   * poolscope never loads `pg` itself for apps that do not use it. Without it, DATABASE_URL is ignored.
   */
  pg?: { Pool: typeof import('pg').Pool };
}

/** The SDK instances, each on its poolscope pool. Absent when that upstream is not configured. */
export interface SdkClients {
  supabase?: SupabaseClient;
  supabaseAdmin?: SupabaseClient;
  openai?: OpenAI;
  pinecone?: Pinecone;
}

export interface Clients extends MonitoredUpstreams {
  readonly sdk: SdkClients;
  /** The configured Pinecone index, its host resolved once. */
  pineconeIndex(): Promise<Index>;
  readonly handles: {
    postgres?: PgPool;
    supabase?: SupabaseClientsHandle;
    openai?: OpenAIClientHandle;
    pinecone?: PineconeClientHandle;
  };
}

/**
 * Builds the configured upstreams' pools and SDK clients. The process-wide singletons
 * (`getSupabaseClient()`...) use one of these; tests and apps that need two sets create their own.
 */
export function createClients(config: PoolscopeConfig, options: CreateClientsOptions = {}): Clients {
  const metrics = metricsFor(options.registry ?? defaultRegistry);
  const extra: Partial<PoolOptions> = options.tls ? { tls: options.tls } : {};
  const supabase = config.supabase ? createSupabaseClients(config.supabase, metrics, extra) : undefined;
  const openai = config.openai ? createOpenAIClient(config.openai, metrics, extra) : undefined;
  const pinecone = config.pinecone ? createPineconeClient(config.pinecone, metrics, extra) : undefined;
  const postgres =
    config.database && options.pg
      ? createPgPoolSync(options.pg, { ...pgPoolOptionsFromConfig(config.database), registry: metrics.registry })
      : undefined;
  const lastHealth = new Map<string, HealthCheckResult>();

  const checks: Array<[string, () => Promise<HealthCheckResult>]> = [];
  const tracked = (poolOf: () => MonitoredPool | undefined, check: () => Promise<HealthCheckResult>) => async () => {
    const result = await check();
    const name = poolOf()?.name ?? 'pinecone_control';
    lastHealth.set(name, result);
    return result;
  };
  const supabaseFacade: DatabaseFacade | undefined = supabase
    ? new HttpDatabaseFacade(() => supabase.pool, tracked(() => supabase.pool, supabase.healthCheck))
    : undefined;
  const postgresFacade: DatabaseFacade | undefined = postgres
    ? createPostgresFacade(postgres, { check: tracked(() => postgres, () => checkPostgres(postgres)) })
    : undefined;
  // Reference 004's `DatabasePool` is "the database": the direct Postgres pool when there is one.
  const database = postgresFacade ?? supabaseFacade;
  const openaiFacade: OpenAIFacadeType | undefined = openai
    ? new OpenAIFacade(openai.pool, openai.usage, openai.config.timeoutSeconds, tracked(() => openai.pool, openai.healthCheck))
    : undefined;
  const pineconeFacade: PineconeFacade | undefined = pinecone
    ? new HttpDatabaseFacade(pinecone.pool, tracked(() => pinecone.pool() ?? pinecone.controlPool, pinecone.healthCheck))
    : undefined;
  if (supabaseFacade) checks.push(['supabase', () => supabaseFacade.healthCheck()]);
  if (postgresFacade) checks.push(['postgres', () => postgresFacade.healthCheck()]);
  if (openaiFacade) checks.push(['openai', () => openaiFacade.healthCheck()]);
  if (pineconeFacade) checks.push(['pinecone', () => pineconeFacade.healthCheck()]);

  const pools = (): MonitoredPool[] =>
    [supabase?.pool, pinecone?.pool(), pinecone?.controlPool, openai?.pool, postgres].filter(
      (p): p is UpstreamPool | PgPool => p !== undefined,
    );

  const sdk: SdkClients = {};
  if (supabase?.client) sdk.supabase = supabase.client;
  if (supabase?.adminClient) sdk.supabaseAdmin = supabase.adminClient;
  if (openai) sdk.openai = openai.client;
  if (pinecone) sdk.pinecone = pinecone.client;

  return {
    config,
    sdk,
    handles: { ...(postgres && { postgres }), ...(supabase && { supabase }), ...(openai && { openai }), ...(pinecone && { pinecone }) },
    ...(database && { database }),
    ...(openaiFacade && { openai: openaiFacade }),
    ...(pineconeFacade && { pinecone: pineconeFacade }),
    pools,
    pineconeIndex: () => (pinecone ? pinecone.index() : Promise.reject(new Error('Pinecone is not configured (PINECONE_API_KEY)'))),
    healthInput(): HealthInput {
      const upstreams: HealthInput['upstreams'] = {};
      for (const [name, result] of lastHealth) {
        upstreams[name] = { up: result.healthy, latencyMs: result.latencyMs, checkedAt: result.checkedAt };
      }
      return {
        pools: pools().map((pool) => pool.stats()),
        upstreams,
        rateLimits: openai ? openai.usage.rateLimitSnapshots(openai.pool.name) : [],
      };
    },
    async checkHealth() {
      const results: Record<string, HealthCheckResult> = {};
      await Promise.all(
        checks.map(async ([name, run]) => {
          results[name] = await run();
        }),
      );
      return results;
    },
    async close(deadlineMs = 10_000) {
      await Promise.all(pools().map((pool) => pool.close(deadlineMs)));
    },
  };
}
