import type { Response } from 'undici';
import type { PoolscopeMetrics } from '../metrics/families.js';
import type { FetchInit, FetchInput, UndiciFetch, UpstreamPool } from '../pool/pool.js';
import type { RateLimitSnapshot } from '../health/evaluate.js';
import type { ModelLabels } from './model-labels.js';

/** Operations whose responses carry `usage`. */
const USAGE_OPERATIONS = new Set(['chat.completions', 'completions', 'embeddings', 'responses']);

/** Counters for `OpenAIPool.getStats()` (`OpenAIStats`) that the pool does not keep itself. */
export class OpenAIUsage {
  requestsByModel: Record<string, number> = {};
  responsesWithUsage = 0;
  tokensUsed = 0;
  readonly rateLimits = new Map<'requests' | 'tokens', { remaining: number; limit: number }>();

  reset(): void {
    this.requestsByModel = {};
    this.responsesWithUsage = 0;
    this.tokensUsed = 0;
  }

  get averageTokensUsed(): number {
    return this.responsesWithUsage === 0 ? 0 : Math.round(this.tokensUsed / this.responsesWithUsage);
  }

  rateLimitSnapshots(pool: string): RateLimitSnapshot[] {
    return [...this.rateLimits].map(([limitType, v]) => ({ pool, limitType, remaining: v.remaining, limit: v.limit }));
  }
}

/**
 * Wraps the OpenAI pool's fetch to read what every response says about usage: the `x-ratelimit-*` headers
 * (429s included, which the SDK's own error drops), and `usage` from the body — read from a clone, so the
 * SDK's stream is untouched and the slot stays held until the upstream finishes sending.
 */
export function instrumentOpenAIFetch(
  pool: UpstreamPool,
  operationOf: (url: string) => string,
  metrics: PoolscopeMetrics,
  models: ModelLabels,
  usage: OpenAIUsage,
): UndiciFetch {
  // Every response, retried 429s included: they carry the rate-limit headers that matter most.
  pool.on('response', ({ headers }) => recordRateLimits(headers, pool.name, metrics, usage));
  return async (input: FetchInput, init?: FetchInit): Promise<Response> => {
    const startedAt = performance.now();
    const response = await pool.fetch(input, init);
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (response.ok && response.body && USAGE_OPERATIONS.has(operationOf(url))) {
      const copy = response.clone();
      const streaming = (response.headers.get('content-type') ?? '').includes('text/event-stream');
      const reading = streaming
        ? readStream(copy, pool, startedAt, metrics, models, usage)
        : readJson(copy, pool, metrics, models, usage);
      // A body that errors (aborted stream, timeout) simply reports no usage: the pool counts the failure.
      reading.catch(() => undefined);
    }
    return response;
  };
}

function recordRateLimits(
  headers: { get(name: string): string | null },
  pool: string,
  metrics: PoolscopeMetrics,
  usage: OpenAIUsage,
): void {
  for (const limitType of ['requests', 'tokens'] as const) {
    const remaining = Number(headers.get(`x-ratelimit-remaining-${limitType}`) ?? Number.NaN);
    if (!Number.isFinite(remaining)) continue;
    const limit = Number(headers.get(`x-ratelimit-limit-${limitType}`) ?? Number.NaN);
    metrics.rateLimitRemaining.set({ pool, limit_type: limitType }, remaining);
    if (Number.isFinite(limit)) metrics.rateLimitLimit.set({ pool, limit_type: limitType }, limit);
    usage.rateLimits.set(limitType, { remaining, limit: Number.isFinite(limit) ? limit : remaining });
  }
}

interface UsageBody {
  model?: unknown;
  usage?: {
    prompt_tokens?: number;
    completion_tokens?: number;
    input_tokens?: number;
    output_tokens?: number;
  } | null;
}

function recordUsage(
  body: UsageBody,
  pool: UpstreamPool,
  metrics: PoolscopeMetrics,
  models: ModelLabels,
  usage: OpenAIUsage,
): void {
  const model = models.labelFor(body.model);
  usage.requestsByModel[model] = (usage.requestsByModel[model] ?? 0) + 1;
  const u = body.usage;
  if (!u) return;
  const input = u.prompt_tokens ?? u.input_tokens ?? 0;
  const output = u.completion_tokens ?? u.output_tokens ?? 0;
  metrics.openaiTokens.inc({ pool: pool.name, model, token_type: 'input' }, input);
  metrics.openaiTokens.inc({ pool: pool.name, model, token_type: 'output' }, output);
  pool.recordTokens(input + output);
  usage.responsesWithUsage++;
  usage.tokensUsed += input + output;
}

async function readJson(
  response: Response,
  pool: UpstreamPool,
  metrics: PoolscopeMetrics,
  models: ModelLabels,
  usage: OpenAIUsage,
): Promise<void> {
  recordUsage((await response.json()) as UsageBody, pool, metrics, models, usage);
}

/**
 * Follows an SSE stream: the first content chunk gives time-to-first-token, the chunk with `usage`
 * (chat: `stream_options.include_usage`; Responses API: `response.completed`) gives the tokens.
 */
async function readStream(
  response: Response,
  pool: UpstreamPool,
  startedAt: number,
  metrics: PoolscopeMetrics,
  models: ModelLabels,
  usage: OpenAIUsage,
): Promise<void> {
  const decoder = new TextDecoder();
  let buffer = '';
  let firstTokenSeen = false;
  let model: unknown;
  let counted = false;
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let boundary: number;
    while ((boundary = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const event = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary).replace(/^\r?\n\r?\n/, '');
      const data = event
        .split(/\r?\n/)
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).trimStart())
        .join('\n');
      if (!data || data === '[DONE]') continue;
      let parsed: UsageBody & { type?: string; response?: UsageBody; choices?: unknown[] };
      try {
        parsed = JSON.parse(data) as typeof parsed;
      } catch {
        continue;
      }
      model ??= parsed.model ?? parsed.response?.model;
      const isContent =
        parsed.type === 'response.output_text.delta' || (Array.isArray(parsed.choices) && parsed.choices.length > 0);
      if (!firstTokenSeen && isContent) {
        firstTokenSeen = true;
        metrics.openaiTimeToFirstToken.observe(
          { pool: pool.name, model: models.labelFor(model) },
          (performance.now() - startedAt) / 1000,
        );
      }
      const final = parsed.type === 'response.completed' ? parsed.response : parsed;
      if (final?.usage && !counted) {
        counted = true;
        recordUsage({ model: final.model ?? model, usage: final.usage }, pool, metrics, models, usage);
      }
    }
  }
  if (!counted) {
    const label = models.labelFor(model);
    usage.requestsByModel[label] = (usage.requestsByModel[label] ?? 0) + 1;
  }
}
