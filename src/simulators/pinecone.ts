/**
 * Pinecone simulators: a control plane (`GET /indexes`, `GET /indexes/{name}`) and, like the real
 * service, a separate data-plane origin per index (`/query`, `/vectors/upsert|fetch|delete|update|
 * list`, `/describe_index_stats`) over in-memory namespaces. Both require `Api-Key` and record the
 * `X-Pinecone-Api-Version` they were sent.
 *
 * The SDK caches each index's host process-wide, keyed by API key and index name, so every
 * simulator set gets a fresh API key by default: a cached host from an earlier (closed) simulator
 * can never be reused by mistake.
 */
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import {
  type FailureSpec,
  type SimRequest,
  type SimResponse,
  type SimulatorBehaviour,
  type WaitOptions,
  Simulator,
  json,
} from './simulator.js';

export type PineconeMetric = 'cosine' | 'euclidean' | 'dotproduct';

export interface PineconeIndexSpec {
  name: string;
  /** Default 8. */
  dimension?: number;
  /** Default 'cosine'. */
  metric?: PineconeMetric;
  tags?: Record<string, string> | null;
  deletionProtection?: 'enabled' | 'disabled';
  /** Records seeded into the default namespace (`vec-0`, `vec-1`, ...). Default 5. */
  seedRecords?: number;
}

export interface PineconeSimulatorOptions {
  tls?: boolean;
  host?: string;
  keepAliveTimeoutMs?: number;
  /** The only key accepted. Default: a fresh random key per call (see the file comment). */
  apiKey?: string;
  /** Default one index, `poolscope-test`. Each index gets its own data-plane server. */
  indexes?: PineconeIndexSpec[];
  /**
   * How `host` appears in describe_index: 'omit' is the real format (`127.0.0.1:PORT`, to which the
   * SDK prefixes `https://`); 'include' keeps the scheme (`http://127.0.0.1:PORT`), which the SDK
   * uses as is. Default: 'include' for plain HTTP (needed), 'omit' with TLS (like the real API).
   */
  hostScheme?: 'include' | 'omit';
  /** `usage.readUnits` per query. Default 5. */
  readUnitsPerQuery?: number;
  controlBehaviour?: Partial<SimulatorBehaviour>;
  dataBehaviour?: Partial<SimulatorBehaviour>;
}

export interface PineconeVector {
  id: string;
  values: number[];
  sparseValues?: { indices: number[]; values: number[] };
  metadata?: Record<string, unknown>;
}

/** The SDK (API 2025-04 and later) sends this for the default namespace; older callers send ''. */
const DEFAULT_NAMESPACE = '__default__';

const GRPC: Record<number, [number, string]> = {
  400: [3, 'INVALID_ARGUMENT'],
  401: [16, 'UNAUTHENTICATED'],
  403: [7, 'PERMISSION_DENIED'],
  404: [5, 'NOT_FOUND'],
  409: [6, 'ALREADY_EXISTS'],
  429: [8, 'RESOURCE_EXHAUSTED'],
  500: [13, 'INTERNAL'],
  501: [12, 'UNIMPLEMENTED'],
  503: [14, 'UNAVAILABLE'],
  504: [4, 'DEADLINE_EXCEEDED'],
};

/** The control plane's error body: `{ error: { code, message }, status }`. */
function controlError(status: number, message: string, headers: http.OutgoingHttpHeaders = {}): SimResponse {
  return json(status, { error: { code: GRPC[status]?.[1] ?? 'UNKNOWN', message }, status }, headers);
}

/** The data plane's (gRPC-gateway) error body: `{ code, message, details }`. */
function dataError(status: number, message: string, headers: http.OutgoingHttpHeaders = {}): SimResponse {
  return json(status, { code: GRPC[status]?.[0] ?? 2, message, details: [] }, headers);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNumberArray(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'number');
}

/** The seeded values of record `i`: deterministic, so tests can query for them. */
export function seededValues(i: number, dimension: number): number[] {
  return Array.from({ length: dimension }, (_, d) => Math.round(Math.sin(i * 7 + d) * 1e6) / 1e6);
}

class BadRequest extends Error {}

/** Pinecone metadata filters: equality shorthand and $eq $ne $in $nin $gt $gte $lt $lte $and $or. */
function matchesFilter(metadata: Record<string, unknown> | undefined, filter: unknown): boolean {
  if (filter === undefined || filter === null) return true;
  if (!isRecord(filter)) throw new BadRequest('filter must be an object');
  return Object.entries(filter).every(([key, condition]) => {
    if (key === '$and' || key === '$or') {
      if (!Array.isArray(condition)) throw new BadRequest(`${key} takes an array`);
      return key === '$and'
        ? condition.every((c) => matchesFilter(metadata, c))
        : condition.some((c) => matchesFilter(metadata, c));
    }
    const value = metadata?.[key];
    if (!isRecord(condition)) return value === condition;
    return Object.entries(condition).every(([op, operand]) => {
      switch (op) {
        case '$eq':
          return value === operand;
        case '$ne':
          return value !== operand;
        case '$in':
          return Array.isArray(operand) && operand.includes(value);
        case '$nin':
          return Array.isArray(operand) && !operand.includes(value);
        case '$gt':
          return typeof value === 'number' && typeof operand === 'number' && value > operand;
        case '$gte':
          return typeof value === 'number' && typeof operand === 'number' && value >= operand;
        case '$lt':
          return typeof value === 'number' && typeof operand === 'number' && value < operand;
        case '$lte':
          return typeof value === 'number' && typeof operand === 'number' && value <= operand;
        default:
          throw new BadRequest(`unsupported filter operator ${op}`);
      }
    });
  });
}

function score(metric: PineconeMetric, a: number[], b: number[]): number {
  let dot = 0;
  let aa = 0;
  let bb = 0;
  let squared = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    dot += x * y;
    aa += x * x;
    bb += y * y;
    squared += (x - y) ** 2;
  }
  if (metric === 'dotproduct') return dot;
  if (metric === 'euclidean') return squared;
  return aa === 0 || bb === 0 ? 0 : dot / Math.sqrt(aa * bb);
}

/**
 * The API versions the simulators speak: what each supported SDK major sends (pinecone 8: 2026-04; 9: 2026-07).
 * A request without the header gets the oldest, as Pinecone does; any other version is refused with 400.
 */
export const PINECONE_API_VERSIONS = ['2026-04', '2026-07'] as const;
export type PineconeApiVersion = (typeof PINECONE_API_VERSIONS)[number];

/** The version a request asked for, or undefined when it named one the simulators do not speak. */
export function apiVersionOf(req: SimRequest): PineconeApiVersion | undefined {
  const asked = req.header('x-pinecone-api-version');
  if (asked === undefined) return PINECONE_API_VERSIONS[0];
  return (PINECONE_API_VERSIONS as readonly string[]).includes(asked) ? (asked as PineconeApiVersion) : undefined;
}

/** Counts `X-Pinecone-Api-Version` values, refuses unknown ones and checks `Api-Key`; shared by both planes. */
abstract class PineconeSimulator extends Simulator {
  readonly #apiKey: string;
  #apiVersions: Record<string, number> = {};
  #rejected = 0;

  constructor(
    name: string,
    apiKey: string,
    options: PineconeSimulatorOptions,
    behaviour?: Partial<SimulatorBehaviour>,
  ) {
    const { tls, host, keepAliveTimeoutMs } = options;
    super({ name, tls, host, keepAliveTimeoutMs, behaviour });
    this.#apiKey = apiKey;
  }

  /** `X-Pinecone-Api-Version` values received, with counts ('none' when absent). */
  get apiVersions(): Readonly<Record<string, number>> {
    return this.#apiVersions;
  }

  /** Requests answered 401 for a missing or wrong `Api-Key`. */
  get rejectedRequests(): number {
    return this.#rejected;
  }

  override resetStats(): void {
    this.#apiVersions = {};
    this.#rejected = 0;
    super.resetStats();
  }

  protected abstract error(status: number, message: string, headers?: http.OutgoingHttpHeaders): SimResponse;

  protected override preflight(req: SimRequest): SimResponse | undefined {
    const version = req.header('x-pinecone-api-version') ?? 'none';
    this.#apiVersions[version] = (this.#apiVersions[version] ?? 0) + 1;
    if (apiVersionOf(req) === undefined) {
      return this.error(400, `Unsupported API version "${version}": supported are ${PINECONE_API_VERSIONS.join(', ')}`);
    }
    if (req.header('api-key') === this.#apiKey) return undefined;
    this.#rejected++;
    this.changed();
    return this.error(401, 'Invalid API Key');
  }

  protected override failureResponse(_req: SimRequest, failure: FailureSpec): SimResponse {
    return this.error(failure.status, failure.message ?? `Injected ${failure.status}`);
  }
}

export class PineconeDataSimulator extends PineconeSimulator {
  readonly index: Required<Pick<PineconeIndexSpec, 'name' | 'dimension' | 'metric'>>;
  readonly #namespaces = new Map<string, Map<string, PineconeVector>>();
  readonly #readUnitsPerQuery: number;
  #operations: Record<string, number> = {};
  #readUnitsSent = 0;

  constructor(spec: PineconeIndexSpec, apiKey: string, options: PineconeSimulatorOptions) {
    super(`pinecone-data:${spec.name}`, apiKey, options, options.dataBehaviour);
    this.index = { name: spec.name, dimension: spec.dimension ?? 8, metric: spec.metric ?? 'cosine' };
    this.#readUnitsPerQuery = options.readUnitsPerQuery ?? 5;
    const seeded = this.namespace(DEFAULT_NAMESPACE);
    for (let i = 0; i < (spec.seedRecords ?? 5); i++) {
      seeded.set(`vec-${i}`, {
        id: `vec-${i}`,
        values: seededValues(i, this.index.dimension),
        metadata: { genre: i % 2 === 0 ? 'comedy' : 'drama', year: 2020 + i },
      });
    }
  }

  /** The live records of a namespace ('' and '__default__' both name the default namespace). */
  namespace(name: string): Map<string, PineconeVector> {
    const key = name === '' ? DEFAULT_NAMESPACE : name;
    let records = this.#namespaces.get(key);
    if (!records) this.#namespaces.set(key, (records = new Map()));
    return records;
  }

  /** Served operations: `query`, `upsert`, `fetch`, `delete`, `update`, `list`, `describe_index_stats`. */
  get operations(): Readonly<Record<string, number>> {
    return this.#operations;
  }

  /** Sum of `usage.readUnits` sent in answers. */
  get readUnitsSent(): number {
    return this.#readUnitsSent;
  }

  /** Also zeroes `operations`, `readUnitsSent` and the API-version counts (records stay). */
  override resetStats(): void {
    this.#operations = {};
    this.#readUnitsSent = 0;
    super.resetStats();
  }

  protected override error(status: number, message: string, headers?: http.OutgoingHttpHeaders): SimResponse {
    return dataError(status, message, headers);
  }

  protected override route(req: SimRequest): SimResponse {
    try {
      return this.#route(req);
    } catch (error) {
      if (error instanceof BadRequest || error instanceof SyntaxError) return dataError(400, error.message);
      throw error;
    }
  }

  #route(req: SimRequest): SimResponse {
    const { method, path } = req;
    const post = method === 'POST';
    if (post && path === '/query') return this.#query(this.#body(req));
    if (post && path === '/vectors/upsert') return this.#upsert(this.#body(req));
    if (method === 'GET' && path === '/vectors/fetch') return this.#fetch(req.url.searchParams);
    if (post && path === '/vectors/delete') return this.#delete(this.#body(req));
    if (post && path === '/vectors/update') return this.#update(this.#body(req));
    if (method === 'GET' && path === '/vectors/list') return this.#list(req.url.searchParams);
    if ((post || method === 'GET') && path === '/describe_index_stats') {
      return this.#stats(post ? this.#body(req) : {});
    }
    return dataError(404, `Not Found: ${method} ${path}`);
  }

  #body(req: SimRequest): Record<string, unknown> {
    const body = req.json() ?? {};
    if (!isRecord(body)) throw new BadRequest('The request body must be a JSON object');
    return body;
  }

  #count(operation: string): void {
    this.#operations[operation] = (this.#operations[operation] ?? 0) + 1;
    this.changed();
  }

  #checkDimension(values: number[]): void {
    if (values.length !== this.index.dimension) {
      throw new BadRequest(
        `Vector dimension ${values.length} does not match the dimension of the index ${this.index.dimension}`,
      );
    }
  }

  #query(body: Record<string, unknown>): SimResponse {
    const namespace = typeof body.namespace === 'string' ? body.namespace : '';
    const records = this.namespace(namespace);
    const topK = body.topK;
    if (typeof topK !== 'number' || topK < 1) throw new BadRequest('topK must be a positive integer');
    let vector: number[] | undefined;
    if (isNumberArray(body.vector)) vector = body.vector;
    else if (typeof body.id === 'string') vector = records.get(body.id)?.values ?? [];
    if (!vector) throw new BadRequest('Either vector or id must be provided');
    if (vector.length > 0) this.#checkDimension(vector);
    const query = vector;
    const ascending = this.index.metric === 'euclidean';
    const matches = [...records.values()]
      .filter((record) => matchesFilter(record.metadata, body.filter))
      .map((record) => ({ record, score: query.length === 0 ? 0 : score(this.index.metric, query, record.values) }))
      .sort((a, b) => (ascending ? a.score - b.score : b.score - a.score))
      .slice(0, topK)
      .map(({ record, score: s }) => ({
        id: record.id,
        score: s,
        values: body.includeValues === true ? record.values : [],
        ...(body.includeMetadata === true && record.metadata ? { metadata: record.metadata } : {}),
      }));
    this.#readUnitsSent += this.#readUnitsPerQuery;
    this.#count('query');
    return json(200, { results: [], matches, namespace, usage: { readUnits: this.#readUnitsPerQuery } });
  }

  #upsert(body: Record<string, unknown>): SimResponse {
    const namespace = typeof body.namespace === 'string' ? body.namespace : '';
    if (!Array.isArray(body.vectors) || body.vectors.length === 0)
      throw new BadRequest('vectors must be a non-empty array');
    const vectors = body.vectors.map((v: unknown): PineconeVector => {
      if (!isRecord(v) || typeof v.id !== 'string' || !isNumberArray(v.values)) {
        throw new BadRequest('each vector needs a string id and numeric values');
      }
      this.#checkDimension(v.values);
      return {
        id: v.id,
        values: v.values,
        ...(isRecord(v.sparseValues) ? { sparseValues: v.sparseValues as PineconeVector['sparseValues'] } : {}),
        ...(isRecord(v.metadata) ? { metadata: v.metadata } : {}),
      };
    });
    const records = this.namespace(namespace);
    for (const v of vectors) records.set(v.id, v);
    this.#count('upsert');
    return json(200, { upsertedCount: vectors.length });
  }

  #fetch(params: URLSearchParams): SimResponse {
    const namespace = params.get('namespace') ?? '';
    const ids = params.getAll('ids');
    if (ids.length === 0) throw new BadRequest('ids must contain at least one id');
    const records = this.namespace(namespace);
    const vectors = Object.fromEntries(
      ids.flatMap((id) => {
        const record = records.get(id);
        return record ? [[id, record]] : [];
      }),
    );
    this.#readUnitsSent += 1;
    this.#count('fetch');
    return json(200, { vectors, namespace, usage: { readUnits: 1 } });
  }

  #delete(body: Record<string, unknown>): SimResponse {
    const records = this.namespace(typeof body.namespace === 'string' ? body.namespace : '');
    if (body.deleteAll === true) records.clear();
    else if (Array.isArray(body.ids)) for (const id of body.ids) records.delete(String(id));
    else if (body.filter !== undefined) {
      for (const [id, record] of records) if (matchesFilter(record.metadata, body.filter)) records.delete(id);
    } else throw new BadRequest('one of ids, filter or deleteAll is required');
    this.#count('delete');
    return json(200, {});
  }

  #update(body: Record<string, unknown>): SimResponse {
    const record = this.namespace(typeof body.namespace === 'string' ? body.namespace : '').get(String(body.id));
    if (record) {
      if (isNumberArray(body.values)) {
        this.#checkDimension(body.values);
        record.values = body.values;
      }
      if (isRecord(body.setMetadata)) record.metadata = { ...record.metadata, ...body.setMetadata };
    }
    this.#count('update');
    return json(200, {});
  }

  #list(params: URLSearchParams): SimResponse {
    const namespace = params.get('namespace') ?? '';
    const prefix = params.get('prefix') ?? '';
    const limit = Number(params.get('limit') ?? 100);
    const ids = [...this.namespace(namespace).keys()].filter((id) => id.startsWith(prefix)).sort();
    this.#readUnitsSent += 1;
    this.#count('list');
    return json(200, { vectors: ids.slice(0, limit).map((id) => ({ id })), namespace, usage: { readUnits: 1 } });
  }

  #stats(body: Record<string, unknown>): SimResponse {
    const namespaces: Record<string, { vectorCount: number }> = {};
    let total = 0;
    for (const [name, records] of this.#namespaces) {
      const count = [...records.values()].filter((r) => matchesFilter(r.metadata, body.filter)).length;
      if (count === 0) continue;
      namespaces[name] = { vectorCount: count };
      total += count;
    }
    this.#count('describe_index_stats');
    return json(200, {
      namespaces,
      dimension: this.index.dimension,
      indexFullness: 0,
      totalVectorCount: total,
      metric: this.index.metric,
      vectorType: 'dense',
    });
  }
}

export class PineconeControlSimulator extends PineconeSimulator {
  readonly #indexes: Map<string, { spec: PineconeIndexSpec; data: PineconeDataSimulator }>;
  readonly #hostScheme: 'include' | 'omit';
  #describeCalls: Record<string, number> = {};
  #listCalls = 0;

  constructor(
    apiKey: string,
    dataPlanes: Map<string, { spec: PineconeIndexSpec; data: PineconeDataSimulator }>,
    options: PineconeSimulatorOptions,
  ) {
    super('pinecone-control', apiKey, options, options.controlBehaviour);
    this.#indexes = dataPlanes;
    this.#hostScheme = options.hostScheme ?? (options.tls ? 'omit' : 'include');
  }

  /** `GET /indexes/{name}` calls, by index name (unknown names included). */
  get describeIndexCalls(): Readonly<Record<string, number>> {
    return this.#describeCalls;
  }

  /** `GET /indexes` calls. */
  get listIndexesCalls(): number {
    return this.#listCalls;
  }

  /** Also zeroes `describeIndexCalls`, `listIndexesCalls` and the API-version counts. */
  override resetStats(): void {
    this.#describeCalls = {};
    this.#listCalls = 0;
    super.resetStats();
  }

  /** Resolves once `GET /indexes/{name}` has been called `n` times. */
  waitForDescribeIndex(name: string, n: number, options?: WaitOptions): Promise<void> {
    return this.waitFor(() => (this.#describeCalls[name] ?? 0) >= n, `${n} describe_index calls for ${name}`, options);
  }

  /** The `host` value describe_index reports for an index. */
  hostOf(name: string): string | undefined {
    const data = this.#indexes.get(name)?.data;
    if (!data) return undefined;
    return this.#hostScheme === 'include' ? data.origin : `${data.host}:${data.port}`;
  }

  protected override error(status: number, message: string, headers?: http.OutgoingHttpHeaders): SimResponse {
    return controlError(status, message, headers);
  }

  protected override route(req: SimRequest): SimResponse {
    const { method, path } = req;
    if (method === 'GET' && path === '/indexes') {
      this.#listCalls++;
      this.changed();
      return json(200, { indexes: [...this.#indexes.keys()].map((name) => this.#model(name, apiVersionOf(req)!)) });
    }
    const match = /^\/indexes\/([^/]+)$/.exec(path);
    if (method === 'GET' && match?.[1]) {
      const name = decodeURIComponent(match[1]);
      this.#describeCalls[name] = (this.#describeCalls[name] ?? 0) + 1;
      this.changed();
      return this.#indexes.has(name)
        ? json(200, this.#model(name, apiVersionOf(req)!))
        : controlError(404, `Resource ${name} not found`);
    }
    return controlError(404, `Not Found: ${method} ${path}`);
  }

  /**
   * describe_index in the shape of the version asked for. 2026-07 replaced `spec`, `dimension`, `metric` and
   * `vector_type` with a `deployment` (by `deployment_type`) and a `schema` whose reserved `_values` field is the
   * dense vector; pinecone 9 derives its legacy accessors (`dimension`, `spec`...) from those.
   */
  #model(name: string, version: PineconeApiVersion): Record<string, unknown> {
    const entry = this.#indexes.get(name);
    if (!entry) throw new Error(`unknown index ${name}`);
    const { spec, data } = entry;
    if (version === '2026-07') {
      return {
        name,
        host: this.hostOf(name),
        status: { ready: true, state: 'Ready' },
        deployment: { deployment_type: 'managed', cloud: 'aws', region: 'us-east-1' },
        read_capacity: { mode: 'OnDemand', status: { state: 'Ready' } },
        schema: {
          fields: { _values: { type: 'dense_vector', dimension: data.index.dimension, metric: data.index.metric } },
        },
        deletion_protection: spec.deletionProtection ?? 'disabled',
        tags: spec.tags ?? null,
      };
    }
    return {
      name,
      vector_type: 'dense',
      metric: data.index.metric,
      dimension: data.index.dimension,
      status: { ready: true, state: 'Ready' },
      host: this.hostOf(name),
      spec: {
        serverless: {
          cloud: 'aws',
          region: 'us-east-1',
          read_capacity: { mode: 'OnDemand', status: { state: 'Ready' } },
        },
      },
      deletion_protection: spec.deletionProtection ?? 'disabled',
      tags: spec.tags ?? null,
    };
  }
}

let keys = 0;

export interface PineconeSimulators {
  control: PineconeControlSimulator;
  /** The first index's data plane. */
  data: PineconeDataSimulator;
  /** Every index's data plane, by index name. */
  dataPlanes: Record<string, PineconeDataSimulator>;
  /** The key both planes accept: give it to `new Pinecone({ apiKey })`. */
  apiKey: string;
  /** The first index's name. */
  indexName: string;
  /** Closes the control plane and every data plane. */
  close(): Promise<void>;
}

export async function startPineconeSimulators(options: PineconeSimulatorOptions = {}): Promise<PineconeSimulators> {
  const apiKey = options.apiKey ?? `pcsk_sim_${process.pid}_${++keys}_${randomBytes(6).toString('hex')}`;
  const specs = options.indexes ?? [{ name: 'poolscope-test' }];
  const [first] = specs;
  if (!first) throw new Error('startPineconeSimulators: at least one index is required');
  const planes = new Map<string, { spec: PineconeIndexSpec; data: PineconeDataSimulator }>();
  const started: Simulator[] = [];
  try {
    // Data planes first: describe_index reports their ports.
    for (const spec of specs) {
      const data = new PineconeDataSimulator(spec, apiKey, options);
      started.push(data);
      planes.set(spec.name, { spec, data: await data.start() });
    }
    const control = new PineconeControlSimulator(apiKey, planes, options);
    started.push(control);
    await control.start();
    const dataPlanes = Object.fromEntries([...planes].map(([name, { data }]) => [name, data]));
    const data = dataPlanes[first.name];
    if (!data) throw new Error('unreachable: the first data plane was started above');
    return {
      control,
      data,
      dataPlanes,
      apiKey,
      indexName: first.name,
      close: async () => {
        await Promise.all(started.map((s) => s.close()));
      },
    };
  } catch (error) {
    await Promise.all(started.map((s) => s.close()));
    throw error;
  }
}
