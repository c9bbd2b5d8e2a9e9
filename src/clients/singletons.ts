import type OpenAI from 'openai';
import type { Index, Pinecone } from '@pinecone-database/pinecone';
import type { SupabaseClient } from '@supabase/supabase-js';
import { loadConfig } from '../config/load.js';
import { createClients, type Clients } from './create-clients.js';
import type { DatabaseFacade, OpenAIFacade, PineconeFacade } from './types.js';

let processClients: Clients | undefined;

/** The process-wide clients, built from the environment on first use (validated then: `ConfigError` names every bad variable). */
export function getClients(): Clients {
  processClients ??= createClients(loadConfig(process.env));
  return processClients;
}

/** Replaces the process-wide clients (e.g. with `createClients(config)` in an app that configures in code). */
export function setClients(clients: Clients | undefined): void {
  processClients = clients;
}

function required<T>(value: T | undefined, what: string, variables: string): T {
  if (value === undefined) throw new Error(`${what} is not configured: set ${variables}`);
  return value;
}

/** The anon-key Supabase client on the shared `supabase` pool (reference 000's `get_supabase_client()`). */
export function getSupabaseClient(): SupabaseClient {
  return required(getClients().sdk.supabase, 'The Supabase client', 'SUPABASE_URL and SUPABASE_ANON_KEY');
}

/** The service-role Supabase client, on the same pool as `getSupabaseClient()`. */
export function getSupabaseAdminClient(): SupabaseClient {
  return required(getClients().sdk.supabaseAdmin, 'The Supabase admin client', 'SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY');
}

export function getOpenAIClient(): OpenAI {
  return required(getClients().sdk.openai, 'The OpenAI client', 'OPENAI_API_KEY');
}

export function getPineconeClient(): Pinecone {
  return required(getClients().sdk.pinecone, 'The Pinecone client', 'PINECONE_API_KEY');
}

/** The configured Pinecone index, its host resolved once for the whole process. */
export function getPineconeIndex(): Promise<Index> {
  return getClients().pineconeIndex();
}

/** An object that builds its target on first property access (reference 004's eager exports, made lazy). */
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

/** Reference 004's `supabase` export: the anon client, created on first use. */
export const supabase: SupabaseClient = lazy(getSupabaseClient);
/** Reference 004's `supabaseAdmin` export: the service-role client, created on first use. */
export const supabaseAdmin: SupabaseClient = lazy(getSupabaseAdminClient);
/** Reference 004's `openai` export, created on first use. */
export const openai: OpenAI = lazy(getOpenAIClient);

function facade<F extends object>(get: () => F | undefined, what: string, variables: string): F {
  return lazy(() => required(get(), what, variables));
}

/** Reference 004's `DatabasePool`, on the process-wide Supabase pool. */
export interface DatabasePoolApi extends DatabaseFacade {
  getAdminClient(): SupabaseClient;
  getUserClient(): SupabaseClient;
  /** Runs `fn` with the admin or user client. The pool records the requests; no extra slot is taken, so it cannot deadlock. */
  executeQuery<T>(fn: (client: SupabaseClient) => PromiseLike<T> | T, isAdmin?: boolean): Promise<T>;
}

/** Reference 004's `OpenAIPool`, on the process-wide OpenAI pool. */
export interface OpenAIPoolApi extends OpenAIFacade {
  getClient(): OpenAI;
  /** Runs `fn` with the client. The model label is read from each response (allow-listed); `model` is accepted for compatibility. */
  executeRequest<T>(fn: (client: OpenAI) => PromiseLike<T> | T, model?: string): Promise<T>;
}

export const DatabasePool: DatabasePoolApi = {
  getAdminClient: getSupabaseAdminClient,
  getUserClient: getSupabaseClient,
  executeQuery: async (fn, isAdmin = false) => fn(isAdmin ? getSupabaseAdminClient() : getSupabaseClient()),
  getStats: () => databaseFacade().getStats(),
  getPoolConfig: () => databaseFacade().getPoolConfig(),
  getQueueStatus: () => databaseFacade().getQueueStatus(),
  resetStats: () => databaseFacade().resetStats(),
  healthCheck: () => databaseFacade().healthCheck(),
  close: () => databaseFacade().close(),
};

export const OpenAIPool: OpenAIPoolApi = {
  getClient: getOpenAIClient,
  executeRequest: async (fn) => fn(getOpenAIClient()),
  getStats: () => openaiFacade().getStats(),
  getPoolConfig: () => openaiFacade().getPoolConfig(),
  getQueueStatus: () => openaiFacade().getQueueStatus(),
  resetStats: () => openaiFacade().resetStats(),
  healthCheck: () => openaiFacade().healthCheck(),
  close: () => openaiFacade().close(),
};

/** The Pinecone equivalent of `DatabasePool`, over the data-plane pool. */
export const PineconePool: PineconeFacade = facade(() => getClients().pinecone, 'Pinecone', 'PINECONE_API_KEY');

function databaseFacade(): DatabaseFacade {
  return required(getClients().database, 'The database pool', 'SUPABASE_URL and a Supabase key');
}

function openaiFacade(): OpenAIFacade {
  return required(getClients().openai, 'The OpenAI pool', 'OPENAI_API_KEY');
}
