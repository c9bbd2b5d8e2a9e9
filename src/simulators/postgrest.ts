/**
 * Supabase simulator: PostgREST under /rest/v1 over in-memory tables (select with filters, order,
 * limit and counts; insert/upsert, update, delete with `Prefer: return=representation`; rpc;
 * HEAD), the OpenAPI root and GoTrue's /auth/v1/health, behind Supabase's `apikey` gate. It
 * records which role (anon or service_role) each request used.
 */
import type http from 'node:http';
import {
  type FailureSpec,
  type SimRequest,
  type SimResponse,
  type SimulatorBehaviour,
  Simulator,
  empty,
  json,
} from './simulator.js';

export type Row = Record<string, unknown>;
export type SupabaseRole = 'anon' | 'service_role';
export type RpcFunction = (args: Record<string, unknown>, tables: Map<string, Row[]>) => unknown;

export interface SupabaseSimulatorOptions {
  tls?: boolean;
  host?: string;
  port?: number;
  keepAliveTimeoutMs?: number;
  behaviour?: Partial<SimulatorBehaviour>;
  /** Default 'sim-anon-key'. */
  anonKey?: string;
  /** Default 'sim-service-role-key'. */
  serviceRoleKey?: string;
  /** Replaces the seeded tables (`uploads`, `users`). Rows are copied. */
  tables?: Record<string, Row[]>;
  /** Extra rpc functions, next to the built-in `echo` and `count_rows`. */
  functions?: Record<string, RpcFunction>;
}

const CREATED_AT = '2024-01-01T00:00:00.000Z';

export function seedTables(): Record<string, Row[]> {
  return {
    uploads: [
      { id: 1, user_id: 1, path: 'avatars/ada.png', size_bytes: 20_480, status: 'done', created_at: CREATED_AT },
      { id: 2, user_id: 1, path: 'docs/report.pdf', size_bytes: 1_048_576, status: 'done', created_at: CREATED_AT },
      { id: 3, user_id: 2, path: 'video/demo.mp4', size_bytes: 52_428_800, status: 'pending', created_at: CREATED_AT },
    ],
    users: [
      { id: 1, email: 'ada@example.com', role: 'admin', created_at: CREATED_AT },
      { id: 2, email: 'alan@example.com', role: 'member', created_at: CREATED_AT },
    ],
  };
}

const BUILT_IN_FUNCTIONS: Record<string, RpcFunction> = {
  echo: (args) => args,
  count_rows: (args, tables) => tables.get(String(args.table_name))?.length ?? null,
};

/** PostgREST's error body. */
function pgError(
  status: number,
  code: string,
  message: string,
  details: string | null = null,
  hint: string | null = null,
): SimResponse {
  return json(status, { code, details, hint, message });
}

class PgError extends Error {
  constructor(readonly response: SimResponse) {
    super('postgrest error');
  }
}

function fail(status: number, code: string, message: string, details: string | null = null): never {
  throw new PgError(pgError(status, code, message, details));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `Prefer` values as a set of `key=value` (postgrest-js appends several, comma-separated). */
function preferences(req: SimRequest): Set<string> {
  const raw = req.headers.prefer;
  const values = Array.isArray(raw) ? raw : raw ? [raw] : [];
  return new Set(values.flatMap((v) => v.split(',')).map((v) => v.trim()));
}

/** Splits on commas outside parentheses and quotes. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let current = '';
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    if (!quoted && ch === '(') depth++;
    if (!quoted && ch === ')') depth--;
    if (ch === ',' && depth === 0 && !quoted) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  if (current !== '') parts.push(current);
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

interface Projection {
  all: boolean;
  columns: Array<{ alias: string; column: string }>;
}

function parseSelect(select: string | null): Projection {
  const projection: Projection = { all: false, columns: [] };
  for (const item of splitTopLevel(select ?? '*')) {
    if (item === '*') projection.all = true;
    else if (item.includes('('))
      continue; // embedded resources: not simulated
    else {
      const [aliasOrColumn, maybeColumn] = item.split(':').filter((p) => p !== '');
      const aliasPart = maybeColumn === undefined ? undefined : aliasOrColumn;
      const column = (maybeColumn ?? aliasOrColumn ?? '').split('::')[0] ?? '';
      projection.columns.push({ alias: aliasPart ?? column, column });
    }
  }
  return projection;
}

function project(row: Row, projection: Projection): Row {
  const out: Row = projection.all ? { ...row } : {};
  for (const { alias, column } of projection.columns) out[alias] = row[column] ?? null;
  return out;
}

function compare(a: unknown, b: string): number {
  if (typeof a === 'number' && b.trim() !== '' && !Number.isNaN(Number(b))) return a - Number(b);
  const left = a === null || a === undefined ? 'null' : String(a);
  return left < b ? -1 : left > b ? 1 : 0;
}

function likeToRegExp(pattern: string, flags: string): RegExp {
  const escaped = pattern
    .replace(/[.+?^${}()|[\]\\]/g, '\\$&')
    .replace(/[*%]/g, '.*')
    .replace(/_/g, '.');
  return new RegExp(`^${escaped}$`, flags);
}

type Filter = (row: Row) => boolean;

function parseFilter(column: string, expression: string): Filter {
  const negate = expression.startsWith('not.');
  const rest = negate ? expression.slice(4) : expression;
  const dot = rest.indexOf('.');
  const op = dot === -1 ? rest : rest.slice(0, dot);
  const value = dot === -1 ? '' : rest.slice(dot + 1);
  let test: Filter;
  switch (op) {
    case 'eq':
      test = (row) => compare(row[column], value) === 0;
      break;
    case 'neq':
      test = (row) => compare(row[column], value) !== 0;
      break;
    case 'gt':
      test = (row) => compare(row[column], value) > 0;
      break;
    case 'gte':
      test = (row) => compare(row[column], value) >= 0;
      break;
    case 'lt':
      test = (row) => compare(row[column], value) < 0;
      break;
    case 'lte':
      test = (row) => compare(row[column], value) <= 0;
      break;
    case 'like':
    case 'ilike': {
      const re = likeToRegExp(value, op === 'ilike' ? 'i' : '');
      test = (row) => typeof row[column] === 'string' && re.test(row[column]);
      break;
    }
    case 'in': {
      if (!value.startsWith('(') || !value.endsWith(')'))
        fail(400, 'PGRST100', `failed to parse filter (${expression})`);
      const options = splitTopLevel(value.slice(1, -1)).map((v) => v.replace(/^"(.*)"$/, '$1'));
      test = (row) => options.some((option) => compare(row[column], option) === 0);
      break;
    }
    case 'is': {
      const expected = { null: null, true: true, false: false } as Record<string, unknown>;
      if (!(value in expected)) fail(400, 'PGRST100', `failed to parse filter (${expression})`);
      test = (row) => (row[column] ?? null) === expected[value];
      break;
    }
    default:
      fail(400, 'PGRST100', `failed to parse filter (${expression})`, `unknown operator ${op}`);
  }
  return negate ? (row) => !test(row) : test;
}

const RESERVED_PARAMS = new Set(['select', 'order', 'limit', 'offset', 'on_conflict', 'columns']);

interface TableQuery {
  projection: Projection;
  filters: Filter[];
  order: Array<{ column: string; descending: boolean }>;
  limit: number | undefined;
  offset: number;
}

function parseQuery(params: URLSearchParams): TableQuery {
  const filters: Filter[] = [];
  for (const [key, value] of params) {
    if (RESERVED_PARAMS.has(key)) continue;
    if (key === 'or' || key === 'and' || key.startsWith('not.')) {
      fail(400, 'PGRST100', `the simulator does not support "${key}" filters`);
    }
    filters.push(parseFilter(key, value));
  }
  const order = (params.get('order') ?? '')
    .split(',')
    .filter((o) => o !== '')
    .map((o) => {
      const [column = '', direction] = o.split('.');
      return { column, descending: direction === 'desc' };
    });
  const limit = params.get('limit');
  return {
    projection: parseSelect(params.get('select')),
    filters,
    order,
    limit: limit === null ? undefined : Number(limit),
    offset: Number(params.get('offset') ?? 0),
  };
}

function stripNulls(row: Row): Row {
  return Object.fromEntries(Object.entries(row).filter(([, v]) => v !== null));
}

export class SupabaseSimulator extends Simulator {
  readonly anonKey: string;
  readonly serviceRoleKey: string;
  readonly #tables = new Map<string, Row[]>();
  readonly #functions: Record<string, RpcFunction>;
  #byRole: Record<SupabaseRole, number> = { anon: 0, service_role: 0 };
  #operations: Record<string, number> = {};
  #rejected = 0;

  constructor(options: SupabaseSimulatorOptions = {}) {
    super({ name: 'supabase', ...options });
    this.anonKey = options.anonKey ?? 'sim-anon-key';
    this.serviceRoleKey = options.serviceRoleKey ?? 'sim-service-role-key';
    for (const [name, rows] of Object.entries(options.tables ?? seedTables())) {
      this.#tables.set(
        name,
        rows.map((row) => ({ ...row })),
      );
    }
    this.#functions = { ...BUILT_IN_FUNCTIONS, ...options.functions };
  }

  /** Requests that passed the `apikey` gate, by the role of the key. */
  get requestsByRole(): Readonly<Record<SupabaseRole, number>> {
    return this.#byRole;
  }

  /** Requests answered 401 for a missing or unknown `apikey`. */
  get rejectedRequests(): number {
    return this.#rejected;
  }

  /** Served operations by kind and target: `select uploads`, `insert uploads`, `rpc echo`, `health auth`, ... */
  get operations(): Readonly<Record<string, number>> {
    return this.#operations;
  }

  /** Also zeroes `requestsByRole`, `rejectedRequests` and `operations` (tables keep their rows). */
  override resetStats(): void {
    this.#byRole = { anon: 0, service_role: 0 };
    this.#operations = {};
    this.#rejected = 0;
    super.resetStats();
  }

  /** The live rows of a table (mutate to arrange a test; read to assert). */
  table(name: string): Row[] {
    let rows = this.#tables.get(name);
    if (!rows) this.#tables.set(name, (rows = []));
    return rows;
  }

  // ---- simulator hooks ----

  protected override preflight(req: SimRequest): SimResponse | undefined {
    const key = req.header('apikey') ?? req.url.searchParams.get('apikey') ?? undefined;
    const role: SupabaseRole | undefined =
      key === this.anonKey ? 'anon' : key === this.serviceRoleKey ? 'service_role' : undefined;
    if (role) {
      this.#byRole[role]++;
      this.changed();
      return undefined;
    }
    this.#rejected++;
    this.changed();
    // Supabase's API gateway answers these, not PostgREST: hence not PostgREST's shape.
    return key === undefined
      ? json(401, {
          message: 'No API key found in request',
          hint: 'No `apikey` request header or url param was found.',
        })
      : json(401, { message: 'Invalid API key', hint: 'Double check your Supabase `anon` or `service_role` API key.' });
  }

  protected override failureResponse(_req: SimRequest, failure: FailureSpec): SimResponse {
    const known: Record<number, [string, string]> = {
      503: ['PGRST001', 'Database client error. Retrying the connection.'],
      504: ['PGRST003', 'Timed out acquiring connection from connection pool.'],
      500: ['XX000', 'internal error'],
    };
    const [code, message] = known[failure.status] ?? ['PGRST000', `injected ${failure.status}`];
    return pgError(failure.status, failure.kind ?? code, failure.message ?? message);
  }

  protected override commonHeaders(_req: SimRequest): http.OutgoingHttpHeaders {
    return { 'sb-gateway-version': '1' };
  }

  protected override route(req: SimRequest): SimResponse {
    try {
      return this.#route(req);
    } catch (error) {
      if (error instanceof PgError) return error.response;
      throw error;
    }
  }

  // ---- routes ----

  #route(req: SimRequest): SimResponse {
    const { method, path } = req;
    if (path === '/auth/v1/health' && method === 'GET') {
      this.#count('health auth');
      return json(200, {
        version: 'v2.170.0',
        name: 'GoTrue',
        description: 'GoTrue is a user registration and authentication API',
      });
    }
    if (!path.startsWith('/rest/v1')) return json(404, { message: 'no Route matched with those values' });
    const rest = path.slice('/rest/v1'.length).replace(/^\//, '');
    if (rest === '') {
      if (method !== 'GET' && method !== 'HEAD') fail(405, 'PGRST117', `Unsupported HTTP method: ${method}`);
      this.#count('openapi root');
      return json(200, this.#openApi(req), { 'content-type': 'application/openapi+json; charset=utf-8' });
    }
    const segments = rest.split('/').map(decodeURIComponent);
    if (segments[0] === 'rpc' && segments.length === 2 && segments[1]) return this.#rpc(req, segments[1]);
    if (segments.length !== 1 || !segments[0]) fail(404, 'PGRST125', 'Invalid path specified in request URL');
    const name = segments[0];
    const rows = this.#tables.get(name);
    if (!rows) fail(404, 'PGRST205', `Could not find the table 'public.${name}' in the schema cache`);
    switch (method) {
      case 'GET':
      case 'HEAD':
        return this.#select(req, name, rows);
      case 'POST':
        return this.#insert(req, name, rows);
      case 'PATCH':
        return this.#update(req, name, rows);
      case 'DELETE':
        return this.#delete(req, name, rows);
      default:
        return fail(405, 'PGRST117', `Unsupported HTTP method: ${method}`);
    }
  }

  #select(req: SimRequest, name: string, rows: Row[]): SimResponse {
    const query = parseQuery(req.url.searchParams);
    this.#checkColumns(
      name,
      rows,
      query.projection.columns.map((c) => c.column),
    );
    const matched = rows.filter((row) => query.filters.every((f) => f(row)));
    for (const { column, descending } of [...query.order].reverse()) {
      matched.sort((a, b) => {
        const x = a[column];
        const y = b[column];
        const order =
          x === y ? 0 : x === null || x === undefined ? 1 : y === null || y === undefined ? -1 : x < y ? -1 : 1;
        return descending ? -order : order;
      });
    }
    const end = query.limit === undefined ? undefined : query.offset + query.limit;
    const page = matched.slice(query.offset, end).map((row) => project(row, query.projection));
    this.#count(`select ${name}`);
    return this.#rowsResponse(req, 200, page, this.#contentRange(req, query.offset, page.length, matched.length));
  }

  #insert(req: SimRequest, name: string, rows: Row[]): SimResponse {
    const body = this.#jsonBody(req);
    const incoming = Array.isArray(body) ? body : [body];
    if (!incoming.every(isRecord)) fail(400, 'PGRST102', 'Empty or invalid json');
    const records = incoming as Row[];
    const columnsParam = req.url.searchParams.get('columns');
    const allowed = columnsParam?.split(',').map((c) => c.replace(/"/g, ''));
    this.#checkColumns(
      name,
      rows,
      records.flatMap((r) => Object.keys(r)),
    );
    const prefer = preferences(req);
    const onConflict = (req.url.searchParams.get('on_conflict') ?? 'id').split(',');
    const merge = prefer.has('resolution=merge-duplicates');
    const ignore = prefer.has('resolution=ignore-duplicates');
    const columns = this.#columns(rows);
    const written: Row[] = [];
    for (const record of records) {
      const values = allowed ? Object.fromEntries(allowed.map((c) => [c, record[c] ?? null])) : { ...record };
      const existing = rows.find((row) => onConflict.every((c) => values[c] !== undefined && row[c] === values[c]));
      if (existing) {
        if (ignore) continue;
        if (!merge) {
          const key = onConflict.join(', ');
          fail(
            409,
            '23505',
            `duplicate key value violates unique constraint "${name}_pkey"`,
            `Key (${key})=(${onConflict.map((c) => String(values[c])).join(', ')}) already exists.`,
          );
        }
        Object.assign(existing, values);
        written.push(existing);
        continue;
      }
      const row: Row = Object.fromEntries(columns.map((c) => [c, null]));
      if (columns.includes('created_at')) row.created_at = new Date().toISOString();
      if (columns.includes('id') || columns.length === 0) row.id = this.#nextId(rows);
      Object.assign(row, values);
      rows.push(row);
      written.push(row);
    }
    this.#count(`insert ${name}`);
    return this.#writeResponse(req, 201, written);
  }

  #update(req: SimRequest, name: string, rows: Row[]): SimResponse {
    const body = this.#jsonBody(req);
    if (!isRecord(body)) fail(400, 'PGRST102', 'Empty or invalid json');
    this.#checkColumns(name, rows, Object.keys(body));
    const query = parseQuery(req.url.searchParams);
    const matched = rows.filter((row) => query.filters.every((f) => f(row)));
    for (const row of matched) Object.assign(row, body);
    this.#count(`update ${name}`);
    return this.#writeResponse(req, 200, matched);
  }

  #delete(req: SimRequest, name: string, rows: Row[]): SimResponse {
    const query = parseQuery(req.url.searchParams);
    const removed = rows.filter((row) => query.filters.every((f) => f(row)));
    const kept = rows.filter((row) => !removed.includes(row));
    rows.splice(0, rows.length, ...kept);
    this.#count(`delete ${name}`);
    return this.#writeResponse(req, 200, removed);
  }

  #rpc(req: SimRequest, fn: string): SimResponse {
    const body = req.method === 'POST' ? this.#jsonBody(req) : Object.fromEntries(req.url.searchParams);
    const args = body === undefined ? {} : body;
    const implementation = this.#functions[fn];
    if (!isRecord(args) || !implementation) {
      const names = isRecord(args) ? Object.keys(args).join(', ') : '';
      fail(
        404,
        'PGRST202',
        `Could not find the function public.${fn}(${names}) in the schema cache`,
        `Searched for the function public.${fn} with parameters ${names || 'without parameters'}, but no matches were found in the schema cache.`,
      );
    }
    if (req.method !== 'POST' && req.method !== 'GET' && req.method !== 'HEAD') {
      fail(405, 'PGRST117', `Unsupported HTTP method: ${req.method}`);
    }
    const result = implementation(args, this.#tables);
    this.#count(`rpc ${fn}`);
    return result === undefined ? empty(204) : json(200, result);
  }

  // ---- helpers ----

  #count(operation: string): void {
    this.#operations[operation] = (this.#operations[operation] ?? 0) + 1;
    this.changed();
  }

  #jsonBody(req: SimRequest): unknown {
    try {
      return req.json();
    } catch {
      return fail(400, 'PGRST102', 'Empty or invalid json');
    }
  }

  #columns(rows: Row[]): string[] {
    return [...new Set(rows.flatMap((row) => Object.keys(row)))];
  }

  /** Rejects unknown columns, as PostgREST's schema cache does (tables with no rows accept any). */
  #checkColumns(name: string, rows: Row[], used: string[]): void {
    const columns = this.#columns(rows);
    if (columns.length === 0) return;
    const unknown = used.find((c) => !columns.includes(c));
    if (unknown !== undefined)
      fail(400, 'PGRST204', `Could not find the '${unknown}' column of '${name}' in the schema cache`);
  }

  #nextId(rows: Row[]): number {
    return rows.reduce((max, row) => (typeof row.id === 'number' && row.id > max ? row.id : max), 0) + 1;
  }

  #contentRange(req: SimRequest, offset: number, returned: number, total: number): string {
    const exact = [...preferences(req)].some((p) => /^count=(exact|planned|estimated)$/.test(p));
    const range = returned === 0 ? '*' : `${offset}-${offset + returned - 1}`;
    return `${range}/${exact ? total : '*'}`;
  }

  /** Rows as JSON, or one object for `Accept: application/vnd.pgrst.object+json` (`.single()`). */
  #rowsResponse(req: SimRequest, status: number, rows: Row[], contentRange: string): SimResponse {
    const accept = req.header('accept') ?? '';
    const strip = accept.includes('nulls=stripped');
    const shaped = strip ? rows.map(stripNulls) : rows;
    const headers = { 'content-range': contentRange };
    if (accept.includes('application/vnd.pgrst.object+json')) {
      const [only] = shaped;
      if (shaped.length !== 1 || !only) {
        return pgError(
          406,
          'PGRST116',
          'Cannot coerce the result to a single JSON object',
          `The result contains ${shaped.length} rows`,
        );
      }
      return json(status, only, { ...headers, 'content-type': 'application/vnd.pgrst.object+json; charset=utf-8' });
    }
    return json(status, shaped, headers);
  }

  /** Insert/update/delete: the rows with `Prefer: return=representation`, else no body. */
  #writeResponse(req: SimRequest, status: number, rows: Row[]): SimResponse {
    const contentRange = `*/${rows.length}`;
    if (!preferences(req).has('return=representation')) {
      return status === 201
        ? empty(201, { 'content-range': contentRange })
        : empty(204, { 'content-range': contentRange });
    }
    const projection = parseSelect(req.url.searchParams.get('select'));
    return this.#rowsResponse(
      req,
      status,
      rows.map((row) => project(row, projection)),
      contentRange,
    );
  }

  #openApi(req: SimRequest): unknown {
    const typeOf = (value: unknown): string =>
      typeof value === 'number'
        ? Number.isInteger(value)
          ? 'integer'
          : 'number'
        : typeof value === 'boolean'
          ? 'boolean'
          : 'string';
    const definitions = Object.fromEntries(
      [...this.#tables].map(([name, rows]) => [
        name,
        {
          type: 'object',
          properties: Object.fromEntries(
            this.#columns(rows).map((c) => [c, { type: typeOf(rows.find((r) => r[c] !== null)?.[c]) }]),
          ),
        },
      ]),
    );
    const paths: Record<string, unknown> = { '/': { get: { produces: ['application/openapi+json'] } } };
    for (const name of this.#tables.keys()) paths[`/${name}`] = { get: {}, post: {}, patch: {}, delete: {} };
    for (const fn of Object.keys(this.#functions)) paths[`/rpc/${fn}`] = { post: {}, get: {} };
    return {
      swagger: '2.0',
      info: { title: 'standard public schema', version: '12.2.3 (simulator)' },
      host: req.url.host,
      basePath: '/',
      schemes: [req.url.protocol.replace(':', '')],
      consumes: ['application/json', 'application/vnd.pgrst.object+json', 'text/csv'],
      produces: ['application/json', 'application/vnd.pgrst.object+json', 'text/csv'],
      paths,
      definitions,
    };
  }
}

export async function startSupabaseSimulator(options: SupabaseSimulatorOptions = {}): Promise<SupabaseSimulator> {
  return new SupabaseSimulator(options).start();
}
