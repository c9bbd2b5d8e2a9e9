/**
 * The wire simulators speak each API closely enough that the real SDKs parse their answers, and
 * they misbehave on demand the way the pool tests need. Every test closes what it starts.
 */
import { createRequire } from 'node:module';
import { Errors as PineconeErrors, Pinecone } from '@pinecone-database/pinecone';
import { type SupabaseClient, type SupabaseClientOptions, createClient } from '@supabase/supabase-js';
import OpenAI, { RateLimitError } from 'openai';
import { Agent, Client, Pool, WebSocket, fetch as undiciFetch, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type OpenAISimulator,
  type PineconeSimulators,
  type Simulator,
  type SupabaseSimulator,
  completionText,
  countTokens,
  json,
  simulatedEmbedding,
  seededValues,
  PINECONE_API_VERSIONS,
  startOpenAISimulator,
  startPineconeSimulators,
  startSimulator,
  startSupabaseSimulator,
} from '../src/simulators/index.js';

/** The API version each supported Pinecone SDK major sends; the installed one's is what the simulators must see. */
const PINECONE_API_VERSION_OF_MAJOR: Record<number, string> = { 8: '2026-04', 9: '2026-07' };
const pineconeMajor = Number(
  (createRequire(import.meta.url)('@pinecone-database/pinecone/package.json') as { version: string }).version.split(
    '.',
  )[0],
);

type RealtimeTransport = NonNullable<NonNullable<SupabaseClientOptions<'public'>['realtime']>['transport']>;

/** Things to close after each test, last opened first. */
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function track<T extends { close(): Promise<unknown> }>(thing: T): T {
  cleanups.push(() => thing.close());
  return thing;
}

/** An undici fetch bound to `dispatcher`, typed as the global fetch the SDKs expect. */
function fetchVia(dispatcher: Agent | Pool): typeof globalThis.fetch {
  const f = (input: Parameters<typeof undiciFetch>[0], init?: Parameters<typeof undiciFetch>[1]) =>
    undiciFetch(input, { ...init, dispatcher });
  // undici's Response/body stream types differ nominally from the DOM lib's; the runtime objects are the same.
  return f as unknown as typeof globalThis.fetch;
}

async function openaiSim(options: Parameters<typeof startOpenAISimulator>[0] = {}): Promise<{
  sim: OpenAISimulator;
  client: OpenAI;
}> {
  const sim = track(await startOpenAISimulator({ apiKey: 'sk-test', ...options }));
  const dispatcher = track(new Agent());
  const client = new OpenAI({ apiKey: 'sk-test', baseURL: sim.baseURL, maxRetries: 0, fetch: fetchVia(dispatcher) });
  return { sim, client };
}

describe('OpenAI simulator with the openai SDK', () => {
  it('answers chat.completions.create with the request model and deterministic usage', async () => {
    const { sim, client } = await openaiSim({ completionTokens: 6 });
    const messages = [{ role: 'user' as const, content: 'Say hello to the pool' }];
    const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', messages });

    const prompt = 3 + 4 + countTokens('Say hello to the pool');
    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe('gpt-4o-mini');
    expect(completion.choices[0]?.message.content).toBe(completionText(6));
    expect(completion.usage).toMatchObject({ prompt_tokens: prompt, completion_tokens: 6, total_tokens: prompt + 6 });
    expect(sim.usageSent.byModel['gpt-4o-mini']).toEqual({
      promptTokens: prompt,
      completionTokens: 6,
      totalTokens: prompt + 6,
      responses: 1,
    });
    expect(sim.usageSent.last).toMatchObject({ endpoint: 'chat.completions', model: 'gpt-4o-mini' });
  });

  it('streams chat chunks over SSE and ends with a usage chunk when include_usage is set', async () => {
    const { sim, client } = await openaiSim({ completionTokens: 5 });
    const stream = await client.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'stream please' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      expect(chunk.object).toBe('chat.completion.chunk');
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(completionText(5));
    expect(usage?.completion_tokens).toBe(5);
    expect(sim.usageSent.total.totalTokens).toBe(usage?.total_tokens);
  });

  it('holds a stream open after its first chunk until released', async () => {
    const { sim, client } = await openaiSim();
    sim.holdStreams();
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hold me' }],
      stream: true,
    });
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next(); // role chunk
    await sim.waitForHeldStreams(1);
    expect(sim.openStreams).toBe(1);
    expect(sim.stats.inFlight).toBe(1);

    expect(sim.releaseStreams()).toBe(1);
    let chunks = 1;
    while (!(await iterator.next()).done) chunks++;
    expect(chunks).toBeGreaterThan(2);
    await sim.waitFor(() => sim.openStreams === 0, 'stream end');
    expect(sim.stats.inFlight).toBe(0);
  });

  it('returns embeddings as floats or base64 (the SDK default) with prompt-token usage', async () => {
    const { sim, client } = await openaiSim({ embeddingDimensions: 16 });
    const viaBase64 = await client.embeddings.create({
      model: 'text-embedding-3-small',
      input: ['alpha', 'beta gamma'],
    });
    expect(viaBase64.data).toHaveLength(2);
    expect(viaBase64.data[1]?.embedding).toEqual(simulatedEmbedding('beta gamma', 16));
    expect(viaBase64.usage).toEqual({
      prompt_tokens: countTokens('alpha') + countTokens('beta gamma'),
      total_tokens: 5,
    });

    const viaFloat = await client.embeddings.create({
      model: 'text-embedding-3-small',
      input: 'alpha',
      encoding_format: 'float',
      dimensions: 4,
    });
    expect(viaFloat.data[0]?.embedding).toEqual(simulatedEmbedding('alpha', 4));
    expect(sim.usageSent.byModel['text-embedding-3-small']?.promptTokens).toBe(5 + countTokens('alpha'));
  });

  it('lists models and answers the Responses API with input/output token usage', async () => {
    const { sim, client } = await openaiSim({ completionTokens: 3 });
    const models = [];
    for await (const model of client.models.list()) models.push(model.id);
    expect(models).toContain('gpt-4o-mini');

    const response = await client.responses.create({ model: 'gpt-4o-mini', input: 'hi there' });
    expect(response.output_text).toBe(completionText(3));
    expect(response.usage).toMatchObject({ input_tokens: 3 + 4 + countTokens('hi there'), output_tokens: 3 });

    const stream = await client.responses.create({ model: 'gpt-4o-mini', input: 'hi there', stream: true });
    let completedUsage: number | undefined;
    let deltas = '';
    for await (const event of stream) {
      if (event.type === 'response.output_text.delta') deltas += event.delta;
      if (event.type === 'response.completed') completedUsage = event.response.usage?.total_tokens;
    }
    expect(deltas).toBe(completionText(3));
    expect(completedUsage).toBe(sim.usageSent.last?.totalTokens);
    expect(sim.usageSent.byModel['gpt-4o-mini']?.responses).toBe(2);
  });

  it('sends rate-limit headers on every answer, counting remaining requests and tokens down', async () => {
    const { client } = await openaiSim({ rateLimits: { limitRequests: 100, remainingRequests: 100 } });
    const first = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'one' }] })
      .withResponse();
    const second = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'two' }] })
      .withResponse();
    expect(first.response.headers.get('x-ratelimit-limit-requests')).toBe('100');
    expect(first.response.headers.get('x-ratelimit-remaining-requests')).toBe('99');
    expect(second.response.headers.get('x-ratelimit-remaining-requests')).toBe('98');
    const tokensLeft = (r: Response): number => Number(r.headers.get('x-ratelimit-remaining-tokens'));
    expect(tokensLeft(first.response) - tokensLeft(second.response)).toBe(second.data.usage?.total_tokens);
    expect(second.response.headers.get('x-request-id')).toMatch(/^req_/);
    expect(second.response.headers.get('x-ratelimit-reset-tokens')).toBe('0s');
  });

  it('turns an injected 429 with Retry-After into the SDK RateLimitError', async () => {
    const { sim, client } = await openaiSim();
    sim.setRateLimits({ remainingRequests: 0 });
    sim.behave({ failNext: { count: 1, status: 429, retryAfterSeconds: 7, kind: 'tokens' } });
    const error = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitError);
    const rateLimit = error as RateLimitError;
    expect(rateLimit.headers.get('retry-after')).toBe('7');
    expect(rateLimit.headers.get('retry-after-ms')).toBe('7000');
    expect(rateLimit.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(rateLimit.error).toMatchObject({ type: 'tokens', code: 'rate_limit_exceeded', param: null });
    expect(sim.stats.injectedFailures).toBe(1);
    // The next request is served normally.
    await expect(client.models.list()).resolves.toBeDefined();
  });

  it('answers 429 by itself once remaining requests run out when enforceRateLimits is on', async () => {
    const { client } = await openaiSim({ enforceRateLimits: true, rateLimits: { remainingRequests: 1 } });
    const ask = () =>
      client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'q' }] });
    await expect(ask()).resolves.toBeDefined();
    await expect(ask()).rejects.toMatchObject({ status: 429, type: 'requests' });
  });

  it('rejects a missing or wrong bearer key with 401 in OpenAI error shape, without echoing it', async () => {
    const { sim } = await openaiSim();
    const dispatcher = track(new Agent());
    const wrong = new OpenAI({
      apiKey: 'sk-wrong-secret',
      baseURL: sim.baseURL,
      maxRetries: 0,
      fetch: fetchVia(dispatcher),
    });
    const error = await wrong.models.list().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(String((error as Error).message)).not.toContain('sk-wrong-secret');

    const missing = await request(`${sim.baseURL}/models`);
    expect(missing.statusCode).toBe(401);
    expect(await missing.body.json()).toMatchObject({ error: { type: 'invalid_request_error' } });
    expect(sim.auth).toEqual({ authorized: 0, rejected: 2 });
  });
});

describe('Supabase (PostgREST) simulator with supabase-js', () => {
  async function supabaseSim(): Promise<{
    sim: SupabaseSimulator;
    client: (key: string) => SupabaseClient;
  }> {
    const sim = track(await startSupabaseSimulator({ anonKey: 'anon-123', serviceRoleKey: 'service-456' }));
    const dispatcher = track(new Agent());
    const client = (key: string) =>
      createClient(sim.url, key, {
        global: { fetch: fetchVia(dispatcher) },
        // undici's WebSocket event types differ from realtime-js's WebSocketLike; the runtime API is the same.
        realtime: { transport: WebSocket as unknown as RealtimeTransport },
        auth: { persistSession: false, autoRefreshToken: false },
      });
    return { sim, client };
  }

  it('selects seeded rows with filters, order, limit, exact counts and single()', async () => {
    const { client } = await supabaseSim();
    const db = client('anon-123');
    const all = await db.from('uploads').select('*');
    expect(all.error).toBeNull();
    expect(all.data).toHaveLength(3);

    const latestOfUser = await db
      .from('uploads')
      .select('id, path')
      .eq('user_id', 1)
      .order('id', { ascending: false })
      .limit(1);
    expect(latestOfUser.data).toEqual([{ id: 2, path: 'docs/report.pdf' }]);

    const counted = await db.from('uploads').select('*', { count: 'exact', head: true }).eq('status', 'done');
    expect(counted).toMatchObject({ error: null, count: 2, data: null });

    const one = await db.from('users').select('email').eq('id', 2).single();
    expect(one.data).toEqual({ email: 'alan@example.com' });
  });

  it('inserts, updates and deletes rows, returning them with .select()', async () => {
    const { sim, client } = await supabaseSim();
    const db = client('service-456');
    const inserted = await db
      .from('uploads')
      .insert({ user_id: 2, path: 'new.txt', size_bytes: 3, status: 'pending' })
      .select();
    expect(inserted.status).toBe(201);
    expect(inserted.data).toMatchObject([{ id: 4, path: 'new.txt' }]);

    const minimal = await db.from('uploads').update({ status: 'done' }).eq('id', 4);
    expect(minimal).toMatchObject({ error: null, status: 204 });
    expect(sim.table('uploads').find((r) => r.id === 4)?.status).toBe('done');

    const removed = await db.from('uploads').delete().eq('id', 4).select('id');
    expect(removed.data).toEqual([{ id: 4 }]);
    expect(sim.table('uploads')).toHaveLength(3);
    expect(sim.operations).toMatchObject({ 'insert uploads': 1, 'update uploads': 1, 'delete uploads': 1 });
  });

  it('calls rpc functions and answers unknown ones with PostgREST errors', async () => {
    const { client } = await supabaseSim();
    const db = client('anon-123');
    expect((await db.rpc('echo', { hello: 'world' })).data).toEqual({ hello: 'world' });
    expect((await db.rpc('count_rows', { table_name: 'users' })).data).toBe(2);
    const missing = await db.rpc('nope');
    expect(missing.error).toMatchObject({ code: 'PGRST202' });
    const table = await db.from('nope').select('*');
    expect(table.error).toMatchObject({ code: 'PGRST205', hint: null, details: null });
  });

  it('counts requests by the role of their apikey and rejects unknown keys with 401', async () => {
    const { sim, client } = await supabaseSim();
    await client('anon-123').from('users').select('*');
    await client('anon-123').from('users').select('*');
    await client('service-456').from('users').select('*');
    const rejected = await client('stolen-key').from('users').select('*');
    expect(rejected.status).toBe(401);
    expect(rejected.error?.message).toBe('Invalid API key');
    expect(sim.requestsByRole).toEqual({ anon: 2, service_role: 1 });
    expect(sim.rejectedRequests).toBe(1);
  });

  it('serves the OpenAPI root and auth health for health checks', async () => {
    const { sim } = await supabaseSim();
    const root = await request(`${sim.url}/rest/v1/`, { headers: { apikey: 'anon-123' } });
    expect(root.statusCode).toBe(200);
    expect(await root.body.json()).toMatchObject({ swagger: '2.0', paths: { '/uploads': {} } });
    const health = await request(`${sim.url}/auth/v1/health`, { headers: { apikey: 'anon-123' } });
    expect(await health.body.json()).toMatchObject({ name: 'GoTrue' });
  });

  it('shows supabase-js retrying a GET that got 503 (postgrest-js retries GET/HEAD on 503 and 520)', async () => {
    const { sim, client } = await supabaseSim();
    sim.behave({ failNext: { count: 1, status: 503, retryAfterSeconds: 0 } });
    const result = await client('anon-123').from('users').select('id');
    expect(result.error).toBeNull();
    expect(sim.stats).toMatchObject({ requests: 2, injectedFailures: 1 });

    sim.behave({ failNext: { count: 1, status: 503 } });
    const noRetry = await client('anon-123').from('users').select('id').retry(false);
    expect(noRetry.error).toMatchObject({
      code: 'PGRST001',
      message: 'Database client error. Retrying the connection.',
    });
  });
});

describe('Pinecone control and data plane simulators with the Pinecone SDK', () => {
  async function pineconeSims(options: Parameters<typeof startPineconeSimulators>[0] = {}): Promise<{
    sims: PineconeSimulators;
    pc: Pinecone;
  }> {
    const sims = await startPineconeSimulators(options);
    track(sims);
    const dispatcher = track(new Agent(sims.control.ca ? { connect: { ca: sims.control.ca } } : {}));
    const pc = new Pinecone({
      apiKey: sims.apiKey,
      controllerHostUrl: sims.control.url,
      fetchApi: fetchVia(dispatcher),
      maxRetries: 0,
    });
    return { sims, pc };
  }

  it('lists and describes indexes with a host the SDK can reach over plain HTTP', async () => {
    const { sims, pc } = await pineconeSims({ indexes: [{ name: 'docs', dimension: 4, metric: 'dotproduct' }] });
    const list = await pc.listIndexes();
    expect(list.indexes?.map((i) => i.name)).toEqual(['docs']);
    const described = await pc.describeIndex('docs');
    expect(described).toMatchObject({
      name: 'docs',
      dimension: 4,
      metric: 'dotproduct',
      host: sims.data.origin, // scheme included: without it the SDK would use https://
      status: { ready: true, state: 'Ready' },
      vectorType: 'dense',
      deletionProtection: 'disabled',
      spec: { serverless: { cloud: 'aws', region: 'us-east-1' } },
    });
    expect(sims.control.describeIndexCalls).toEqual({ docs: 1 });
    expect(sims.control.listIndexesCalls).toBe(1);
    await expect(pc.describeIndex('missing')).rejects.toBeInstanceOf(PineconeErrors.PineconeNotFoundError);
  });

  it('queries, upserts, fetches, deletes and describes stats on the data plane', async () => {
    const { sims, pc } = await pineconeSims({ readUnitsPerQuery: 6 });
    const index = pc.index({ name: sims.indexName });
    const result = await index.query({ vector: seededValues(2, 8), topK: 2, includeMetadata: true });
    expect(result.matches[0]).toMatchObject({ id: 'vec-2', metadata: { genre: 'comedy', year: 2022 } });
    expect(result.matches[0]?.score).toBeCloseTo(1, 6);
    expect(result.usage).toEqual({ readUnits: 6 });

    await index.upsert({ records: [{ id: 'new-1', values: [1, 0, 0, 0, 0, 0, 0, 0], metadata: { genre: 'news' } }] });
    const fetched = await index.fetch({ ids: ['new-1', 'absent'] });
    expect(Object.keys(fetched.records)).toEqual(['new-1']);
    expect(fetched.records['new-1']?.metadata).toEqual({ genre: 'news' });

    await index.namespace('other').upsert({ records: [{ id: 'o-1', values: seededValues(9, 8) }] });
    await index.deleteMany({ ids: ['vec-0'] });
    const stats = await index.describeIndexStats();
    expect(stats).toMatchObject({
      dimension: 8,
      totalRecordCount: 6,
      namespaces: { __default__: { recordCount: 5 }, other: { recordCount: 1 } },
    });

    const filtered = await index.query({ vector: seededValues(1, 8), topK: 10, filter: { genre: { $eq: 'drama' } } });
    expect(filtered.matches.map((m) => m.id).sort()).toEqual(['vec-1', 'vec-3']);
    expect(sims.data.readUnitsSent).toBe(6 + 1 + 6);
    expect(sims.data.operations).toMatchObject({ query: 2, upsert: 2, fetch: 1, delete: 1, describe_index_stats: 1 });
    // One describe_index resolved the host for every data-plane call of this Index object.
    expect(sims.control.describeIndexCalls[sims.indexName]).toBe(1);
    const sent = PINECONE_API_VERSION_OF_MAJOR[pineconeMajor];
    expect(
      sent,
      `the API version @pinecone-database/pinecone ${pineconeMajor} sends: teach the simulators it`,
    ).toBeDefined();
    expect(Object.keys(sims.data.apiVersions)).toEqual([sent]);
    expect(Object.keys(sims.control.apiVersions)).toEqual([sent]);
  });

  it('answers describe_index in the shape of each API version it speaks, and refuses others', async () => {
    const sims = track(
      await startPineconeSimulators({ indexes: [{ name: 'docs', dimension: 4, metric: 'dotproduct' }] }),
    );
    const describe = async (version: string) => {
      const res = await request(`${sims.control.url}/indexes/docs`, {
        headers: { 'api-key': sims.apiKey, 'x-pinecone-api-version': version },
      });
      return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
    };
    expect(PINECONE_API_VERSIONS).toEqual(['2026-04', '2026-07']);
    expect(await describe('2026-04')).toMatchObject({
      status: 200,
      body: {
        dimension: 4,
        metric: 'dotproduct',
        vector_type: 'dense',
        spec: { serverless: { cloud: 'aws', region: 'us-east-1' } },
      },
    });
    const current = await describe('2026-07');
    expect(current).toMatchObject({
      status: 200,
      body: {
        deployment: { deployment_type: 'managed', cloud: 'aws', region: 'us-east-1' },
        schema: { fields: { _values: { type: 'dense_vector', dimension: 4, metric: 'dotproduct' } } },
        read_capacity: { mode: 'OnDemand' },
      },
    });
    expect(current.body).not.toHaveProperty('spec');
    expect(current.body).not.toHaveProperty('dimension');
    expect(await describe('2025-01')).toMatchObject({
      status: 400,
      body: { error: { message: expect.stringContaining('Unsupported API version') } },
    });
  });

  it('rejects a vector of the wrong dimension with the data plane error shape', async () => {
    const { sims, pc } = await pineconeSims();
    const error = await pc
      .index({ name: sims.indexName })
      .upsert({ records: [{ id: 'short', values: [1, 2] }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PineconeErrors.PineconeBadRequestError);
    expect(String((error as Error).message)).toContain(
      'Vector dimension 2 does not match the dimension of the index 8',
    );
  });

  it('counts one describe_index per concurrent first use: the SDK does not single-flight host lookups', async () => {
    const { sims, pc } = await pineconeSims({ controlBehaviour: { latencyMs: 50 } });
    await Promise.all([1, 2, 3].map(() => pc.index({ name: sims.indexName }).query({ topK: 1, id: 'vec-1' })));
    expect(sims.control.describeIndexCalls[sims.indexName]).toBe(3);
    await pc.index({ name: sims.indexName }).query({ topK: 1, id: 'vec-1' });
    expect(sims.control.describeIndexCalls[sims.indexName]).toBe(3); // cached from then on
  });

  it('rejects a wrong Api-Key with 401 on the control plane', async () => {
    const { sims } = await pineconeSims();
    const dispatcher = track(new Agent());
    const wrong = new Pinecone({
      apiKey: 'pcsk_wrong',
      controllerHostUrl: sims.control.url,
      fetchApi: fetchVia(dispatcher),
      maxRetries: 0,
    });
    await expect(wrong.listIndexes()).rejects.toBeInstanceOf(PineconeErrors.PineconeAuthorizationError);
    expect(sims.control.rejectedRequests).toBe(1);
  });

  it('serves both planes over HTTPS with a scheme-less host, as the real API does', async () => {
    const { sims, pc } = await pineconeSims({ tls: true });
    expect(sims.control.url).toMatch(/^https:/);
    const described = await pc.describeIndex(sims.indexName);
    expect(described.host).toBe(`127.0.0.1:${sims.data.port}`);
    const result = await pc.index({ name: sims.indexName }).query({ topK: 1, id: 'vec-3' });
    expect(result.matches[0]?.id).toBe('vec-3');
    expect(sims.data.stats.acceptedSockets).toBe(1);
  });
});

describe('simulator base behaviours', () => {
  async function plain(options: { tls?: boolean } = {}): Promise<Simulator> {
    return track(
      await startSimulator({
        name: 'plain',
        ...options,
        handler: (req) => json(200, { path: req.path, method: req.method }),
      }),
    );
  }

  it('serves N sequential keep-alive requests over 1 accepted socket', async () => {
    const sim = await plain();
    // A single-connection Client: an undici Pool may open a 2nd socket for the 2nd request because
    // its first client is not yet marked free when the body's last byte has been read.
    const client = track(new Client(sim.origin));
    for (let i = 0; i < 5; i++) {
      const res = await client.request({ path: `/r${i}`, method: 'GET' });
      await res.body.json();
    }
    expect(sim.stats).toMatchObject({ requests: 5, responses: 5, acceptedSockets: 1, openSockets: 1 });
  });

  it('closes idle keep-alive sockets after keepAliveTimeoutMs', async () => {
    const sim = track(
      await startSimulator({ name: 'short-keep-alive', keepAliveTimeoutMs: 50, handler: () => json(200, {}) }),
    );
    const client = track(new Client(sim.origin));
    await (await client.request({ path: '/', method: 'GET' })).body.dump();
    await sim.waitForOpenSockets(0);
    expect(sim.stats).toMatchObject({ acceptedSockets: 1, openSockets: 0, peakOpenSockets: 1 });
  });

  it('refuses connections beyond maxConnections and counts them', async () => {
    const sim = await plain();
    sim.behave({ maxConnections: 1 });
    const first = track(new Client(sim.origin));
    await (await first.request({ path: '/', method: 'GET' })).body.json(); // keeps its socket open
    const second = track(new Client(sim.origin));
    const error = await second.request({ path: '/', method: 'GET' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: expect.stringMatching(/ECONNRESET|UND_ERR_SOCKET/) });
    expect(sim.stats).toMatchObject({ acceptedSockets: 1, refusedSockets: 1, openSockets: 1 });
  });

  it('resets the socket on the next request with resetNext, then serves normally', async () => {
    const sim = await plain();
    sim.behave({ resetNext: 1 });
    const client = track(new Client(sim.origin));
    await expect(client.request({ path: '/', method: 'GET' })).rejects.toMatchObject({ code: 'ECONNRESET' });
    const res = await client.request({ path: '/', method: 'GET' });
    expect(res.statusCode).toBe(200);
    await res.body.dump();
    expect(sim.stats).toMatchObject({ requests: 2, resets: 1, acceptedSockets: 2 });
  });

  it('answers failNext and failRate with the injected status and Retry-After', async () => {
    const sim = await plain();
    const client = track(new Client(sim.origin));
    const status = async (): Promise<[number, unknown]> => {
      const res = await client.request({ path: '/', method: 'GET' });
      await res.body.dump();
      return [res.statusCode, res.headers['retry-after']];
    };
    sim.behave({ failNext: { count: 2, status: 503, retryAfterSeconds: 3 } });
    expect([await status(), await status(), await status()]).toEqual([
      [503, '3'],
      [503, '3'],
      [200, undefined],
    ]);

    sim.behave({ failRate: { ratio: 0.25, status: 500 } });
    const codes: number[] = [];
    for (let i = 0; i < 8; i++) codes.push((await status())[0]);
    expect(codes).toEqual([200, 200, 200, 500, 200, 200, 200, 500]);
    expect(sim.stats.injectedFailures).toBe(4);
  });

  it('counts and fails only the paths a failure names, sparing the rest (a health-check route)', async () => {
    const sim = await plain();
    const client = track(new Client(sim.origin));
    const status = async (path: string): Promise<number> => {
      const res = await client.request({ path, method: 'GET' });
      await res.body.dump();
      return res.statusCode;
    };
    sim.behave({ failRate: { ratio: 0.5, status: 500, paths: /^\/rest\/v1\/[^/]+$/ } });
    const codes = [];
    for (const path of ['/rest/v1/', '/rest/v1/uploads', '/rest/v1/', '/rest/v1/uploads', '/rest/v1/'])
      codes.push(await status(path));
    expect(codes).toEqual([200, 200, 200, 500, 200]);
  });

  it('holds requests with stallHeaders until released, counting them as in flight', async () => {
    const sim = await plain();
    sim.behave({ stallHeaders: true });
    const pool = track(new Pool(sim.origin, { connections: 3 }));
    const pending = [1, 2, 3].map(() => pool.request({ path: '/', method: 'GET' }));
    await sim.waitForStalled(3);
    expect(sim.stats).toMatchObject({ inFlight: 3, peakInFlight: 3, responses: 0 });
    sim.behave({ stallHeaders: false });
    expect(sim.releaseStalled()).toBe(3);
    const answers = await Promise.all(pending);
    expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 200]);
    await Promise.all(answers.map((a) => a.body.dump()));
    await sim.waitForResponses(3);
  });

  it('lets a client header timeout fire on a stalled request', async () => {
    const sim = await plain();
    sim.behave({ stallHeaders: true });
    const client = track(new Client(sim.origin, { headersTimeout: 100 }));
    await expect(client.request({ path: '/', method: 'GET' })).rejects.toMatchObject({
      code: 'UND_ERR_HEADERS_TIMEOUT',
    });
    await sim.waitFor(() => sim.stats.inFlight === 0, 'the abandoned request to end');
  });

  it('stalls a body after the headers with stallBody (body timeout) and slows it with slowBody', async () => {
    const sim = await plain();
    sim.behave({ stallBody: true });
    const client = track(new Client(sim.origin, { bodyTimeout: 100 }));
    const res = await client.request({ path: '/stalled-body', method: 'GET' });
    expect(res.statusCode).toBe(200);
    await expect(res.body.text()).rejects.toMatchObject({ code: 'UND_ERR_BODY_TIMEOUT' });

    sim.behave({ stallBody: false, slowBody: { chunks: 3, chunkIntervalMs: 10 } });
    const fresh = track(new Client(sim.origin));
    const slow = await fresh.request({ path: '/slow', method: 'GET' });
    expect(slow.headers['transfer-encoding']).toBe('chunked');
    const chunks: Buffer[] = [];
    for await (const chunk of slow.body) chunks.push(chunk as Buffer);
    expect(chunks.length).toBeGreaterThanOrEqual(2);
    expect(JSON.parse(Buffer.concat(chunks).toString())).toEqual({ path: '/slow', method: 'GET' });
  });

  it('delays headers by latencyMs', async () => {
    const sim = await plain();
    sim.behave({ latencyMs: 60 });
    const started = performance.now();
    const res = await request(`${sim.url}/`);
    await res.body.dump();
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
  });

  it('is killed by stop() (open sockets destroyed) and restarted by start() on the same port', async () => {
    const sim = await plain();
    const client = track(new Client(sim.origin));
    await (await client.request({ path: '/', method: 'GET' })).body.dump();
    const port = sim.port;
    expect(sim.stats.openSockets).toBe(1);

    await sim.stop();
    expect(sim.stats.openSockets).toBe(0);
    await expect(client.request({ path: '/', method: 'GET' })).rejects.toMatchObject({ code: 'ECONNREFUSED' });

    await sim.start();
    expect(sim.port).toBe(port);
    const res = await client.request({ path: '/', method: 'GET' });
    expect(res.statusCode).toBe(200);
    await res.body.dump();
    expect(sim.stats.acceptedSockets).toBe(2);
  });

  it('serves HTTPS with a self-signed cert that clients trust through connect.ca', async () => {
    const sim = await plain({ tls: true });
    expect(sim.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const trusting = track(new Pool(sim.origin, { connect: { ca: sim.ca } }));
    const res = await trusting.request({ path: '/tls', method: 'GET' });
    expect(await res.body.json()).toEqual({ path: '/tls', method: 'GET' });

    const untrusting = track(new Client(sim.origin));
    await expect(untrusting.request({ path: '/', method: 'GET' })).rejects.toMatchObject({
      code: 'DEPTH_ZERO_SELF_SIGNED_CERT',
    });
  });

  it('resets and refuses TLS connections too', async () => {
    const sim = await plain({ tls: true });
    sim.behave({ resetNext: 1 });
    const client = track(new Client(sim.origin, { connect: { ca: sim.ca } }));
    await expect(client.request({ path: '/', method: 'GET' })).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(sim.stats.resets).toBe(1);

    sim.behave({ maxConnections: 0 });
    await expect(client.request({ path: '/', method: 'GET' })).rejects.toMatchObject({
      code: expect.stringMatching(/ECONNRESET|UND_ERR_SOCKET/),
    });
    expect(sim.stats.refusedSockets).toBe(1);
  });
});
