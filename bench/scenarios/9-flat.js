/**
 * 9. Flat: every kind of pool held for 100,000 operations, with a full GC before each sample of the heap and a
 * count of every listener the pool's objects carry. A listener added per operation and never removed shows as a
 * count that grows with the operations (issue: one `error` listener per Postgres checkout); the scenario fails.
 *
 * - HTTP: `createPool().fetch()`, every request given the same long-lived AbortSignal (an app's shutdown signal).
 * - `instrumentPgPool`: the app's own `pool.connect()`/`release()` in promise and callback forms, and `pool.query()`.
 * - `createPgPool`: `query()`, `run()`, and `release(err)` on the app's own checkout (the client is replaced).
 *
 * The Postgres kinds need a database: POOLSCOPE_TEST_DATABASE_URL, else the local postgres://postgres@127.0.0.1/test;
 * without one they are left out and the notes say so.
 */
import { getEventListeners } from 'node:events';
import pg from 'pg';
import { Registry } from 'prom-client';
import { createPgPool, createPool, instrumentPgPool } from '../../dist/index.js';
import { forEachConcurrently, gcAndMeasure, round } from '../lib/measure.js';
import { withUpstream } from '../lib/upstreams.js';

export const id = 'flat';
export const title = 'Flat: heap and listeners across 100,000 operations per kind of pool';

const OPERATIONS = 100_000;
const SAMPLES = 5;
const CONCURRENCY = 8;
/** Heap growth from the first steady sample to the last that counts as flat (GC noise is ~1 MB here). */
const HEAP_TARGET_MB = 4;
const MB = 2 ** 20;
const quiet = { warn: () => undefined, info: () => undefined };

/** @param {import('../run.js').Context} ctx */
export async function run(ctx) {
  const operations = ctx.quick ? 2_000 : OPERATIONS;
  const results = [];
  const notes = [];
  results.push(await http(ctx, operations));
  const databaseUrl = await reachableDatabase();
  if (databaseUrl) {
    results.push(await instrumented(databaseUrl, operations));
    results.push(await created(databaseUrl, operations));
  } else
    notes.push('No PostgreSQL answered (POOLSCOPE_TEST_DATABASE_URL or 127.0.0.1:5432/test): Postgres kinds left out.');
  const grown = results.filter((r) => r.listenersLast !== r.listenersFirst);
  if (grown.length > 0)
    throw new Error(
      `listeners grew with the operations: ${grown.map((r) => `${r.kind} ${r.listenersFirst} → ${r.listenersLast}`).join('; ')}`,
    );
  const worstHeapMB = Math.max(...results.map((r) => r.heapGrowthMB));
  return {
    params: { operations, samples: SAMPLES, concurrency: CONCURRENCY, gc: typeof globalThis.gc === 'function' },
    results,
    summary: { kinds: results.length, worstHeapGrowthMB: worstHeapMB },
    target: {
      description: `listener counts equal from the first steady sample to the last, heap growth ≤ ${HEAP_TARGET_MB} MB`,
      threshold: HEAP_TARGET_MB,
      value: worstHeapMB,
      met: worstHeapMB <= HEAP_TARGET_MB,
      measured: results.map((r) => `${r.kind}: ${r.heapGrowthMB} MB, ${r.listenersLast} listeners`).join('; '),
    },
    table: {
      headers: [
        'kind',
        'operations',
        'heap MB (first steady)',
        'heap MB (last)',
        'growth MB',
        'listeners first → last',
      ],
      rows: results.map((r) => [
        r.kind,
        r.operations,
        r.heapFirstMB,
        r.heapLastMB,
        r.heapGrowthMB,
        `${r.listenersFirst} → ${r.listenersLast}`,
      ]),
    },
    notes: [
      'The first sample is taken after a tenth of the operations (JIT, allocator and undici caches at their steady size).',
      ...notes,
    ],
  };
}

/**
 * Runs `operations` in `SAMPLES` batches after a warm-up tenth, sampling heap and listeners after each batch.
 * @param {string} kind
 * @param {number} operations
 * @param {(i: number) => Promise<void>} operation
 * @param {() => number} countListeners
 */
async function soak(kind, operations, operation, countListeners) {
  const warmup = Math.floor(operations / 10);
  await forEachConcurrently(warmup, CONCURRENCY, operation);
  const samples = [await sample(countListeners)];
  const batch = Math.ceil((operations - warmup) / SAMPLES);
  for (let done = warmup; done < operations; done += batch) {
    await forEachConcurrently(Math.min(batch, operations - done), CONCURRENCY, operation);
    samples.push(await sample(countListeners));
  }
  const first = samples[0];
  const last = samples.at(-1);
  return {
    kind,
    operations,
    heapFirstMB: first.heapMB,
    heapLastMB: last.heapMB,
    heapGrowthMB: round(last.heapMB - first.heapMB, 2),
    listenersFirst: first.listeners,
    listenersLast: last.listeners,
  };
}

async function http(ctx, operations) {
  return withUpstream(ctx.host, { kind: 'fast' }, async (upstream) => {
    const pool = createPool({
      name: 'flat_http',
      origin: upstream.origin,
      connections: CONCURRENCY,
      registry: new Registry(),
    });
    const shutdown = new AbortController(); // never aborted: an app's long-lived signal
    try {
      return await soak(
        'HTTP pool.fetch (one long-lived signal)',
        operations,
        async () => {
          const response = await pool.fetch(`${upstream.origin}/rest/v1/uploads`, { signal: shutdown.signal });
          await response.arrayBuffer();
          if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
        },
        () =>
          getEventListeners(shutdown.signal, 'abort').length +
          emitterListeners(pool) +
          emitterListeners(pool.dispatcher),
      );
    } finally {
      await pool.close();
    }
  });
}

async function instrumented(databaseUrl, operations) {
  const raw = new pg.Pool({ connectionString: databaseUrl, max: CONCURRENCY });
  const pgPool = instrumentPgPool(raw, { name: 'flat_instrumented', registry: new Registry(), logger: quiet });
  try {
    return await soak(
      'instrumentPgPool: connect() / connect(cb) / query()',
      operations,
      async (i) => {
        if (i % 3 === 0) (await raw.connect()).release();
        else if (i % 3 === 1)
          await new Promise((resolve, reject) => raw.connect((e, _c, done) => (e ? reject(e) : resolve(done()))));
        else await raw.query('SELECT 1');
      },
      () => clientListeners(raw) + emitterListeners(raw) + emitterListeners(pgPool),
    );
  } finally {
    await pgPool.close();
  }
}

async function created(databaseUrl, operations) {
  const pgPool = await createPgPool({
    connectionString: databaseUrl,
    name: 'flat_created',
    max: CONCURRENCY,
    min: CONCURRENCY,
    registry: new Registry(),
    logger: quiet,
    leakDetectionThresholdMs: 60_000,
  });
  try {
    return await soak(
      'createPgPool: query() / run() / release(err)',
      operations,
      async (i) => {
        if (i % 100 === 99) (await pgPool.pool.connect()).release(new Error('discarded'));
        else if (i % 2 === 0) await pgPool.query('SELECT 1');
        else await pgPool.run('flat', (client) => client.query('SELECT 1'));
      },
      () => clientListeners(pgPool.pool) + emitterListeners(pgPool.pool) + emitterListeners(pgPool),
    );
  } finally {
    await pgPool.close();
  }
}

/** Every listener on the clients pg-pool holds, per client (a replaced client starts again from pg's own). */
function clientListeners(pool) {
  return pool._clients.reduce((sum, client) => sum + emitterListeners(client), 0) / Math.max(1, pool._clients.length);
}

function emitterListeners(emitter) {
  return emitter.eventNames().reduce((sum, name) => sum + emitter.listenerCount(name), 0);
}

/**
 * The heap and the listeners after a full GC. undici's `fetch` removes its listener from a caller's signal when the
 * `Request` is collected (a FinalizationRegistry, whose callbacks run a task after the GC): the wait lets them run.
 */
async function sample(countListeners) {
  // Finalizers run when V8 gets to them (Node 22 later than 20): the fewest listeners over a few collections.
  let listeners = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 5; i++) {
    gcAndMeasure();
    await new Promise((resolve) => setTimeout(resolve, 10));
    listeners = Math.min(listeners, countListeners());
  }
  return { heapMB: round(gcAndMeasure().heapUsed / MB, 2), listeners };
}

async function reachableDatabase() {
  const url = process.env.POOLSCOPE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    return url;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}
