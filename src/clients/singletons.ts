import type OpenAI from 'openai';
import type { Index, Pinecone } from '@pinecone-database/pinecone';
import type { SupabaseClient } from '@supabase/supabase-js';
import { ConfigError } from '../errors/index.js';
import { loadConfig } from '../config/load.js';
import { mergePoolOptions } from '../config/pool-options.js';
import { createClients, type Clients, type CreateClientsOptions, type UpstreamPoolOptions } from './create-clients.js';
import { assertUnchanged, databaseInitializeOptions, openaiInitializeOptions } from './initialize.js';
import type {
  PoolManagerFacade,
  PoolManagerConfig,
  PoolManagerStats,
  HealthCheckResult,
  OpenAIFacade,
  OpenAIPoolConfig,
} from './types.js';

let processClients: Clients | undefined;
/** What `DatabasePool.initialize()` / `OpenAIPool.initialize()` asked for before the clients were built. */
let pending: { poolOptions: UpstreamPoolOptions; openaiTimeoutMs?: number } = { poolOptions: {} };
/** The same, as the settings were given: a set handed to `setClients()` must have them. */
let pendingSettings: { database?: Partial<PoolManagerConfig>; openai?: Partial<OpenAIPoolConfig> } = {};

/**
 * The process-wide clients, built from the environment on first use (validated then: `ConfigError` names every
 * bad variable), with the `initialize()` settings given before. `DATABASE_URL` with `pg` installed gives the
 * Postgres pool.
 */
export function getClients(): Clients {
  if (processClients) return processClients;
  const options: CreateClientsOptions = { poolOptions: pending.poolOptions };
  if (pending.openaiTimeoutMs !== undefined) options.openaiTimeoutMs = pending.openaiTimeoutMs;
  processClients = createClients(loadConfig(process.env), options);
  return processClients;
}

/**
 * Replaces the process-wide clients (e.g. with `createClients(config)` in an app that configures in code). The
 * previous set is not closed: close it yourself if nothing else holds it. Settings given to `initialize()` before
 * must hold in the new set (it is built already): one that differs is refused with `PoolConfigError` naming it,
 * and the clients are not replaced.
 */
export function setClients(clients: Clients | undefined): void {
  if (clients) {
    const refused = (facade: string) =>
      `was given to ${facade}.initialize(), and the clients passed to setClients() were built without it: give createClients() the same setting (poolOptions, or the environment)`;
    if (pendingSettings.database && clients.database)
      assertUnchanged(
        pendingSettings.database,
        clients.database.getPoolConfig(),
        'DatabasePool',
        clients.config.supabase ? 'supabase' : 'postgres',
        refused('DatabasePool'),
      );
    if (pendingSettings.openai && clients.openai)
      assertUnchanged(
        pendingSettings.openai,
        clients.openai.getPoolConfig(),
        'OpenAIPool',
        'openai',
        refused('OpenAIPool'),
      );
  }
  processClients = clients;
  pending = { poolOptions: {} };
  pendingSettings = {};
}

function notConfigured(variable: string, what: string): ConfigError {
  return new ConfigError([{ variable, problem: `is not set: ${what} needs it` }]);
}

function required<T>(value: T | undefined, what: string, variable: string): T {
  if (value === undefined) throw notConfigured(variable, what);
  return value;
}

/** The anon-key Supabase client on the shared `supabase` pool (the Python client's `get_supabase_client()`). */
export function getSupabaseClient(): SupabaseClient {
  return required(getClients().sdk.supabase, 'the Supabase client', 'SUPABASE_URL and SUPABASE_ANON_KEY');
}

/** The service-role Supabase client, on the same pool as `getSupabaseClient()`. */
export function getSupabaseAdminClient(): SupabaseClient {
  return required(
    getClients().sdk.supabaseAdmin,
    'the Supabase admin client',
    'SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY',
  );
}

export function getOpenAIClient(): OpenAI {
  return required(getClients().sdk.openai, 'the OpenAI client', 'OPENAI_API_KEY');
}

export function getPineconeClient(): Pinecone {
  return required(getClients().sdk.pinecone, 'the Pinecone client', 'PINECONE_API_KEY');
}

/** The configured Pinecone index, its host resolved once for the whole process. */
export function getPineconeIndex(): Promise<Index> {
  return getClients().pineconeIndex();
}

/** An object that builds its target on first property access (the `supabase` / `openai` module exports apps import, made lazy). */
function lazy<T extends object>(create: () => T): T {
  return new Proxy({} as T, {
    get(_target, property) {
      const target = create();
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
    has: (_target, property) => Reflect.has(create(), property),
  });
}

/** The `supabase` export apps import: the anon client, created on first use. */
export const supabase: SupabaseClient = lazy(getSupabaseClient);
/** The `supabaseAdmin` export apps import: the service-role client, created on first use. */
export const supabaseAdmin: SupabaseClient = lazy(getSupabaseAdminClient);
/** The `openai` export apps import, created on first use. */
export const openai: OpenAI = lazy(getOpenAIClient);

/** `DatabasePool`, the pool manager apps migrate from: the Supabase clients and their pool (the Postgres pool when only DATABASE_URL is set). */
export interface DatabasePoolApi extends PoolManagerFacade {
  /**
   * The pool manager's run-time configuration, applied when the process-wide clients are built: call it before
   * their first use. Validated at once (`PoolConfigError` naming the setting); on a live pool a setting that
   * differs from the live value is refused the same way, since nothing is resized under running requests.
   */
  initialize(settings?: Partial<PoolManagerConfig>): void;
  getAdminClient(): SupabaseClient;
  getUserClient(): SupabaseClient;
  /** Runs `fn` with the admin or user client. The pool records the requests; no extra slot is taken, so it cannot deadlock. */
  executeQuery<T>(fn: (client: SupabaseClient) => PromiseLike<T> | T, isAdmin?: boolean): Promise<T>;
}

/** `OpenAIPool`, the OpenAI pool manager apps migrate from, on the process-wide OpenAI pool. */
export interface OpenAIPoolApi extends OpenAIFacade {
  /** As `DatabasePool.initialize`: before first use; `timeout` is the SDK's overall timeout. */
  initialize(settings?: Partial<OpenAIPoolConfig>): void;
  getClient(): OpenAI;
  /** Runs `fn` with the client. The model label is read from each response (allow-listed); `model` is accepted for compatibility. */
  executeRequest<T>(fn: (client: OpenAI) => PromiseLike<T> | T, model?: string): Promise<T>;
}

export const DatabasePool: DatabasePoolApi = {
  initialize(settings = {}) {
    const config = processClients?.config ?? loadConfig(process.env);
    const target = config.supabase ? 'supabase' : 'postgres';
    const options = databaseInitializeOptions(settings, target);
    if (processClients) {
      assertUnchanged(settings, databaseFacade().getPoolConfig(), 'DatabasePool', target);
      return;
    }
    pendingSettings.database = { ...pendingSettings.database, ...settings };
    if (target === 'postgres') pending.poolOptions.postgres = { ...pending.poolOptions.postgres, ...options.postgres };
    else pending.poolOptions.supabase = mergePoolOptions(pending.poolOptions.supabase ?? {}, options.supabase);
  },
  getAdminClient: getSupabaseAdminClient,
  getUserClient: getSupabaseClient,
  executeQuery: async (fn, isAdmin = false) => fn(isAdmin ? getSupabaseAdminClient() : getSupabaseClient()),
  getStats: () => databaseFacade().getStats(),
  getPoolConfig: () => databaseFacade().getPoolConfig(),
  getQueueStatus: () => databaseFacade().getQueueStatus(),
  resetStats: () => databaseFacade().resetStats(),
  healthCheck: (timeoutMs) => databaseFacade().healthCheck(timeoutMs),
  close: () => databaseFacade().close(),
};

export const OpenAIPool: OpenAIPoolApi = {
  initialize(settings = {}) {
    const { openai: options, timeoutMs } = openaiInitializeOptions(settings);
    if (processClients) {
      assertUnchanged(settings, openaiFacade().getPoolConfig(), 'OpenAIPool', 'openai');
      return;
    }
    pendingSettings.openai = { ...pendingSettings.openai, ...settings };
    pending.poolOptions.openai = mergePoolOptions(pending.poolOptions.openai ?? {}, options);
    if (timeoutMs !== undefined) pending.openaiTimeoutMs = timeoutMs;
  },
  getClient: getOpenAIClient,
  executeRequest: async (fn) => fn(getOpenAIClient()),
  getStats: () => openaiFacade().getStats(),
  getPoolConfig: () => openaiFacade().getPoolConfig(),
  getQueueStatus: () => openaiFacade().getQueueStatus(),
  resetStats: () => openaiFacade().resetStats(),
  healthCheck: (timeoutMs) => openaiFacade().healthCheck(timeoutMs),
  close: () => openaiFacade().close(),
};

/** The Pinecone equivalent of `DatabasePool`, over the data-plane pool. */
export const PineconePool: PoolManagerFacade = lazy(() =>
  required(getClients().pinecone, 'the Pinecone pool', 'PINECONE_API_KEY'),
);

/** `testConnection()`, as apps import it from their database module: whether the database answers its health check now. Never rejects for a down database. */
export async function testConnection(): Promise<boolean> {
  return (await DatabasePool.healthCheck()).healthy;
}

/** `checkDatabaseHealth()`, as apps import it: the database health check's full result. */
export function checkDatabaseHealth(): Promise<HealthCheckResult & { stats: PoolManagerStats }> {
  return DatabasePool.healthCheck();
}

/** `testOpenAIConnection()`, as apps import it from their OpenAI module: whether OpenAI answers its health check (`GET /models`) now. */
export async function testOpenAIConnection(): Promise<boolean> {
  return (await OpenAIPool.healthCheck()).healthy;
}

function databaseFacade(): PoolManagerFacade {
  return required(getClients().database, 'the database pool', 'SUPABASE_URL (with a Supabase key) or DATABASE_URL');
}

function openaiFacade(): OpenAIFacade {
  return required(getClients().openai, 'the OpenAI pool', 'OPENAI_API_KEY');
}
