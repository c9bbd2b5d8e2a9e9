/**
 * The ways of calling an upstream that the scenarios compare. Each variant is `{ name, send(path), close() }`;
 * `send` never throws: it resolves with `{ ok, ms, endAt, error? }`, `ms` running from the call to the last
 * byte of the body (closing a throw-away client comes after and is not timed).
 *
 * - `poolscope`: one poolscope pool (undici Pool, limiter, metrics) for the origin, as the library is used.
 * - `fresh`: a new undici Client per request, closed after its response: a new TCP (+TLS) connection per
 *   request, the reference design's "before" at its most careful.
 * - `dropped`: a new client per request that is never closed (the reference's bad example, `create_client`
 *   per call): its keep-alive socket stays open until the idle timeout (undici's default, 4 s).
 * - `node-fetch`: Node's global fetch with its default dispatcher (bundled undici Agent, unbounded).
 */
import { Registry } from 'prom-client';
import { Client, fetch as undiciFetch } from 'undici';
import { createPool } from '../../dist/index.js';
import { useNodeDefaultFetch } from './node-default-fetch.js';
import { now } from './measure.js';

export const VARIANT_LABELS = {
  poolscope: 'poolscope pool',
  'poolscope-warm': 'poolscope pool, warm',
  fresh: 'new connection per request',
  dropped: 'new client per request, never closed',
  'node-fetch': "Node's global fetch (default)",
};

/** A stable, short name for an error: its code, its cause's code, or its class. */
export function errorCode(error) {
  if (!error || typeof error !== 'object') return String(error);
  return error.code ?? error.cause?.code ?? error.cause?.name ?? error.name ?? 'Error';
}

/** Times a fetch-like call up to the end of the body. */
async function timed(call) {
  const start = now();
  try {
    const response = await call();
    await response.arrayBuffer();
    const end = now();
    return {
      ok: response.status === 200,
      ms: end - start,
      endAt: end,
      ...(response.status !== 200 && { error: `HTTP ${response.status}` }),
    };
  } catch (error) {
    const end = now();
    return { ok: false, ms: end - start, endAt: end, error: errorCode(error) };
  }
}

/**
 * @param {import('./upstreams.js').Upstream} upstream
 * @param {{ connections?: number, maxConcurrent?: number, registry?: Registry, retry?: false | object, name?: string }} [options]
 */
export function poolscopeVariant(upstream, options = {}) {
  const registry = options.registry ?? new Registry();
  const pool = createPool({
    name: options.name ?? 'bench',
    origin: upstream.origin,
    connections: options.connections ?? 20,
    ...(options.maxConcurrent !== undefined && { maxConcurrent: options.maxConcurrent }),
    // Large enough that no burst here is refused by the queue or its wait: we measure pooling, not shedding.
    maxQueued: 100_000,
    timeouts: { acquireMs: 120_000 },
    // No variant retries, so every variant's success rate is first-try.
    retry: options.retry ?? false,
    registry,
    ...(upstream.ca && { tls: { ca: upstream.ca } }),
  });
  return {
    name: 'poolscope',
    pool,
    registry,
    send: (path) => timed(() => pool.fetch(upstream.origin + path)),
    close: () => pool.close(),
  };
}

/** @param {import('./upstreams.js').Upstream} upstream */
export function freshConnectionVariant(upstream) {
  const connect = upstream.ca ? { ca: upstream.ca } : {};
  return {
    name: 'fresh',
    async send(path) {
      const client = new Client(upstream.origin, { connect });
      const outcome = await timed(() => undiciFetch(upstream.origin + path, { dispatcher: client }));
      await client.destroy().catch(() => undefined);
      return outcome;
    },
    close: async () => undefined,
  };
}

/** @param {import('./upstreams.js').Upstream} upstream */
export function droppedClientVariant(upstream) {
  const connect = upstream.ca ? { ca: upstream.ca } : {};
  const clients = new Set();
  return {
    name: 'dropped',
    send(path) {
      const client = new Client(upstream.origin, { connect });
      clients.add(client);
      return timed(() => undiciFetch(upstream.origin + path, { dispatcher: client }));
    },
    async close() {
      await Promise.all([...clients].map((client) => client.destroy().catch(() => undefined)));
      clients.clear();
    },
  };
}

/** @param {import('./upstreams.js').Upstream} upstream */
export function nodeFetchVariant(upstream) {
  const restore = useNodeDefaultFetch(upstream.ca);
  return {
    name: 'node-fetch',
    send: (path) => timed(() => globalThis.fetch(upstream.origin + path)),
    close: restore,
  };
}

export const VARIANTS = {
  poolscope: poolscopeVariant,
  fresh: freshConnectionVariant,
  dropped: droppedClientVariant,
  'node-fetch': nodeFetchVariant,
};

/** Counts outcomes: successes, failures by error code. */
export function tally(outcomes) {
  const errors = {};
  let ok = 0;
  for (const outcome of outcomes) {
    if (outcome.ok) ok++;
    else errors[outcome.error] = (errors[outcome.error] ?? 0) + 1;
  }
  return { ok, failed: outcomes.length - ok, successRate: outcomes.length === 0 ? 0 : ok / outcomes.length, errors };
}
