/**
 * The labelled demo: with no upstream configured, the service starts the wire simulators of `src/simulators`
 * in-process (plain HTTP on 127.0.0.1), points real clients at them with obviously fake keys, and runs a
 * synthetic workload through the SDKs, so every metric, panel and alert has live data within seconds.
 */
import type { Logger } from 'pino';
import { loadPeer } from '../peers.js';
import type { Clients } from '../clients/index.js';
import { loadConfig } from '../config/load.js';
import type { PoolscopeConfig } from '../config/types.js';
import {
  startOpenAISimulator,
  startPineconeSimulators,
  startSupabaseSimulator,
  type OpenAISimulator,
  type PineconeSimulators,
  type Simulator,
  type SimulatorBehaviour,
  type SupabaseSimulator,
} from '../simulators/index.js';
import { startWorkload, type DemoUpstream, type DemoWorkload, type WorkloadOptions } from './workload.js';

export type { DemoWorkload, DemoUpstream } from './workload.js';

export interface DemoOptions {
  /** Baseline requests per second, all upstreams together. Default 4. */
  ratePerSecond?: number;
  /** Seconds between bursts that saturate one pool. Default 20. */
  burstEverySeconds?: number;
  /** Requests per burst. Default 24. */
  burstSize?: number;
}

export interface DemoEnvironment {
  /** The service's configuration with every upstream pointed at a simulator; `mode` stays `demo`. */
  readonly config: PoolscopeConfig;
  /** Trust for the simulators (undefined: they speak plain HTTP). */
  readonly tls: { ca: string } | undefined;
  readonly simulators: { supabase: SupabaseSimulator; openai: OpenAISimulator; pinecone: PineconeSimulators };
  startWorkload(clients: Clients): DemoWorkload;
  /** Stops the simulators (after the service has closed its pools). */
  close(): Promise<void>;
}

/** Fake keys: the simulators accept exactly these, and nobody could mistake them for real ones. */
export const DEMO_KEYS = {
  supabaseAnon: 'demo-supabase-anon-key-not-a-secret',
  supabaseServiceRole: 'demo-supabase-service-role-key-not-a-secret',
  openai: 'sk-demo-not-a-real-openai-key',
  pinecone: 'pcsk_demo_not_a_real_pinecone_key',
} as const;

const INDEX_NAME = 'poolscope-demo';
const VECTOR_DIMENSION = 8;
/** Small pools, so a burst of 24 saturates one and queues the rest. */
const DEMO_POOL_SIZES = { SUPABASE_POOL_SIZE: '4', PINECONE_POOL_SIZE: '3', OPENAI_MAX_CONCURRENT: '3' } as const;
/** A realistic floor: loopback answers in microseconds, real upstreams do not. */
const BASE_LATENCY_MS: Record<DemoUpstream, number> = { supabase: 15, openai: 60, pinecone: 25, postgres: 0 };
/** How slow an upstream gets during a burst aimed at it, so the burst holds its pool for a few seconds. */
const BURST_LATENCY_MS = 600;
/** Rows the demo table keeps; older inserted rows are dropped so a long-running demo stays small. */
const MAX_ROWS = 200;

export async function startDemo(
  base: PoolscopeConfig,
  options: { logger: Logger; demo?: DemoOptions },
): Promise<DemoEnvironment> {
  const { logger } = options;
  const started: Array<{ close(): Promise<void> }> = [];
  // A real local Postgres when there is one: DATABASE_URL (with --demo), else one answering on 127.0.0.1:5432.
  const databaseUrl = base.database?.url ?? (await localPostgres(logger));
  try {
    const supabase = await startSupabaseSimulator({
      anonKey: DEMO_KEYS.supabaseAnon,
      serviceRoleKey: DEMO_KEYS.supabaseServiceRole,
      behaviour: {
        latencyMs: BASE_LATENCY_MS.supabase,
        // Now and then a 500 from the database: counted as http_5xx, never retried. Only table requests count
        // and fail, so the first one reliably reaches the app's traffic (the REST root is the health check's).
        failRate: { status: 500, ratio: 0.03, message: 'demo: simulated database error', paths: /^\/rest\/v1\/[^/]+$/ },
      },
    });
    started.push(supabase);
    const openai = await startOpenAISimulator({
      apiKey: DEMO_KEYS.openai,
      completionTokens: 24,
      chunkIntervalMs: 15,
      behaviour: {
        latencyMs: BASE_LATENCY_MS.openai,
        // Rate limited now and then, with Retry-After: the pool waits and retries (poolscope_request_retries_total).
        failRate: { status: 429, ratio: 0.05, retryAfterSeconds: 1, kind: 'requests' },
      },
      rateLimits: { limitRequests: 5_000, remainingRequests: 5_000, limitTokens: 400_000, remainingTokens: 400_000 },
    });
    started.push(openai);
    const pinecone = await startPineconeSimulators({
      apiKey: DEMO_KEYS.pinecone,
      indexes: [{ name: INDEX_NAME, dimension: VECTOR_DIMENSION, seedRecords: 20 }],
      dataBehaviour: {
        latencyMs: BASE_LATENCY_MS.pinecone,
        // Occasional 503s, which the data pool retries once.
        failRate: { status: 503, ratio: 0.02 },
      },
    });
    started.push(pinecone);

    const env = {
      SUPABASE_URL: supabase.url,
      SUPABASE_ANON_KEY: DEMO_KEYS.supabaseAnon,
      SUPABASE_SERVICE_ROLE_KEY: DEMO_KEYS.supabaseServiceRole,
      SUPABASE_TABLES: 'uploads,users',
      OPENAI_API_KEY: DEMO_KEYS.openai,
      OPENAI_BASE_URL: openai.baseURL,
      OPENAI_TIMEOUT: '15',
      PINECONE_API_KEY: DEMO_KEYS.pinecone,
      PINECONE_INDEX_NAME: INDEX_NAME,
      PINECONE_CONTROLLER_HOST: pinecone.control.url,
      ...DEMO_POOL_SIZES,
      ...(databaseUrl && { DATABASE_URL: databaseUrl, DATABASE_POOL_SIZE: '4' }),
      // A configured database keeps its fleet budget: a demo on a database other processes share stays under the
      // cap they share.
      ...(base.database?.fleetMaxConcurrent !== undefined &&
        base.fleet && {
          DATABASE_FLEET_MAX_CONCURRENT: String(base.database.fleetMaxConcurrent),
          FLEET_REDIS_URL: base.fleet.redisUrl,
          FLEET_LEASE_MS: String(base.fleet.leaseMs),
          FLEET_ON_UNAVAILABLE: base.fleet.onUnavailable,
        }),
    };
    const upstreams = loadConfig(env);
    if (!databaseUrl)
      logger.info(
        'demo: no PostgreSQL answered on 127.0.0.1:5432 and DATABASE_URL is not set; the direct Postgres pool is off',
      );
    const config: PoolscopeConfig = { ...upstreams, mode: 'demo', service: base.service };
    logger.info(
      {
        simulators: {
          supabase: supabase.url,
          openai: openai.baseURL,
          pinecone_control: pinecone.control.url,
          pinecone: pinecone.data.url,
        },
      },
      'demo simulators started',
    );

    const byUpstream: Partial<Record<DemoUpstream, Simulator>> = { supabase, openai, pinecone: pinecone.data };
    const latency = (upstream: DemoUpstream, ms: number): void => {
      // Postgres is real, not simulated: its burst queries are slow by themselves.
      byUpstream[upstream]?.behave({ latencyMs: ms } satisfies Partial<SimulatorBehaviour>);
    };
    let trim: NodeJS.Timeout | undefined;

    return {
      config,
      tls: undefined,
      simulators: { supabase, openai, pinecone },
      startWorkload(clients) {
        // Every failure signal from the workload's first requests, not 10-20 s in when the failure rates first
        // come round: the dashboard's failure and retry panels (and the e2e that checks them) see data at once.
        // Health-check paths are spared, so no upstream starts out "down".
        supabase.behave({
          failNext: { count: 1, status: 500, message: 'demo: simulated database error', paths: /^\/rest\/v1\/[^/]+$/ },
        });
        openai.behave({
          failNext: {
            count: 1,
            status: 429,
            retryAfterSeconds: 1,
            kind: 'requests',
            paths: /\/(chat\/completions|embeddings)$/,
          },
        });
        pinecone.data.behave({ failNext: { count: 1, status: 503, paths: /^\/(query|vectors\/upsert)$/ } });
        const workload = startWorkload(clients, workloadOptions(options.demo), logger, {
          beforeBurst: (upstream) => latency(upstream, BURST_LATENCY_MS),
          afterBurst: (upstream) => latency(upstream, BASE_LATENCY_MS[upstream]),
        });
        trim = setInterval(() => {
          const rows = supabase.table('uploads');
          if (rows.length > MAX_ROWS) rows.splice(0, rows.length - MAX_ROWS);
        }, 10_000);
        return {
          counts: workload.counts,
          stop: async (deadline) => {
            clearInterval(trim);
            // A burst may have left requests queued behind a slowed simulator: speed it up so they finish now.
            for (const upstream of Object.keys(byUpstream) as DemoUpstream[])
              latency(upstream, BASE_LATENCY_MS[upstream]);
            await workload.stop(deadline);
          },
        };
      },
      async close() {
        clearInterval(trim);
        await Promise.all(started.map((simulator) => simulator.close()));
      },
    };
  } catch (error) {
    await Promise.all(started.map((simulator) => simulator.close()));
    throw error;
  }
}

function workloadOptions(options: DemoOptions = {}): WorkloadOptions {
  return {
    ratePerSecond: options.ratePerSecond ?? 4,
    burstEverySeconds: options.burstEverySeconds ?? 20,
    burstSize: options.burstSize ?? 24,
    maxInFlight: 64,
    vectorDimension: VECTOR_DIMENSION,
  };
}

/** The local PostgreSQL's URL if one accepts a trust-auth connection as `postgres` within 2 s; else undefined. */
async function localPostgres(logger: Logger): Promise<string | undefined> {
  const url = 'postgres://postgres@127.0.0.1:5432/postgres';
  let pg: { Client: typeof import('pg').Client };
  try {
    pg = loadPeer('pg');
  } catch {
    return undefined;
  }
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return url;
  } catch (error) {
    logger.debug({ code: (error as { code?: string }).code }, 'demo: no usable local PostgreSQL');
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}
