/**
 * One process of the fleet scenario: poolscope as built (by package name), one pool with or without a fleet
 * budget. Warms up, says ready, then on `{ requests }` sends them from one closed loop per local slot and answers
 * with the elapsed time and each request's latency.
 */
import { Registry } from 'prom-client';
import { createPool } from 'poolscope';

const { origin, path, redis, local, cap, tokens, key } = JSON.parse(process.argv[2] ?? '{}');
/** A token budget that never binds, so the figure is its Redis round trips alone; each request counts 10 tokens. */
const tokenBudget = tokens ? { tokensPerMinute: 1_000_000_000 } : {};
const pool = createPool({
  name: 'bench_fleet',
  origin,
  connections: local,
  registry: new Registry(),
  retry: false,
  timeouts: { acquireMs: 120_000 },
  ...(cap && { fleet: { redis, key, maxConcurrent: cap, ...tokenBudget, logger: { warn: () => undefined } } }),
});
const send = async () => {
  const startedAt = performance.now();
  await (await pool.fetch(`${origin}${path}`)).arrayBuffer();
  if (tokens) pool.recordTokens(10);
  return performance.now() - startedAt;
};
await Promise.all(Array.from({ length: local }, send));
process.send?.({ ready: true });
process.on('message', async (/** @type {{ requests: number }} */ message) => {
  // A closed loop per local slot: a request's latency is its own, not time spent in the local queue.
  const startedAt = performance.now();
  const perLoop = Math.ceil(message.requests / local);
  const loops = await Promise.all(
    Array.from({ length: local }, async () => {
      const mine = [];
      for (let i = 0; i < perLoop; i++) mine.push(await send());
      return mine;
    }),
  );
  process.send?.({ elapsedMs: performance.now() - startedAt, latencies: loops.flat() });
  await pool.close();
  process.disconnect();
});
