/**
 * OpenAI API simulator: chat completions (plain and SSE streaming), embeddings (float and base64),
 * models, and the Responses API, with OpenAI's rate-limit headers on every answer, OpenAI's error
 * bodies, and deterministic token counts so tests can compare metrics with what was sent.
 */
import type http from 'node:http';
import { Gate, delay } from './gate.js';
import {
  type FailureSpec,
  type SimRequest,
  type SimResponse,
  type SimulatorBehaviour,
  type StreamWriter,
  type WaitOptions,
  Simulator,
  json,
} from './simulator.js';

export interface OpenAIRateLimits {
  limitRequests: number;
  limitTokens: number;
  /** Decreases by 1 per answered model request; floors at 0. */
  remainingRequests: number;
  /** Decreases by each answer's total tokens; floors at 0. */
  remainingTokens: number;
  /** Sent as is, in OpenAI's duration format ("6ms", "1s", "6m0s"). */
  resetRequests: string;
  resetTokens: string;
}

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

export interface UsageTotals extends TokenUsage {
  /** Answers that carried a usage object. */
  responses: number;
}

export type OpenAIEndpoint = 'chat.completions' | 'embeddings' | 'responses';

/** Usage the simulator actually put on the wire (a stream without include_usage sends none). */
export interface UsageSent {
  total: UsageTotals;
  byModel: Record<string, UsageTotals>;
  last: (TokenUsage & { model: string; endpoint: OpenAIEndpoint }) | null;
}

export interface OpenAIAuthStats {
  /** Requests with an accepted `Authorization: Bearer` key. */
  authorized: number;
  /** Requests answered 401. Keys themselves are never stored, echoed or logged. */
  rejected: number;
}

export interface OpenAISimulatorOptions {
  tls?: boolean;
  host?: string;
  port?: number;
  keepAliveTimeoutMs?: number;
  behaviour?: Partial<SimulatorBehaviour>;
  /** The only key accepted; when omitted any non-empty bearer key is. */
  apiKey?: string;
  /** Completion tokens per answer (capped by the request's max_tokens). Default 8. */
  completionTokens?: number;
  /** Embedding length unless the request sets `dimensions`. Default 1536. */
  embeddingDimensions?: number;
  /** Pause between stream chunks. Default 0. */
  chunkIntervalMs?: number;
  /** Ids served by /v1/models. */
  models?: string[];
  rateLimits?: Partial<OpenAIRateLimits>;
  /** Answer 429 once remaining requests or tokens reach 0. Default false (they just floor at 0). */
  enforceRateLimits?: boolean;
}

const COMPLETION_WORDS = ['Hello', ' from', ' the', ' simulator', '.'];
const CREATED = 1_700_000_000;

/** The simulator's tokenizer: one token per 4 characters, rounded up. */
export function countTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** The completion text for `n` tokens: one word per token. */
export function completionText(n: number): string {
  return completionWords(n).join('');
}

/** The embedding the simulator returns for `input`; every value is exact in float32. */
export function simulatedEmbedding(input: string, dimensions: number): number[] {
  let seed = 2166136261;
  for (let i = 0; i < input.length; i++) seed = Math.imul(seed ^ input.charCodeAt(i), 16777619) >>> 0;
  return Array.from({ length: dimensions }, (_, i) => Math.fround(Math.sin(seed + i * 0.7)));
}

function completionWords(n: number): string[] {
  return Array.from({ length: n }, (_, i) => COMPLETION_WORDS[i % COMPLETION_WORDS.length] ?? '');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Text of a chat message's or Responses input item's content (string or array of text parts). */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part) => (isRecord(part) && typeof part.text === 'string' ? part.text : '')).join('');
}

/** Chat prompt tokens: 3 + for each message (4 + tokens of its text). */
function chatPromptTokens(messages: unknown[]): number {
  return messages.reduce<number>((sum, m) => sum + 4 + countTokens(isRecord(m) ? contentText(m.content) : ''), 3);
}

function sse(data: unknown, event?: string): string {
  return `${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(data)}\n\n`;
}

function openAIError(
  status: number,
  message: string,
  type: string,
  code: string | null,
  param: string | null = null,
  headers: http.OutgoingHttpHeaders = {},
): SimResponse {
  return json(status, { error: { message, type, param, code } }, headers);
}

function emptyTotals(): UsageTotals {
  return { promptTokens: 0, completionTokens: 0, totalTokens: 0, responses: 0 };
}

export class OpenAISimulator extends Simulator {
  /** Pause between stream chunks; change it at any time. */
  chunkIntervalMs: number;
  readonly #apiKey: string | undefined;
  readonly #completionTokens: number;
  readonly #embeddingDimensions: number;
  readonly #models: string[];
  readonly #enforceRateLimits: boolean;
  #rateLimits: OpenAIRateLimits;
  #usage: UsageSent = { total: emptyTotals(), byModel: {}, last: null };
  #auth: OpenAIAuthStats = { authorized: 0, rejected: 0 };
  readonly #streamGate = new Gate();
  #holding = false;
  #openStreams = 0;
  #ids = 0;
  #objects = 0;

  constructor(options: OpenAISimulatorOptions = {}) {
    super({ name: 'openai', ...options });
    this.#apiKey = options.apiKey;
    this.#completionTokens = options.completionTokens ?? 8;
    this.#embeddingDimensions = options.embeddingDimensions ?? 1536;
    this.chunkIntervalMs = options.chunkIntervalMs ?? 0;
    this.#models = options.models ?? ['gpt-4o-mini', 'gpt-4o', 'text-embedding-3-small'];
    this.#enforceRateLimits = options.enforceRateLimits ?? false;
    this.#rateLimits = {
      limitRequests: 10_000,
      limitTokens: 2_000_000,
      remainingRequests: 10_000,
      remainingTokens: 2_000_000,
      resetRequests: '6ms',
      resetTokens: '0s',
      ...options.rateLimits,
    };
  }

  /** What to give the SDK as `baseURL`: `<url>/v1`. */
  get baseURL(): string {
    return `${this.url}/v1`;
  }

  get usageSent(): Readonly<UsageSent> {
    return this.#usage;
  }

  get rateLimits(): Readonly<OpenAIRateLimits> {
    return this.#rateLimits;
  }

  get auth(): Readonly<OpenAIAuthStats> {
    return this.#auth;
  }

  /** Streams open right now (headers sent, not ended). */
  get openStreams(): number {
    return this.#openStreams;
  }

  /** Streams paused by `holdStreams()` right now. */
  get heldStreams(): number {
    return this.#streamGate.waiting;
  }

  setRateLimits(patch: Partial<OpenAIRateLimits>): this {
    this.#rateLimits = { ...this.#rateLimits, ...patch };
    return this;
  }

  resetUsage(): void {
    this.#usage = { total: emptyTotals(), byModel: {}, last: null };
  }

  /** Also zeroes `usageSent` and `auth`. */
  override resetStats(): void {
    this.resetUsage();
    this.#auth = { authorized: 0, rejected: 0 };
    super.resetStats();
  }

  /**
   * While on, every stream pauses after its first content chunk until `releaseStreams()` (or
   * `holdStreams(false)`), so a test can observe a stream holding its connection.
   */
  holdStreams(on = true): this {
    this.#holding = on;
    if (!on) this.#streamGate.open();
    return this;
  }

  /** Lets the streams paused now run to their end; returns how many there were. */
  releaseStreams(): number {
    return this.#streamGate.open();
  }

  waitForOpenStreams(n: number, options?: WaitOptions): Promise<void> {
    return this.waitFor(() => this.#openStreams >= n, `${n} open streams`, options);
  }

  waitForHeldStreams(n: number, options?: WaitOptions): Promise<void> {
    return this.waitFor(() => this.#streamGate.waiting >= n, `${n} held streams`, options);
  }

  // ---- simulator hooks ----

  protected override commonHeaders(_req: SimRequest): http.OutgoingHttpHeaders {
    const r = this.#rateLimits;
    return {
      'x-request-id': `req_${(++this.#ids).toString(16).padStart(32, '0')}`,
      'openai-version': '2020-10-01',
      'openai-processing-ms': '1',
      'x-ratelimit-limit-requests': String(r.limitRequests),
      'x-ratelimit-limit-tokens': String(r.limitTokens),
      'x-ratelimit-remaining-requests': String(r.remainingRequests),
      'x-ratelimit-remaining-tokens': String(r.remainingTokens),
      'x-ratelimit-reset-requests': r.resetRequests,
      'x-ratelimit-reset-tokens': r.resetTokens,
    };
  }

  protected override preflight(req: SimRequest): SimResponse | undefined {
    const match = /^Bearer (.+)$/.exec(req.header('authorization') ?? '');
    const key = match?.[1]?.trim();
    if (!key) {
      this.#auth.rejected++;
      return openAIError(
        401,
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        'invalid_request_error',
        null,
      );
    }
    if (this.#apiKey !== undefined && key !== this.#apiKey) {
      this.#auth.rejected++;
      // The real API echoes a masked key; the simulator never echoes any part of it.
      return openAIError(401, 'Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key');
    }
    this.#auth.authorized++;
    return undefined;
  }

  protected override failureResponse(req: SimRequest, failure: FailureSpec): SimResponse {
    const headers: http.OutgoingHttpHeaders = {};
    if (failure.retryAfterSeconds !== undefined) headers['retry-after-ms'] = String(failure.retryAfterSeconds * 1000);
    if (failure.status === 429) {
      const type = failure.kind === 'tokens' ? 'tokens' : 'requests';
      return this.#rateLimited(req, type, failure.retryAfterSeconds, failure.message, headers);
    }
    if (failure.status >= 500) {
      const message =
        failure.message ??
        (failure.status === 503
          ? 'The server is overloaded or not ready yet.'
          : 'The server had an error while processing your request. Sorry about that!');
      return openAIError(failure.status, message, 'server_error', null, null, headers);
    }
    return openAIError(
      failure.status,
      failure.message ?? `Injected ${failure.status}`,
      'invalid_request_error',
      null,
      null,
      headers,
    );
  }

  protected override route(req: SimRequest): SimResponse {
    const { method, path } = req;
    if (method === 'GET' && path === '/v1/models') {
      return json(200, { object: 'list', data: this.#models.map((id) => this.#model(id)) });
    }
    if (method === 'GET' && path.startsWith('/v1/models/')) {
      const id = decodeURIComponent(path.slice('/v1/models/'.length));
      if (this.#models.includes(id)) return json(200, this.#model(id));
      return openAIError(404, `The model '${id}' does not exist`, 'invalid_request_error', 'model_not_found', 'model');
    }
    if (method === 'POST' && ['/v1/chat/completions', '/v1/embeddings', '/v1/responses'].includes(path)) {
      let body: unknown;
      try {
        body = req.json();
      } catch {
        return openAIError(400, 'We could not parse the JSON body of your request.', 'invalid_request_error', null);
      }
      if (!isRecord(body))
        return openAIError(400, 'The request body must be a JSON object.', 'invalid_request_error', null);
      if (typeof body.model !== 'string' || body.model === '') {
        return openAIError(400, 'you must provide a model parameter', 'invalid_request_error', null);
      }
      const limited = this.#checkRateLimits(req);
      if (limited) return limited;
      if (path === '/v1/chat/completions') return this.#chat(body, body.model);
      if (path === '/v1/embeddings') return this.#embeddings(body, body.model);
      return this.#responses(body, body.model);
    }
    return openAIError(404, `Invalid URL (${method} ${path})`, 'invalid_request_error', null);
  }

  // ---- routes ----

  #chat(body: Record<string, unknown>, model: string): SimResponse {
    if (!Array.isArray(body.messages) || body.messages.length === 0) {
      return openAIError(400, "Missing required parameter: 'messages'.", 'invalid_request_error', null, 'messages');
    }
    const promptTokens = chatPromptTokens(body.messages);
    const completionTokens = this.#completionTokensFor(body.max_completion_tokens ?? body.max_tokens);
    const usage = { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens };
    this.#consume(usage.totalTokens);
    const id = `chatcmpl-sim${(++this.#objects).toString(36)}`;
    const words = completionWords(completionTokens);
    const wireUsage = {
      prompt_tokens: usage.promptTokens,
      completion_tokens: usage.completionTokens,
      total_tokens: usage.totalTokens,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 },
    };

    if (body.stream !== true) {
      this.#record('chat.completions', model, usage);
      return json(200, {
        id,
        object: 'chat.completion',
        created: CREATED,
        model,
        system_fingerprint: 'fp_simulator',
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: words.join(''), refusal: null, annotations: [] },
            logprobs: null,
            finish_reason: 'stop',
          },
        ],
        usage: wireUsage,
        service_tier: 'default',
      });
    }

    const includeUsage = isRecord(body.stream_options) && body.stream_options.include_usage === true;
    const chunk = (choices: unknown[], extra: Record<string, unknown> = {}): string =>
      sse({
        id,
        object: 'chat.completion.chunk',
        created: CREATED,
        model,
        system_fingerprint: 'fp_simulator',
        choices,
        ...(includeUsage ? { usage: null } : {}),
        ...extra,
      });
    const choice = (delta: Record<string, unknown>, finishReason: string | null = null): unknown => ({
      index: 0,
      delta,
      logprobs: null,
      finish_reason: finishReason,
    });

    return this.#stream(async (out) => {
      if (!(await out.write(chunk([choice({ role: 'assistant', content: '', refusal: null })])))) return;
      for (const [i, word] of words.entries()) {
        if (!(await out.write(chunk([choice({ content: word })])))) return;
        if (!(await this.#pace(i, out.signal))) return;
      }
      if (!(await out.write(chunk([choice({}, 'stop')])))) return;
      if (includeUsage) {
        if (!(await out.write(chunk([], { usage: wireUsage })))) return;
        this.#record('chat.completions', model, usage);
      }
      await out.write('data: [DONE]\n\n');
    });
  }

  #embeddings(body: Record<string, unknown>, model: string): SimResponse {
    const inputs = this.#embeddingInputs(body.input);
    if (!inputs) {
      return openAIError(400, "'input' must be a non-empty string or array.", 'invalid_request_error', null, 'input');
    }
    const dimensions = typeof body.dimensions === 'number' ? body.dimensions : this.#embeddingDimensions;
    const base64 = body.encoding_format === 'base64';
    const promptTokens = inputs.reduce((sum, input) => sum + input.tokens, 0);
    const usage = { promptTokens, completionTokens: 0, totalTokens: promptTokens };
    this.#consume(promptTokens);
    this.#record('embeddings', model, usage);
    return json(200, {
      object: 'list',
      data: inputs.map((input, index) => {
        const values = simulatedEmbedding(input.text, dimensions);
        return { object: 'embedding', index, embedding: base64 ? toBase64Float32(values) : values };
      }),
      model,
      usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
    });
  }

  #responses(body: Record<string, unknown>, model: string): SimResponse {
    const input = body.input;
    const texts =
      typeof input === 'string'
        ? [input]
        : Array.isArray(input)
          ? input.map((item) => (isRecord(item) ? contentText(item.content) : ''))
          : null;
    if (!texts) return openAIError(400, "Missing required parameter: 'input'.", 'invalid_request_error', null, 'input');
    const instructions = typeof body.instructions === 'string' ? body.instructions : null;
    const inputTokens = texts.reduce((sum, text) => sum + 4 + countTokens(text), 3) + countTokens(instructions ?? '');
    const outputTokens = this.#completionTokensFor(body.max_output_tokens);
    const usage = {
      promptTokens: inputTokens,
      completionTokens: outputTokens,
      totalTokens: inputTokens + outputTokens,
    };
    this.#consume(usage.totalTokens);
    const serial = (++this.#objects).toString(36);
    const id = `resp_sim${serial}`;
    const itemId = `msg_sim${serial}`;
    const words = completionWords(outputTokens);
    const text = words.join('');
    const part = (t: string): Record<string, unknown> => ({
      type: 'output_text',
      text: t,
      annotations: [],
      logprobs: [],
    });
    const item = (status: string, content: unknown[]): Record<string, unknown> => ({
      type: 'message',
      id: itemId,
      status,
      role: 'assistant',
      content,
    });
    const response = (status: string, output: unknown[], withUsage: boolean): Record<string, unknown> => ({
      id,
      object: 'response',
      created_at: CREATED,
      status,
      background: false,
      error: null,
      incomplete_details: null,
      instructions,
      max_output_tokens: typeof body.max_output_tokens === 'number' ? body.max_output_tokens : null,
      model,
      output,
      parallel_tool_calls: true,
      previous_response_id: null,
      store: false,
      temperature: 1,
      text: { format: { type: 'text' } },
      tool_choice: 'auto',
      tools: [],
      top_p: 1,
      truncation: 'disabled',
      usage: withUsage
        ? {
            input_tokens: usage.promptTokens,
            input_tokens_details: { cached_tokens: 0 },
            output_tokens: usage.completionTokens,
            output_tokens_details: { reasoning_tokens: 0 },
            total_tokens: usage.totalTokens,
          }
        : null,
      metadata: {},
    });
    const done = response('completed', [item('completed', [part(text)])], true);

    if (body.stream !== true) {
      this.#record('responses', model, usage);
      return json(200, done);
    }
    let sequence = 0;
    const event = (type: string, data: Record<string, unknown>): string =>
      sse({ type, sequence_number: sequence++, ...data }, type);
    const at = { item_id: itemId, output_index: 0, content_index: 0 };
    return this.#stream(async (out) => {
      const opening = [
        event('response.created', { response: response('in_progress', [], false) }),
        event('response.in_progress', { response: response('in_progress', [], false) }),
        event('response.output_item.added', { output_index: 0, item: item('in_progress', []) }),
        event('response.content_part.added', { ...at, part: part('') }),
      ];
      for (const e of opening) if (!(await out.write(e))) return;
      for (const [i, word] of words.entries()) {
        if (!(await out.write(event('response.output_text.delta', { ...at, delta: word, logprobs: [] })))) return;
        if (!(await this.#pace(i, out.signal))) return;
      }
      const closing = [
        event('response.output_text.done', { ...at, text, logprobs: [] }),
        event('response.content_part.done', { ...at, part: part(text) }),
        event('response.output_item.done', { output_index: 0, item: item('completed', [part(text)]) }),
        event('response.completed', { response: done }),
      ];
      for (const e of closing) if (!(await out.write(e))) return;
      this.#record('responses', model, usage);
    });
  }

  // ---- helpers ----

  #model(id: string): Record<string, unknown> {
    return { id, object: 'model', created: CREATED, owned_by: 'system' };
  }

  #completionTokensFor(max: unknown): number {
    return typeof max === 'number' && max > 0 ? Math.min(this.#completionTokens, max) : this.#completionTokens;
  }

  #embeddingInputs(input: unknown): { text: string; tokens: number }[] | null {
    const one = (value: unknown): { text: string; tokens: number } | null => {
      if (typeof value === 'string') return { text: value, tokens: countTokens(value) };
      if (Array.isArray(value) && value.every((t) => typeof t === 'number')) {
        return { text: value.join(','), tokens: value.length };
      }
      return null;
    };
    if (typeof input === 'string') return input === '' ? null : [{ text: input, tokens: countTokens(input) }];
    if (!Array.isArray(input) || input.length === 0) return null;
    if (input.every((t) => typeof t === 'number')) return [{ text: input.join(','), tokens: input.length }];
    const items = input.map(one);
    return items.every((i) => i !== null) ? (items as { text: string; tokens: number }[]) : null;
  }

  #checkRateLimits(req: SimRequest): SimResponse | undefined {
    if (!this.#enforceRateLimits) return undefined;
    if (this.#rateLimits.remainingRequests <= 0) return this.#rateLimited(req, 'requests', 1);
    if (this.#rateLimits.remainingTokens <= 0) return this.#rateLimited(req, 'tokens', 1);
    return undefined;
  }

  #rateLimited(
    req: SimRequest,
    type: 'requests' | 'tokens',
    retryAfterSeconds: number | undefined,
    message?: string,
    headers: http.OutgoingHttpHeaders = {},
  ): SimResponse {
    const r = this.#rateLimits;
    const limit = type === 'tokens' ? r.limitTokens : r.limitRequests;
    const unit = type === 'tokens' ? 'tokens per min (TPM)' : 'requests per min (RPM)';
    const wait = retryAfterSeconds === undefined ? '' : ` Please try again in ${retryAfterSeconds}s.`;
    if (retryAfterSeconds !== undefined) {
      headers['retry-after'] ??= String(retryAfterSeconds);
      headers['retry-after-ms'] ??= String(retryAfterSeconds * 1000);
    }
    return openAIError(
      429,
      message ??
        `Rate limit reached for ${this.#requestModel(req)} in organization org-simulator on ${unit}: Limit ${limit}, Used ${limit}, Requested 1.${wait}`,
      type,
      'rate_limit_exceeded',
      null,
      headers,
    );
  }

  #requestModel(req: SimRequest): string {
    try {
      const body = req.json();
      if (isRecord(body) && typeof body.model === 'string') return body.model;
    } catch {
      // not JSON: fall through
    }
    return 'this model';
  }

  #consume(tokens: number): void {
    const r = this.#rateLimits;
    r.remainingRequests = Math.max(0, r.remainingRequests - 1);
    r.remainingTokens = Math.max(0, r.remainingTokens - tokens);
  }

  #record(endpoint: OpenAIEndpoint, model: string, usage: TokenUsage): void {
    const add = (totals: UsageTotals): void => {
      totals.promptTokens += usage.promptTokens;
      totals.completionTokens += usage.completionTokens;
      totals.totalTokens += usage.totalTokens;
      totals.responses++;
    };
    add(this.#usage.total);
    add((this.#usage.byModel[model] ??= emptyTotals()));
    this.#usage.last = { ...usage, model, endpoint };
    this.changed();
  }

  #stream(body: (out: StreamWriter) => Promise<void>): SimResponse {
    return {
      status: 200,
      headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' },
      stream: async (out) => {
        this.#openStreams++;
        this.changed();
        try {
          await body(out);
        } finally {
          this.#openStreams--;
          this.changed();
        }
      },
    };
  }

  /** Between content chunks: hold after the first one while `holdStreams()` is on, else pace. */
  async #pace(index: number, signal: AbortSignal): Promise<boolean> {
    if (index === 0 && this.#holding) {
      const wait = this.#streamGate.wait(signal);
      this.changed();
      const released = await wait;
      this.changed();
      return released;
    }
    return delay(this.chunkIntervalMs, signal);
  }
}

function toBase64Float32(values: number[]): string {
  const buffer = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => buffer.writeFloatLE(v, i * 4));
  return buffer.toString('base64');
}

export async function startOpenAISimulator(options: OpenAISimulatorOptions = {}): Promise<OpenAISimulator> {
  return new OpenAISimulator(options).start();
}
