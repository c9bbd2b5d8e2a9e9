import type { Index, Pinecone } from '@pinecone-database/pinecone';
import type { PineconeConfig } from '../config/types.js';
import { mergePoolOptions, pineconePoolOptions } from '../config/pool-options.js';
import { ConfigError } from '../errors/index.js';
import { PoolOriginError } from '../errors/index.js';
import { loadPeer } from '../peers.js';
import {
  asPoolFetch,
  createPool,
  safeOrigin,
  type FetchInit,
  type FetchInput,
  type UpstreamPool,
} from '../pool/pool.js';
import type { RequestDescriptor } from '../pool/options.js';
import { checkUpstream } from './health-check.js';
import { urlOf } from './sdk-fetch.js';
import { once, type UpstreamSetup } from './upstream-setup.js';
import type { HealthCheckResult } from './types.js';

export const PINECONE_CONTROLLER_URL = 'https://api.pinecone.io';
// The API version the pinned SDK (8.2) speaks; health checks send the same one.
const PINECONE_API_VERSION = '2026-04';

const DATA_OPERATIONS: Record<string, string> = {
  '/query': 'query',
  '/vectors/upsert': 'upsert',
  '/vectors/fetch': 'fetch',
  '/vectors/delete': 'delete',
  '/vectors/update': 'update',
  '/vectors/list': 'list',
  '/describe_index_stats': 'describe_index_stats',
};

/** Data-plane operations by path; control-plane ones by path and method (`describe_index`, `list_indexes`...). */
export function pineconeOperation({ method, url }: RequestDescriptor): string {
  const data = DATA_OPERATIONS[url.pathname];
  if (data) return data;
  const [resource = '', name] = url.pathname.split('/').filter(Boolean);
  if (resource === 'indexes') {
    if (name === undefined) return method === 'POST' ? 'create_index' : 'list_indexes';
    return method === 'DELETE' ? 'delete_index' : method === 'PATCH' ? 'configure_index' : 'describe_index';
  }
  if (resource === 'collections') return 'collections';
  return 'other';
}

export interface PineconeClientHandle {
  /** The data-plane pool (`pool="pinecone"`): queries and upserts. Undefined until the index host is known. */
  pool(): UpstreamPool | undefined;
  /** The control-plane pool (`pool="pinecone_control"`): describe/list/create index. */
  controlPool: UpstreamPool;
  /** The SDK client, built on first read. */
  readonly client: Pinecone;
  config: PineconeConfig;
  /** The configured index, its host resolved once (single-flight, cached) or taken from PINECONE_INDEX_HOST. */
  index(): Promise<Index>;
  healthCheck(timeoutMs?: number): Promise<HealthCheckResult>;
}

/**
 * The official Pinecone SDK on two pools, one per origin: the control plane (`api.pinecone.io`) and the index's
 * data plane host. Separate pool names keep the metrics honest: a slow `describe_index` never shows up as
 * query latency. The SDK's own retries are off; the pools own and count every retry.
 */
export function createPineconeClient(config: PineconeConfig, setup: UpstreamSetup): PineconeClientHandle {
  const { metrics } = setup;
  const controllerUrl = withScheme(config.controllerHost ?? PINECONE_CONTROLLER_URL);
  const timeouts = pineconePoolOptions(config, controllerUrl).timeouts;
  const controlPool = createPool(
    mergePoolOptions(
      {
        name: setup.name('pinecone_control'),
        origin: new URL(controllerUrl).origin,
        connections: 2,
        ...(timeouts && { timeouts }),
        registry: metrics.registry,
        operationOf: pineconeOperation,
        retry: { statuses: [429, 500, 502, 503, 504] },
      },
      // The control plane keeps its own small size: only the caller's timeouts, retries and TLS apply to it.
      setup.overrides && { ...pick(setup.overrides, ['timeouts', 'retry', 'tls']) },
    ),
  );
  let dataPool: UpstreamPool | undefined;
  const dataPoolFor = (host: string): UpstreamPool => {
    const origin = new URL(withScheme(host)).origin;
    if (dataPool && dataPool.origin !== origin)
      throw new PoolOriginError(setup.name('pinecone'), dataPool.origin, origin);
    if (dataPool) return dataPool;
    const base = pineconePoolOptions(config, origin);
    dataPool = createPool(
      mergePoolOptions(
        base,
        {
          name: setup.name(base.name),
          registry: metrics.registry,
          operationOf: pineconeOperation,
          // Query, upsert, fetch and delete are idempotent in effect, so 5xx POSTs are retried here, once.
          retry: { statuses: [429, 500, 502, 503, 504], nonIdempotent: true },
        },
        setup.overrides,
      ),
    );
    return dataPool;
  };
  if (config.indexHost) dataPoolFor(config.indexHost);

  const fetchApi = (input: FetchInput, init?: FetchInit) => {
    const url = urlOf(input);
    // Data plane first: a proxy or local setup may serve both planes from one origin.
    if (dataPool && url.startsWith(dataPool.origin)) return dataPool.fetch(input, init);
    if (url.startsWith(controlPool.origin)) return controlPool.fetch(input, init);
    return Promise.reject(
      new PoolOriginError(setup.name('pinecone'), dataPool?.origin ?? controlPool.origin, safeOrigin(url)),
    );
  };
  const sdkClient = once(() => {
    const { Pinecone: PineconeClass } = loadPeer<{ Pinecone: typeof Pinecone }>(
      '@pinecone-database/pinecone',
      controlPool.name,
    );
    return new PineconeClass({
      apiKey: config.apiKey,
      controllerHostUrl: controllerUrl,
      fetchApi: asPoolFetch(fetchApi),
      maxRetries: 0,
    });
  });

  // The SDK's `index({ name })` describes the index on every concurrent first call; resolve the host once.
  let resolving: Promise<Index> | undefined;
  const index = (): Promise<Index> => {
    resolving ??= (async () => {
      const client = sdkClient();
      if (config.indexHost)
        return client.index({
          host: withScheme(config.indexHost),
          ...(config.indexName ? { name: config.indexName } : {}),
        });
      if (!config.indexName) {
        throw new ConfigError([
          {
            variable: 'PINECONE_INDEX_HOST or PINECONE_INDEX_NAME',
            problem: 'is not set: the Pinecone index needs one',
          },
        ]);
      }
      const described = await client.describeIndex(config.indexName);
      const host = withScheme(described.host);
      dataPoolFor(host);
      return client.index({ name: config.indexName, host });
    })().catch((error: unknown) => {
      resolving = undefined; // a failed lookup may be retried by the next caller
      throw error;
    });
    return resolving;
  };

  return {
    pool: () => dataPool,
    controlPool,
    get client() {
      return sdkClient();
    },
    config,
    index,
    healthCheck: (timeoutMs) => {
      const headers = { 'api-key': config.apiKey, 'x-pinecone-api-version': PINECONE_API_VERSION };
      if (dataPool) {
        return checkUpstream(
          dataPool,
          metrics,
          'Vector store',
          `${dataPool.origin}/describe_index_stats`,
          {
            method: 'POST',
            headers: { ...headers, 'content-type': 'application/json' },
            body: '{}',
          },
          timeoutMs,
        );
      }
      return checkUpstream(
        controlPool,
        metrics,
        'Vector store',
        `${controlPool.origin}/indexes`,
        { headers },
        timeoutMs,
      );
    },
  };
}

/** Pinecone hands out hosts without a scheme; the SDK assumes https, and so do we. */
function withScheme(host: string): string {
  return /^https?:\/\//.test(host) ? host : `https://${host}`;
}

function pick<T extends object, K extends keyof T>(object: T, keys: readonly K[]): Pick<T, K> {
  const picked = {} as Pick<T, K>;
  for (const key of keys) if (object[key] !== undefined) picked[key] = object[key];
  return picked;
}
