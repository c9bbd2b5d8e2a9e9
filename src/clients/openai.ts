import type OpenAI from 'openai';
import type { OpenAIConfig } from '../config/types.js';
import { mergePoolOptions, openaiPoolOptions } from '../config/pool-options.js';
import { loadPeer } from '../peers.js';
import { asPoolFetch, createPool, type UpstreamPool } from '../pool/pool.js';
import type { RequestDescriptor } from '../pool/options.js';
import { checkUpstream } from './health-check.js';
import { ModelLabels } from './model-labels.js';
import { OpenAIUsage, instrumentOpenAIFetch } from './openai-usage.js';
import { once, type UpstreamSetup } from './upstream-setup.js';
import type { HealthCheckResult } from './types.js';

/** The OpenAI resources that become operation names; anything else is `other`. */
const RESOURCES = new Set([
  'completions',
  'embeddings',
  'responses',
  'models',
  'moderations',
  'images',
  'files',
  'batches',
  'uploads',
  'vector_stores',
  'assistants',
  'threads',
  'fine_tuning',
  'conversations',
  'realtime',
]);

/** `POST /v1/chat/completions` → `chat.completions`; `GET /v1/models/gpt-4o` → `models`. */
export function openaiOperation(url: URL | string, basePath: string): string {
  const pathname = typeof url === 'string' ? new URL(url).pathname : url.pathname;
  const path = pathname.startsWith(basePath) ? pathname.slice(basePath.length) : pathname;
  const [first = '', second = ''] = path.split('/').filter(Boolean);
  if (first === 'chat' && second === 'completions') return 'chat.completions';
  if (first === 'audio' && ['transcriptions', 'translations', 'speech'].includes(second)) return `audio.${second}`;
  return RESOURCES.has(first) ? first : 'other';
}

export interface OpenAIClientHandle {
  pool: UpstreamPool;
  /** The SDK client, built on first read. */
  readonly client: OpenAI;
  usage: OpenAIUsage;
  config: OpenAIConfig;
  /** The SDK's own overall timeout (`OPENAI_TIMEOUT`, or `OpenAIPool.initialize({ timeout })`). */
  timeoutMs: number;
  healthCheck(timeoutMs?: number): Promise<HealthCheckResult>;
}

/**
 * The official OpenAI SDK on a poolscope pool: the SDK's own retries are off (the pool owns them and counts
 * them); tokens, time-to-first-token and rate-limit headroom are recorded from every response.
 */
export function createOpenAIClient(
  config: OpenAIConfig,
  setup: UpstreamSetup & { timeoutMs?: number },
): OpenAIClientHandle {
  const { metrics } = setup;
  const basePath = new URL(config.baseURL).pathname.replace(/\/$/, '');
  const base = openaiPoolOptions(config);
  const pool = createPool(
    mergePoolOptions(
      base,
      {
        name: setup.name(base.name),
        registry: metrics.registry,
        // OpenAI's completions are safe to repeat, so its SDK retries these statuses for POSTs too.
        retry: { statuses: [408, 409, 429, 500, 502, 503, 504], nonIdempotent: true },
        operationOf: ({ url }: RequestDescriptor) => openaiOperation(url, basePath),
      },
      setup.overrides,
    ),
  );
  const usage = new OpenAIUsage();
  const fetch = instrumentOpenAIFetch(
    pool,
    (url) => openaiOperation(url, basePath),
    metrics,
    new ModelLabels(config.models),
    usage,
  );
  const timeoutMs = setup.timeoutMs ?? config.timeoutSeconds * 1000;
  const client = once(() => {
    const { OpenAI: OpenAIClass } = loadPeer<{ OpenAI: typeof OpenAI }>('openai', pool.name);
    return new OpenAIClass({
      apiKey: config.apiKey,
      baseURL: config.baseURL,
      fetch: asPoolFetch(fetch),
      maxRetries: 0,
      timeout: timeoutMs,
    });
  });
  return {
    pool,
    get client() {
      return client();
    },
    usage,
    config,
    timeoutMs,
    healthCheck: (checkTimeoutMs) =>
      checkUpstream(
        pool,
        metrics,
        'OpenAI',
        `${config.baseURL.replace(/\/$/, '')}/models`,
        { headers: { authorization: `Bearer ${config.apiKey}` } },
        checkTimeoutMs,
      ),
  };
}
