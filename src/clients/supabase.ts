import type { SupabaseClient, SupabaseClientOptions } from '@supabase/supabase-js';
import { WebSocket } from 'undici';
import type { SupabaseConfig } from '../config/types.js';
import { mergePoolOptions, supabasePoolOptions } from '../config/pool-options.js';
import { loadPeer } from '../peers.js';
import { asPoolFetch, createPool, type UndiciFetch, type UpstreamPool } from '../pool/pool.js';
import type { CallerRetries, RequestDescriptor } from '../pool/options.js';
import { checkUpstream } from './health-check.js';
import { headerOf } from './sdk-fetch.js';
import { once, type UpstreamSetup } from './upstream-setup.js';
import type { HealthCheckResult } from './types.js';

type RealtimeOptions = SupabaseClientOptions<'public'>['realtime'];

const SERVICES: Record<string, string> = {
  auth: 'auth',
  storage: 'storage',
  functions: 'functions',
  realtime: 'realtime',
  graphql: 'graphql',
};

/**
 * Names a Supabase request: PostgREST verbs (`select`, `insert`, `upsert`, `update`, `delete`, `rpc`), with
 * the table or function appended (`select:uploads`) only when it is in the allow-list (`SUPABASE_TABLES`);
 * other Supabase services by name (`auth`, `storage`...). Ids and filters never reach a label.
 */
export function supabaseOperation(request: RequestDescriptor, tables: ReadonlySet<string>): string {
  const [api = '', version = '', table = '', fn = ''] = request.url.pathname.split('/').filter(Boolean);
  if (api !== 'rest' || version !== 'v1') return SERVICES[api] ?? 'other';
  if (table === '') return 'openapi';
  if (table === 'rpc') return tables.has(fn) ? `rpc:${fn}` : 'rpc';
  const verb = postgrestVerb(request);
  return tables.has(table) ? `${verb}:${table}` : verb;
}

function postgrestVerb(request: RequestDescriptor): string {
  switch (request.method) {
    case 'GET':
    case 'HEAD':
      return 'select';
    case 'POST':
      // supabase-js `upsert()` is a POST that asks PostgREST to resolve conflicts.
      return /resolution=(merge|ignore)-duplicates/.test(request.header('prefer') ?? '') ? 'upsert' : 'insert';
    case 'PATCH':
      return 'update';
    case 'DELETE':
      return 'delete';
    default:
      return 'other';
  }
}

export interface SupabaseClientsHandle {
  pool: UpstreamPool;
  /** The anon-key client (`get_supabase_client()`, the `supabase` export), built on first read. */
  readonly client: SupabaseClient | undefined;
  /** The service-role client (the `supabaseAdmin` export), built on first read. */
  readonly adminClient: SupabaseClient | undefined;
  config: SupabaseConfig;
  healthCheck(timeoutMs?: number): Promise<HealthCheckResult>;
}

/** What postgrest-js retries by itself (its RETRYABLE_METHODS and RETRYABLE_STATUS_CODES), up to 3 times. */
const POSTGREST_RETRIES: CallerRetries = {
  methods: ['GET', 'HEAD', 'OPTIONS'],
  statuses: [503, 520],
  networkErrors: true,
};

/** Both Supabase clients on ONE pool for the project's origin (`pool="supabase"`), via `global.fetch`. */
export function createSupabaseClients(config: SupabaseConfig, setup: UpstreamSetup): SupabaseClientsHandle {
  const { metrics } = setup;
  const tables = new Set(config.tables);
  const base = supabasePoolOptions(config);
  const pool = createPool(
    mergePoolOptions(
      base,
      {
        name: setup.name(base.name),
        registry: metrics.registry,
        operationOf: (request) => supabaseOperation(request, tables),
        // postgrest-js retries GET/HEAD/OPTIONS on network errors and 503/520 itself (supabase-js offers no
        // client-wide switch): the pool leaves exactly those to it and owns the rest (429s; 503s and resets of
        // idempotent writes; connections of writes that never opened).
        retry: { statuses: [429, 503], leaveToCaller: POSTGREST_RETRIES },
      },
      setup.overrides,
    ),
  );
  // Its retries carry X-Retry-Count: count them where every other retry is counted.
  const fetch: UndiciFetch = (input, init) => {
    if (headerOf(init?.headers, 'x-retry-count') !== null) pool.recordRetry('sdk');
    return pool.fetch(input, init);
  };
  const make = (key: string) => () =>
    loadPeer<{ createClient: typeof import('@supabase/supabase-js').createClient }>(
      '@supabase/supabase-js',
      pool.name,
    ).createClient(config.url, key, {
      global: { fetch: asPoolFetch(fetch) },
      // Node 20 has no global WebSocket: take it from the same undici as the fetch and dispatcher.
      // Its TypeScript event types differ from realtime-js's `WebSocketLike`; the runtime API is the same.
      realtime: { transport: WebSocket as unknown as NonNullable<NonNullable<RealtimeOptions>['transport']> },
      auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    });
  const healthKey = config.serviceRoleKey ?? config.anonKey ?? '';
  const client = config.anonKey ? once(make(config.anonKey)) : undefined;
  const adminClient = config.serviceRoleKey ? once(make(config.serviceRoleKey)) : undefined;
  return {
    pool,
    get client() {
      return client?.();
    },
    get adminClient() {
      return adminClient?.();
    },
    config,
    healthCheck: (timeoutMs) =>
      checkUpstream(
        pool,
        metrics,
        'Database',
        `${config.url.replace(/\/$/, '')}/rest/v1/`,
        { headers: { apikey: healthKey, authorization: `Bearer ${healthKey}` } },
        timeoutMs,
      ),
  };
}
