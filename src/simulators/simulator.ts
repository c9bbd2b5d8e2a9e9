/**
 * The shared base of the upstream simulators: a node:http or node:https server on 127.0.0.1 that
 * counts sockets and requests, and can misbehave on demand (latency, injected error statuses,
 * connection resets, refused connections, stalled headers or bodies, slow bodies) the way a real
 * upstream does under load. Each API simulator (openai.ts, postgrest.ts, pinecone.ts) extends it
 * and adds only its routes and its error shapes.
 *
 * Dependency-light on purpose: node built-ins, plus `selfsigned` loaded only for TLS, so the demo
 * mode can import the compiled simulators without a test framework or dev dependencies.
 */
import { EventEmitter } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { selfSignedCert } from './cert.js';
import { Gate, delay } from './gate.js';

/** Live counters. The object is updated in place; read it whenever you need current values. */
export interface SimulatorStats {
  /** TCP connections accepted (refused ones are not counted here). */
  acceptedSockets: number;
  /** Accepted connections still open now. */
  openSockets: number;
  /** Highest `openSockets` since start or the last `resetStats()`. */
  peakOpenSockets: number;
  /** Connections closed on arrival because `maxConnections` was reached. */
  refusedSockets: number;
  /** Requests whose headers arrived (including ones later reset, stalled or failed). */
  requests: number;
  /** Requests that arrived and have neither been answered completely nor lost their socket. */
  inFlight: number;
  /** Highest `inFlight` since start or the last `resetStats()`. */
  peakInFlight: number;
  /** Responses written completely. */
  responses: number;
  /** Requests answered by destroying the socket (`resetNext`). */
  resets: number;
  /** Requests answered with an injected error status (`failNext`, `failRate`). */
  injectedFailures: number;
  /** Requests held right now by `stallHeaders` or `stallBody`. */
  stalled: number;
}

/** An injected error answer. `kind` picks an API-specific flavour (OpenAI 429: 'requests' | 'tokens'). */
export interface FailureSpec {
  status: number;
  /** Adds `Retry-After: <seconds>` (and, for OpenAI, `retry-after-ms`). */
  retryAfterSeconds?: number;
  kind?: string;
  message?: string;
  /** Only requests whose path matches are counted and failed (e.g. to spare a health-check route). Default: all. */
  paths?: RegExp;
}

export interface SlowBody {
  /** Pause between body chunks. */
  chunkIntervalMs: number;
  /** How many pieces the body is cut into (sent with chunked transfer encoding). */
  chunks: number;
}

/** How the simulator misbehaves; applied to every route. Change it at runtime with `behave()`. */
export interface SimulatorBehaviour {
  /** Delay before the response headers. */
  latencyMs: number;
  /** Answer the next `count` requests with `status` and the API's error body. */
  failNext: (FailureSpec & { count: number }) | null;
  /**
   * Fail a deterministic fraction of requests: request n (counted from when this was set) fails
   * when floor(n * ratio) grows, so ratio 0.25 fails requests 4, 8, 12, ...
   */
  failRate: (FailureSpec & { ratio: number }) | null;
  /** Destroy the socket (TCP RST) on the next N requests without answering: clients see ECONNRESET. */
  resetNext: number;
  /** Reset new connections while this many are open, like Postgres' max_connections. `null`: no limit. */
  maxConnections: number | null;
  /** Accept requests and never send headers, until `releaseStalled()` or the client gives up. */
  stallHeaders: boolean;
  /** Send headers and the first half of the body, then hold until `releaseStalled()`. */
  stallBody: boolean;
  /** Send non-streaming bodies in pieces with pauses in between. */
  slowBody: SlowBody | null;
}

export function defaultBehaviour(): SimulatorBehaviour {
  return {
    latencyMs: 0,
    failNext: null,
    failRate: null,
    resetNext: 0,
    maxConnections: null,
    stallHeaders: false,
    stallBody: false,
    slowBody: null,
  };
}

/** A request as the route handlers see it: the body is already read. */
export interface SimRequest {
  readonly method: string;
  readonly url: URL;
  /** `url.pathname`. */
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  /** Aborts when the client goes away before the response is complete. */
  readonly signal: AbortSignal;
  /** The first value of a header (case-insensitive name). */
  header(name: string): string | undefined;
  /** The body parsed as JSON; `undefined` when the body is empty; throws `SyntaxError` when invalid. */
  json(): unknown;
}

/** A complete answer; `body` is sent as is (use `json()` to build JSON answers). */
export interface SimBodyResponse {
  status: number;
  headers?: http.OutgoingHttpHeaders;
  body?: string | Buffer;
}

/** An answer whose body is written over time (SSE); the response ends when `stream` resolves. */
export interface SimStreamResponse {
  status: number;
  headers?: http.OutgoingHttpHeaders;
  stream: (out: StreamWriter) => Promise<void>;
}

export type SimResponse = SimBodyResponse | SimStreamResponse;

export interface StreamWriter {
  /** Resolves `true` once written (honouring back-pressure), `false` if the client is gone. */
  write(chunk: string): Promise<boolean>;
  readonly signal: AbortSignal;
}

export type SimHandler = (req: SimRequest) => SimResponse | Promise<SimResponse>;

export function json(status: number, value: unknown, headers: http.OutgoingHttpHeaders = {}): SimBodyResponse {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    body: JSON.stringify(value),
  };
}

export function empty(status: number, headers: http.OutgoingHttpHeaders = {}): SimBodyResponse {
  return { status, headers };
}

export interface SimulatorEvents {
  /** A connection was accepted. */
  connection: [];
  /** A connection was refused because of `maxConnections`. */
  refused: [];
  /** A request's headers arrived (never carries headers: they hold API keys). */
  request: [info: { method: string; path: string }];
  /** A response was written completely. */
  response: [info: { method: string; path: string; status: number }];
  /** A request was answered by resetting its socket. */
  reset: [];
  /** Any counter changed: `waitFor()` re-checks its predicate on this. */
  change: [];
}

export interface SimulatorOptions {
  /** Shown in errors (`openai`, `pinecone-data`, ...). */
  name: string;
  /** Serve HTTPS with a self-signed cert for 127.0.0.1/localhost; clients trust `simulator.ca`. */
  tls?: boolean;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port); `start()` after `stop()` reuses the port first bound. */
  port?: number;
  /** Server keep-alive timeout; Node's default (5 s) otherwise. */
  keepAliveTimeoutMs?: number;
  /** Routes for a bare simulator; the API simulators override `route()` instead. */
  handler?: SimHandler;
  /** Initial behaviour. */
  behaviour?: Partial<SimulatorBehaviour>;
}

export interface WaitOptions {
  /** Safety net so a broken test fails instead of hanging. Default 5000. */
  timeoutMs?: number;
}

type TrackedSocket = Socket & { _parent?: Socket | null };

export class Simulator extends EventEmitter<SimulatorEvents> {
  readonly name: string;
  readonly tls: boolean;
  readonly host: string;
  readonly #options: SimulatorOptions;
  #server: http.Server | undefined;
  #ca: string | undefined;
  #port: number;
  #listening = false;
  #closed = false;
  readonly #sockets = new Set<Socket>();
  readonly #stallGate = new Gate();
  #behaviour: SimulatorBehaviour;
  #failRateSeen = 0;
  readonly #stats: SimulatorStats = {
    acceptedSockets: 0,
    openSockets: 0,
    peakOpenSockets: 0,
    refusedSockets: 0,
    requests: 0,
    inFlight: 0,
    peakInFlight: 0,
    responses: 0,
    resets: 0,
    injectedFailures: 0,
    stalled: 0,
  };

  constructor(options: SimulatorOptions) {
    super();
    this.#options = options;
    this.name = options.name;
    this.tls = options.tls ?? false;
    this.host = options.host ?? '127.0.0.1';
    this.#port = options.port ?? 0;
    this.#behaviour = { ...defaultBehaviour(), ...options.behaviour };
    // Many tests wait on the same simulator at once; each waitFor() holds one 'change' listener.
    this.setMaxListeners(0);
  }

  /** `http://127.0.0.1:PORT` (or https). Valid after `start()`. */
  get url(): string {
    return `${this.tls ? 'https' : 'http'}://${this.host}:${this.#port}`;
  }

  /** Same as `url`: scheme, host and port, no path. */
  get origin(): string {
    return this.url;
  }

  get port(): number {
    return this.#port;
  }

  /** The PEM certificate clients must trust when `tls` is on (`connect: { ca }`). */
  get ca(): string | undefined {
    return this.#ca;
  }

  get listening(): boolean {
    return this.#listening;
  }

  get stats(): Readonly<SimulatorStats> {
    return this.#stats;
  }

  get behaviour(): Readonly<SimulatorBehaviour> {
    return this.#behaviour;
  }

  /** Changes some behaviours; the others keep their values. `failRate` restarts its count. */
  behave(patch: Partial<SimulatorBehaviour>): this {
    this.#behaviour = { ...this.#behaviour, ...patch };
    if ('failRate' in patch) this.#failRateSeen = 0;
    return this;
  }

  /** Back to a well-behaved upstream (does not release requests already stalled). */
  resetBehaviour(): this {
    this.#behaviour = defaultBehaviour();
    this.#failRateSeen = 0;
    return this;
  }

  /** Lets requests held by `stallHeaders`/`stallBody` complete; returns how many were held. */
  releaseStalled(): number {
    return this.#stallGate.open();
  }

  /** Zeroes the counters; gauges (`openSockets`, `inFlight`, `stalled`) keep their live values. */
  resetStats(): void {
    const s = this.#stats;
    s.acceptedSockets = 0;
    s.refusedSockets = 0;
    s.requests = 0;
    s.responses = 0;
    s.resets = 0;
    s.injectedFailures = 0;
    s.peakOpenSockets = s.openSockets;
    s.peakInFlight = s.inFlight;
    this.changed();
  }

  /** Listens (again, on the same port after `stop()`: an "upstream restarted"). */
  async start(): Promise<this> {
    if (this.#closed) throw new Error(`${this.name} simulator: start() after close()`);
    if (this.#listening) return this;
    const server = (this.#server ??= await this.#createServer());
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#port, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#port = (server.address() as AddressInfo).port;
    this.#listening = true;
    this.changed();
    return this;
  }

  /** Kills the upstream: stops listening and destroys every open socket (clients see resets). */
  async stop(): Promise<void> {
    const server = this.#server;
    if (!server || !this.#listening) return;
    this.#listening = false;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    for (const socket of this.#sockets) socket.destroy();
    await closed;
    // The server's close callback can run before the sockets' own 'close' events.
    await this.waitFor(() => this.#stats.openSockets === 0, 'sockets closed after stop()');
    this.changed();
  }

  /** `stop()` for good. */
  async close(): Promise<void> {
    await this.stop();
    this.#closed = true;
  }

  /** Resolves once `predicate()` holds, re-checking whenever a counter changes. */
  waitFor(predicate: () => boolean, description = 'condition', options: WaitOptions = {}): Promise<void> {
    if (predicate()) return Promise.resolve();
    const timeoutMs = options.timeoutMs ?? 5000;
    return new Promise((resolve, reject) => {
      const onChange = (): void => {
        if (!predicate()) return;
        clearTimeout(timer);
        this.off('change', onChange);
        resolve();
      };
      const timer = setTimeout(() => {
        this.off('change', onChange);
        reject(new Error(`${this.name} simulator: no ${description} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.on('change', onChange);
    });
  }

  /** Resolves once `stats.requests >= n` (counted since start or `resetStats()`). */
  waitForRequests(n: number, options?: WaitOptions): Promise<void> {
    return this.waitFor(() => this.#stats.requests >= n, `${n} requests`, options);
  }

  /** Resolves once `stats.responses >= n`. */
  waitForResponses(n: number, options?: WaitOptions): Promise<void> {
    return this.waitFor(() => this.#stats.responses >= n, `${n} responses`, options);
  }

  /** Resolves once `stats.acceptedSockets >= n`. */
  waitForSockets(n: number, options?: WaitOptions): Promise<void> {
    return this.waitFor(() => this.#stats.acceptedSockets >= n, `${n} accepted sockets`, options);
  }

  /** Resolves once exactly `n` sockets are open (0: every client connection has closed). */
  waitForOpenSockets(n: number, options?: WaitOptions): Promise<void> {
    return this.waitFor(() => this.#stats.openSockets === n, `${n} open sockets`, options);
  }

  /** Resolves once `stats.inFlight >= n`. */
  waitForInFlight(n: number, options?: WaitOptions): Promise<void> {
    return this.waitFor(() => this.#stats.inFlight >= n, `${n} requests in flight`, options);
  }

  /** Resolves once `stats.stalled >= n`. */
  waitForStalled(n: number, options?: WaitOptions): Promise<void> {
    return this.waitFor(() => this.#stats.stalled >= n, `${n} stalled requests`, options);
  }

  // ---- hooks for the API simulators ----

  /** Runs after the network behaviours and before failure injection: auth checks go here. */
  protected preflight(_req: SimRequest): SimResponse | undefined {
    return undefined;
  }

  /** The API's routes. */
  protected route(req: SimRequest): SimResponse | Promise<SimResponse> {
    if (this.#options.handler) return this.#options.handler(req);
    return json(404, { error: { message: `no route ${req.method} ${req.path}` } });
  }

  /** The API's error body for an injected failure. */
  protected failureResponse(_req: SimRequest, failure: FailureSpec): SimResponse {
    return json(failure.status, { error: { message: failure.message ?? `injected ${failure.status}` } });
  }

  /** Headers added to every response this simulator writes (request ids, rate-limit headers). */
  protected commonHeaders(_req: SimRequest): http.OutgoingHttpHeaders {
    return {};
  }

  /** Subclasses call this when their own counters change, so `waitFor()` re-checks. */
  protected changed(): void {
    this.emit('change');
  }

  // ---- internals ----

  async #createServer(): Promise<http.Server> {
    const listener = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      void this.#onRequest(req, res);
    };
    let server: http.Server;
    if (this.tls) {
      const { key, cert } = await selfSignedCert();
      this.#ca = cert;
      server = https.createServer({ key, cert }, listener);
    } else {
      server = http.createServer(listener);
    }
    if (this.#options.keepAliveTimeoutMs !== undefined) server.keepAliveTimeout = this.#options.keepAliveTimeoutMs;
    // 'connection' carries the raw TCP socket for both http and https.
    server.on('connection', (socket: Socket) => this.#onConnection(socket));
    return server;
  }

  #onConnection(socket: Socket): void {
    const stats = this.#stats;
    const max = this.#behaviour.maxConnections;
    // Checked by hand: Node's server.maxConnections treats 0 as "no limit".
    if (max !== null && stats.openSockets >= max) {
      stats.refusedSockets++;
      resetSocket(socket);
      this.emit('refused');
      this.changed();
      return;
    }
    stats.acceptedSockets++;
    stats.openSockets++;
    stats.peakOpenSockets = Math.max(stats.peakOpenSockets, stats.openSockets);
    this.#sockets.add(socket);
    socket.once('close', () => {
      this.#sockets.delete(socket);
      stats.openSockets--;
      this.changed();
    });
    this.emit('connection');
    this.changed();
  }

  async #onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const stats = this.#stats;
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', this.url);
    const controller = new AbortController();
    stats.requests++;
    stats.inFlight++;
    stats.peakInFlight = Math.max(stats.peakInFlight, stats.inFlight);
    res.once('finish', () => {
      stats.responses++;
      this.emit('response', { method, path: url.pathname, status: res.statusCode });
    });
    res.once('close', () => {
      stats.inFlight--;
      if (!res.writableFinished) controller.abort();
      this.changed();
    });
    this.emit('request', { method, path: url.pathname });
    this.changed();

    let body: Buffer;
    try {
      body = await readBody(req);
    } catch {
      return; // the client went away mid-body
    }
    const simReq = makeRequest(method, url, req.headers, body, controller.signal);
    try {
      await this.#respond(simReq, req, res);
    } catch (error) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const message = error instanceof Error ? error.message : String(error);
      await this.#writeBody(simReq, res, json(500, { error: { message: `${this.name} simulator: ${message}` } }));
    }
  }

  async #respond(req: SimRequest, raw: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const behaviour = this.#behaviour;
    if (behaviour.resetNext > 0) {
      this.#behaviour = { ...behaviour, resetNext: behaviour.resetNext - 1 };
      this.#stats.resets++;
      resetSocket(raw.socket);
      this.emit('reset');
      this.changed();
      return;
    }
    if (behaviour.stallHeaders && !(await this.#stall(req.signal))) return;
    if (behaviour.latencyMs > 0 && !(await delay(behaviour.latencyMs, req.signal))) return;

    let response = this.preflight(req);
    if (!response) {
      const failure = this.#takeFailure(req.path);
      if (failure) {
        this.#stats.injectedFailures++;
        response = this.failureResponse(req, failure);
        if (failure.retryAfterSeconds !== undefined) {
          response.headers = { 'retry-after': String(failure.retryAfterSeconds), ...response.headers };
        }
      }
    }
    response ??= await this.route(req);
    if (req.signal.aborted) return;

    if ('stream' in response) await this.#writeStream(req, res, response);
    else await this.#writeBody(req, res, response);
  }

  #takeFailure(path: string): FailureSpec | null {
    const { failNext, failRate } = this.#behaviour;
    const applies = (spec: FailureSpec): boolean => spec.paths === undefined || spec.paths.test(path);
    if (failNext && failNext.count > 0 && applies(failNext)) {
      const { count, ...spec } = failNext;
      this.#behaviour = { ...this.#behaviour, failNext: count > 1 ? { ...failNext, count: count - 1 } : null };
      return spec;
    }
    if (failRate && failRate.ratio > 0 && applies(failRate)) {
      const n = ++this.#failRateSeen;
      // Tiny epsilon: 0.29 * 100 is 28.999999999999996 in floating point.
      const failuresSoFar = (k: number): number => Math.floor(k * failRate.ratio + 1e-9);
      if (failuresSoFar(n) > failuresSoFar(n - 1)) {
        const { ratio: _ratio, ...spec } = failRate;
        return spec;
      }
    }
    return null;
  }

  async #stall(signal: AbortSignal): Promise<boolean> {
    this.#stats.stalled++;
    this.changed();
    const released = await this.#stallGate.wait(signal);
    this.#stats.stalled--;
    this.changed();
    return released;
  }

  async #writeBody(req: SimRequest, res: http.ServerResponse, response: SimBodyResponse): Promise<void> {
    const headers = { ...this.commonHeaders(req), ...response.headers };
    const body = typeof response.body === 'string' ? Buffer.from(response.body) : (response.body ?? Buffer.alloc(0));
    const { slowBody, stallBody } = this.#behaviour;
    const hasBody = body.length > 0 && req.method !== 'HEAD';

    if (slowBody && hasBody) {
      res.writeHead(response.status, headers); // no content-length: chunked
      const size = Math.ceil(body.length / Math.max(1, slowBody.chunks));
      for (let offset = 0; offset < body.length; offset += size) {
        if (offset > 0 && !(await delay(slowBody.chunkIntervalMs, req.signal))) return;
        if (!(await writeChunk(res, body.subarray(offset, offset + size), req.signal))) return;
      }
      res.end();
      return;
    }

    if (response.status !== 204 && response.status !== 304) headers['content-length'] = body.length;
    res.writeHead(response.status, headers);
    if (stallBody && hasBody) {
      const half = Math.floor(body.length / 2);
      if (half > 0 && !(await writeChunk(res, body.subarray(0, half), req.signal))) return;
      if (!(await this.#stall(req.signal))) return;
      res.end(body.subarray(half));
      return;
    }
    res.end(body);
  }

  async #writeStream(req: SimRequest, res: http.ServerResponse, response: SimStreamResponse): Promise<void> {
    res.writeHead(response.status, { ...this.commonHeaders(req), ...response.headers });
    res.flushHeaders();
    if (this.#behaviour.stallBody && !(await this.#stall(req.signal))) return;
    const writer: StreamWriter = {
      signal: req.signal,
      write: (chunk) => writeChunk(res, chunk, req.signal),
    };
    await response.stream(writer);
    if (!req.signal.aborted) res.end();
  }
}

/** Starts a bare simulator serving `options.handler`. */
export function startSimulator(options: SimulatorOptions & { handler: SimHandler }): Promise<Simulator> {
  return new Simulator(options).start();
}

function makeRequest(
  method: string,
  url: URL,
  headers: http.IncomingHttpHeaders,
  body: Buffer,
  signal: AbortSignal,
): SimRequest {
  return {
    method,
    url,
    path: url.pathname,
    headers,
    body,
    signal,
    header(name) {
      const value = headers[name.toLowerCase()];
      return Array.isArray(value) ? value[0] : value;
    },
    json() {
      return body.length === 0 ? undefined : (JSON.parse(body.toString('utf8')) as unknown);
    },
  };
}

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function writeChunk(res: http.ServerResponse, chunk: string | Buffer, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted || res.destroyed) return Promise.resolve(false);
  if (res.write(chunk)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => (): void => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(ok);
    };
    const onDrain = done(true);
    const onClose = done(false);
    res.once('drain', onDrain);
    res.once('close', onClose);
  });
}

/**
 * Closes a connection with a TCP RST so the client sees ECONNRESET rather than a clean close.
 * Only TCP handles can reset: a TLS socket keeps its TCP socket in the internal `_parent`.
 */
function resetSocket(socket: Socket): void {
  const tcp = (socket as TrackedSocket)._parent ?? socket;
  try {
    tcp.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}
