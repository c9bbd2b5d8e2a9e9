import { once } from 'node:events';
import { inspect } from 'node:util';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createClients, loadConfig, type Clients } from '../src/index.js';
import { startOpenAISimulator, startPineconeSimulators, startSupabaseSimulator } from '../src/simulators/index.js';
import { metricValue } from './support/metrics.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function clients(env: Record<string, string>, registry = new Registry()): Clients {
  const created = createClients(loadConfig(env), { registry });
  cleanups.push(() => created.close(1_000));
  return created;
}

const OPENAI_KEY = 'sk-test-openai-SECRET-0123456789abcdef';
const ANON_KEY = 'anon-SECRET-key-0123456789';
const SERVICE_KEY = 'service-role-SECRET-key-0123456789';
const PINECONE_KEY = 'pcsk_test_SECRET_0123456789';

async function openaiUpstream(options: Parameters<typeof startOpenAISimulator>[0] = {}) {
  const sim = await startOpenAISimulator({ apiKey: OPENAI_KEY, ...options });
  cleanups.push(() => sim.close());
  return sim;
}

describe('the OpenAI client runs the official SDK on pool "openai"', () => {
  it('sends 100 concurrent completions over at most OPENAI_MAX_CONCURRENT sockets, all succeeding, tokens as sent', async () => {
    const sim = await openaiUpstream({ behaviour: { latencyMs: 5 } });
    const registry = new Registry();
    const { sdk } = clients(
      { OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: sim.baseURL, OPENAI_MAX_CONCURRENT: '8' },
      registry,
    );
    const replies = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        sdk.openai!.chat.completions.create({
          model: i % 2 ? 'gpt-4o-mini' : 'gpt-4o-2024-08-06',
          messages: [{ role: 'user', content: `hi ${i}` }],
        }),
      ),
    );
    expect(replies).toHaveLength(100);
    expect(sim.stats.peakOpenSockets).toBeLessThanOrEqual(8);
    const sent = sim.usageSent.byModel;
    expect(
      await metricValue(registry, 'poolscope_openai_tokens_total', { model: 'gpt-4o-mini', token_type: 'input' }),
    ).toBe(sent['gpt-4o-mini']!.promptTokens);
    expect(
      await metricValue(registry, 'poolscope_openai_tokens_total', { model: 'gpt-4o', token_type: 'output' }),
    ).toBe(sent['gpt-4o-2024-08-06']!.completionTokens);
    expect(
      await metricValue(registry, 'poolscope_ratelimit_remaining', { pool: 'openai', limit_type: 'requests' }),
    ).toBe(sim.rateLimits.remainingRequests);
    expect(await metricValue(registry, 'poolscope_ratelimit_remaining', { pool: 'openai', limit_type: 'tokens' })).toBe(
      sim.rateLimits.remainingTokens,
    );
    expect(await metricValue(registry, 'poolscope_ratelimit_limit', { pool: 'openai', limit_type: 'requests' })).toBe(
      sim.rateLimits.limitRequests,
    );
    expect(
      await metricValue(registry, 'poolscope_request_duration_seconds_count', {
        pool: 'openai',
        operation: 'chat.completions',
        outcome: 'success',
      }),
    ).toBe(100);
  });

  it('holds the slot of a streaming completion until the stream ends, then counts its usage and time to first token', async () => {
    const sim = await openaiUpstream();
    const registry = new Registry();
    const c = clients(
      { OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: sim.baseURL, OPENAI_MAX_CONCURRENT: '2' },
      registry,
    );
    sim.holdStreams();
    const stream = await c.sdk.openai!.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'stream please' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    await sim.waitForHeldStreams(1);
    const pool = c.handles.openai!.pool;
    expect(pool.stats().activeRequests).toBe(1);
    const ended = once(pool, 'request:end');
    sim.releaseStreams();
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    await ended;
    expect(text.length).toBeGreaterThan(0);
    expect(pool.stats().activeRequests).toBe(0);
    const usage = sim.usageSent.last!;
    expect(
      await metricValue(registry, 'poolscope_openai_tokens_total', { model: 'gpt-4o-mini', token_type: 'output' }),
    ).toBe(usage.completionTokens);
    expect(
      await metricValue(registry, 'poolscope_openai_time_to_first_token_seconds_count', { model: 'gpt-4o-mini' }),
    ).toBe(1);
  });

  it("retries a 429 after its Retry-After once (the SDK's own retries are off), reading the 429's rate-limit headers", async () => {
    const sim = await openaiUpstream();
    const registry = new Registry();
    const { sdk, handles } = clients({ OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: sim.baseURL }, registry);
    sim.setRateLimits({ remainingRequests: 0 });
    sim.behave({ failNext: { count: 1, status: 429, retryAfterSeconds: 1, kind: 'requests' } });
    const seen = once(handles.openai!.pool, 'response');
    const pending = sdk.openai!.embeddings.create({ model: 'text-embedding-3-small', input: 'pools' });
    expect((await seen)[0]).toMatchObject({ status: 429 });
    // The 429 told us the window is empty, before any retry happened.
    expect(
      await metricValue(registry, 'poolscope_ratelimit_remaining', { pool: 'openai', limit_type: 'requests' }),
    ).toBe(0);
    sim.setRateLimits({ remainingRequests: 100 });
    const started = performance.now();
    const reply = await pending;
    expect(reply.data).toHaveLength(1);
    expect(performance.now() - started).toBeGreaterThanOrEqual(900);
    expect(sim.stats.requests).toBe(2);
    expect(
      await metricValue(registry, 'poolscope_request_retries_total', { pool: 'openai', reason: 'rate_limited' }),
    ).toBe(1);
  });
});

describe('the Supabase clients share one pool "supabase"', () => {
  it('serves 100 concurrent queries from the anon and admin clients over at most SUPABASE_POOL_SIZE sockets', async () => {
    const sim = await startSupabaseSimulator({
      anonKey: ANON_KEY,
      serviceRoleKey: SERVICE_KEY,
      behaviour: { latencyMs: 5 },
    });
    cleanups.push(() => sim.close());
    const registry = new Registry();
    const c = clients(
      {
        SUPABASE_URL: sim.url,
        SUPABASE_ANON_KEY: ANON_KEY,
        SUPABASE_SERVICE_ROLE_KEY: SERVICE_KEY,
        SUPABASE_POOL_SIZE: '6',
        SUPABASE_TABLES: 'uploads',
      },
      registry,
    );
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        (i % 2 ? c.sdk.supabaseAdmin! : c.sdk.supabase!).from('uploads').select('*').limit(5),
      ),
    );
    expect(results.every((r) => r.error === null && Array.isArray(r.data))).toBe(true);
    expect(sim.requestsByRole).toEqual({ anon: 50, service_role: 50 });
    expect(sim.stats.peakOpenSockets).toBeLessThanOrEqual(6);
    expect(c.pools().map((p) => p.name)).toEqual(['supabase']);
    expect(
      await metricValue(registry, 'poolscope_request_duration_seconds_count', {
        pool: 'supabase',
        operation: 'select:uploads',
        outcome: 'success',
      }),
    ).toBe(100);
    const { data } = await c.sdk.supabaseAdmin!.from('uploads').upsert({ id: 1, path: 'a.txt' }).select();
    expect(data).toHaveLength(1);
    expect(
      await metricValue(registry, 'poolscope_request_duration_seconds_count', {
        pool: 'supabase',
        operation: 'upsert:uploads',
        outcome: 'success',
      }),
    ).toBe(1);
  });

  it("counts the SDK's own retries of a 503 (X-Retry-Count) instead of adding the pool's on top", async () => {
    const sim = await startSupabaseSimulator({ anonKey: ANON_KEY, serviceRoleKey: SERVICE_KEY });
    cleanups.push(() => sim.close());
    const registry = new Registry();
    const c = clients({ SUPABASE_URL: sim.url, SUPABASE_SERVICE_ROLE_KEY: SERVICE_KEY }, registry);
    sim.behave({ failNext: { count: 1, status: 503, retryAfterSeconds: 0 } });
    const { error } = await c.sdk.supabaseAdmin!.from('users').select('*');
    expect(error).toBeNull();
    expect(sim.stats.requests).toBe(2);
    expect(await metricValue(registry, 'poolscope_request_retries_total', { pool: 'supabase', reason: 'sdk' })).toBe(1);
    expect(
      await metricValue(registry, 'poolscope_request_failures_total', {
        pool: 'supabase',
        operation: 'select',
        reason: 'http_5xx',
      }),
    ).toBe(1);
  });

  it("leaves a reset GET to the SDK's own retry (once, counted) and retries a reset idempotent DELETE in the pool", async () => {
    const sim = await startSupabaseSimulator({ anonKey: ANON_KEY, serviceRoleKey: SERVICE_KEY });
    cleanups.push(() => sim.close());
    const registry = new Registry();
    const c = clients({ SUPABASE_URL: sim.url, SUPABASE_SERVICE_ROLE_KEY: SERVICE_KEY }, registry);
    const retries = (reason: string) =>
      metricValue(registry, 'poolscope_request_retries_total', { pool: 'supabase', reason });

    sim.behave({ resetNext: 1 });
    const { error } = await c.sdk.supabaseAdmin!.from('users').select('*');
    expect(error).toBeNull();
    expect(sim.stats.requests).toBe(2); // one reset, one retry: not the pool's retry inside each of the SDK's
    expect(await retries('sdk')).toBe(1);
    expect(await retries('reset')).toBe(0);

    sim.behave({ resetNext: 1 });
    const deleted = await c.sdk.supabaseAdmin!.from('users').delete().eq('id', 999);
    expect(deleted.error).toBeNull();
    expect(sim.stats.requests).toBe(4);
    expect(await retries('reset')).toBe(1);
    expect(await retries('sdk')).toBe(1);
  });
});

describe('the Pinecone client runs control and data plane on their own pools', () => {
  it('resolves the index host once for 50 concurrent first queries, on at most PINECONE_POOL_SIZE data sockets', async () => {
    const sims = await startPineconeSimulators({
      apiKey: PINECONE_KEY,
      indexes: [{ name: 'docs', dimension: 4, seedRecords: 10 }],
      dataBehaviour: { latencyMs: 5 },
    });
    cleanups.push(() => sims.close());
    const c = clients({
      PINECONE_API_KEY: PINECONE_KEY,
      PINECONE_INDEX_NAME: 'docs',
      PINECONE_CONTROLLER_HOST: sims.control.url,
      PINECONE_POOL_SIZE: '5',
    });
    const results = await Promise.all(
      Array.from({ length: 50 }, async () =>
        (await c.pineconeIndex()).query({ topK: 3, vector: [0.1, 0.2, 0.3, 0.4] }),
      ),
    );
    expect(results.every((r) => r.matches.length === 3)).toBe(true);
    expect(sims.control.describeIndexCalls).toEqual({ docs: 1 });
    expect(sims.data.stats.peakOpenSockets).toBeLessThanOrEqual(5);
    expect(
      c
        .pools()
        .map((p) => p.name)
        .sort(),
    ).toEqual(['pinecone', 'pinecone_control']);
  });

  it('retries a data-plane 503 once in the pool, not four times in the SDK and the pool', async () => {
    const sims = await startPineconeSimulators({
      apiKey: PINECONE_KEY,
      indexes: [{ name: 'docs', dimension: 4, seedRecords: 4 }],
    });
    cleanups.push(() => sims.close());
    const registry = new Registry();
    const c = clients(
      { PINECONE_API_KEY: PINECONE_KEY, PINECONE_INDEX_NAME: 'docs', PINECONE_CONTROLLER_HOST: sims.control.url },
      registry,
    );
    const index = await c.pineconeIndex();
    sims.data.behave({ failNext: { count: 1, status: 503 } });
    const result = await index.query({ topK: 2, vector: [1, 0, 0, 0] });
    expect(result.matches).toHaveLength(2);
    expect(sims.data.stats.requests).toBe(2);
    expect(
      await metricValue(registry, 'poolscope_request_retries_total', { pool: 'pinecone', reason: 'unavailable' }),
    ).toBe(1);
  });
});

describe('health checks and secrets', () => {
  it('checks each upstream through its pool and records poolscope_upstream_up', async () => {
    const openai = await openaiUpstream();
    const supabase = await startSupabaseSimulator({ anonKey: ANON_KEY, serviceRoleKey: SERVICE_KEY });
    cleanups.push(() => supabase.close());
    const registry = new Registry();
    const c = clients(
      {
        OPENAI_API_KEY: OPENAI_KEY,
        OPENAI_BASE_URL: openai.baseURL,
        SUPABASE_URL: supabase.url,
        SUPABASE_ANON_KEY: ANON_KEY,
      },
      registry,
    );
    await supabase.stop();
    const results = await c.checkHealth();
    expect(results.openai).toMatchObject({ status: 'healthy', healthy: true });
    expect(results.supabase).toMatchObject({ status: 'unhealthy', healthy: false });
    expect(await metricValue(registry, 'poolscope_upstream_up', { pool: 'openai' })).toBe(1);
    expect(await metricValue(registry, 'poolscope_upstream_up', { pool: 'supabase' })).toBe(0);
    expect(c.healthInput().upstreams.supabase).toMatchObject({ up: false });
  });

  it("reports a saturated but answering upstream healthy: the check does not queue behind the app's requests", async () => {
    const sim = await openaiUpstream();
    const c = clients({
      OPENAI_API_KEY: OPENAI_KEY,
      OPENAI_BASE_URL: sim.baseURL,
      OPENAI_MAX_CONCURRENT: '1',
      OPENAI_POOL_SIZE: '2',
    });
    sim.holdStreams();
    const stream = await c.sdk.openai!.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'hold' }],
      stream: true,
    });
    await sim.waitForHeldStreams(1);
    const pool = c.handles.openai!.pool;
    const queued = pool.fetch(`${sim.baseURL}/models`, { headers: { authorization: `Bearer ${OPENAI_KEY}` } });
    expect(pool.stats()).toMatchObject({ activeRequests: 1, pendingRequests: 1 });
    const { openai } = await c.checkHealth();
    expect(openai).toMatchObject({ status: 'healthy' });
    expect(pool.stats().totalRequests).toBe(0);
    sim.releaseStreams();
    for await (const chunk of stream) void chunk;
    expect((await queued).status).toBe(200);
  });

  it('never lets an API key reach /metrics, stats, health input, facades or errors', async () => {
    const openai = await openaiUpstream();
    const registry = new Registry();
    const c = clients(
      { OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: openai.baseURL, OPENAI_MAX_RETRIES: '0' },
      registry,
    );
    await c.sdk.openai!.models.list();
    openai.behave({ failNext: { count: 1, status: 500 } });
    const error = await c.sdk
      .openai!.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    await openai.stop();
    const down = await c.sdk.openai!.models.list().catch((e: unknown) => e);
    const surfaces = [
      await registry.metrics(),
      JSON.stringify(c.pools().map((p) => p.stats())),
      JSON.stringify(c.healthInput()),
      JSON.stringify(c.openai!.getStats()),
      JSON.stringify(await c.openai!.healthCheck()),
      inspect(error, { depth: 8 }),
      inspect(down, { depth: 8 }),
      JSON.stringify(c.config),
    ];
    for (const text of surfaces) expect(text).not.toContain(OPENAI_KEY);
  });
});
