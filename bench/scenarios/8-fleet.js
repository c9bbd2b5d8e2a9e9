/**
 * 8. A fleet budget's cost: 4 processes, each a pool of 5 driven by 5 closed loops, against one upstream answering
 * in 20 ms, with no fleet budget (one process alone also with a tokens-per-minute budget), with one whose cap never binds (4 × 5 = 20: the Redis round trips alone), and
 * with a cap of 10 that binds. The processes start together and each sends the same number of requests; throughput is all of
 * them over the slowest process's time.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { latencies, now, ratio, round } from '../lib/measure.js';
import { startRedis } from '../lib/redis.js';
import { withUpstream } from '../lib/upstreams.js';

export const id = 'fleet';
export const title = 'Fleet budget in Redis: 4 processes, fleet off vs on (20 ms upstream)';

const WORKER = fileURLToPath(new URL('../lib/fleet-worker.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const LOCAL = 5;
const PATH = '/rest/v1/uploads?select=*';
const BINDING_CAP = 10;

/** @param {import('../run.js').Context} ctx */
export async function run(ctx) {
  const redis = await startRedis();
  if (!redis) {
    return {
      results: [{ skipped: 1 }],
      summary: { skipped: 1 },
      table: {
        headers: ['note'],
        rows: [['redis-server is not installed (apt-get install redis-server): not measured']],
      },
    };
  }
  // --quick checks the harness, not the figures: fewer processes, each started costs about a second.
  const processes = ctx.quick ? 2 : 4;
  const requestsPerProcess = ctx.quick ? 10 : 500;
  const upstreamLatencyMs = 20;
  // First the cost alone: one process, one request at a time, an upstream that answers at once. Then the fleet.
  const sequential = {
    processes: 1,
    local: 1,
    kind: 'fast',
    latencyMs: 0,
    requests: ctx.quick ? 20 : 2_000,
    tokens: false,
  };
  const fleet = {
    processes,
    local: LOCAL,
    kind: 'sim',
    latencyMs: upstreamLatencyMs,
    requests: requestsPerProcess,
    tokens: false,
  };
  const variants = [
    { variant: '1 process, sequential, fleet off', cap: 0, ...sequential },
    { variant: '1 process, sequential, fleet on', cap: 1, ...sequential },
    { variant: '1 process, sequential, fleet on + tokens per minute', cap: 1, ...sequential, tokens: true },
    { variant: `${processes} processes, fleet off`, cap: 0, ...fleet },
    {
      variant: `${processes} processes, fleet on, cap ${processes * LOCAL} (never binds)`,
      cap: processes * LOCAL,
      ...fleet,
    },
    { variant: `${processes} processes, fleet on, cap ${BINDING_CAP} (binds)`, cap: BINDING_CAP, ...fleet },
  ];
  const results = [];
  try {
    for (const { variant, cap, tokens, processes, local, kind, latencyMs, requests: requestsPerProcess } of variants) {
      const row = await withUpstream(
        ctx.host,
        { kind: /** @type {'sim' | 'fast'} */ (kind), tls: false, behaviour: { latencyMs } },
        async (upstream) => {
          const config = {
            origin: upstream.origin,
            path: PATH,
            redis: redis.url,
            local,
            cap,
            tokens: Boolean(tokens),
            key: `bench_${Date.now()}`,
          };
          const workers = Array.from({ length: processes }, () =>
            fork(WORKER, [JSON.stringify(config)], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
          );
          try {
            await Promise.all(workers.map((worker) => once(worker, 'message')));
            const t0 = now();
            const replies = await Promise.all(
              workers.map((worker) => {
                const reply = once(worker, 'message');
                worker.send({ requests: requestsPerProcess });
                return reply;
              }),
            );
            const elapsedMs = now() - t0;
            const all = latencies();
            for (const [reply] of replies) for (const ms of reply.latencies) all.record(ms);
            const t = all.summary();
            const requests = processes * requestsPerProcess;
            return {
              variant,
              cap,
              requests,
              elapsedMs: round(elapsedMs, 0),
              throughputPerS: round(requests / (elapsedMs / 1000), 0),
              p50Ms: t.p50Ms,
              p95Ms: t.p95Ms,
            };
          } finally {
            for (const worker of workers) if (worker.exitCode === null) worker.kill();
          }
        },
      );
      ctx.log(`fleet ${variant}: ${row.throughputPerS} req/s, p50 ${row.p50Ms} ms`);
      results.push(row);
    }
  } finally {
    await redis.close();
  }
  const [seqOff, seqOn, seqTokens, off, free, binding] = results;
  const costMs = round(seqOn.p50Ms - seqOff.p50Ms, 2);
  const tokensCostMs = round(seqTokens.p50Ms - seqOn.p50Ms, 2);
  const loadedCostMs = round(free.p50Ms - off.p50Ms, 2);
  // With a 20 ms upstream and requests always waiting, the ideal is cap / 20 ms.
  const idealBindingPerS = round(BINDING_CAP / (upstreamLatencyMs / 1000), 0);
  return {
    params: { processes, localPool: LOCAL, requestsPerProcess, upstreamLatencyMs },
    results,
    summary: {
      p50CostPerRequestMs: costMs,
      p50CostOfTokenBudgetMs: tokensCostMs,
      p50CostUnderLoadMs: loadedCostMs,
      throughputRatioFleetOnVsOff: ratio(free.throughputPerS, off.throughputPerS),
      bindingThroughputPerS: binding.throughputPerS,
      bindingIdealPerS: idealBindingPerS,
    },
    table: {
      headers: ['variant', 'requests', 'elapsed ms', 'req/s', 'p50 ms', 'p95 ms'],
      rows: results.map((r) => [r.variant, r.requests, r.elapsedMs, r.throughputPerS, r.p50Ms, r.p95Ms]),
    },
    notes: [
      `One request at a time, a fleet budget costs ${costMs} ms at the median (${seqOff.p50Ms} → ${seqOn.p50Ms} ms): the Redis round trip that ` +
        'takes the lease; the release is sent without waiting for it.',
      `A tokens-per-minute budget on top costs ${tokensCostMs} ms more (${seqOn.p50Ms} → ${seqTokens.p50Ms} ms): one read of the ` +
        "fleet's minute before each request; the count after it is not waited for.",
      `${processes} processes × ${LOCAL} in flight against a ${upstreamLatencyMs} ms upstream, a cap that never binds: ${loadedCostMs} ms more at the median and ` +
        `${ratio(free.throughputPerS, off.throughputPerS)}× the throughput (client, upstream and Redis share the machine's cores).`,
      `A cap of ${BINDING_CAP} allows at most ${BINDING_CAP} / ${upstreamLatencyMs} ms = ${idealBindingPerS} req/s; measured ${binding.throughputPerS} req/s ` +
        '(a release is announced over Redis pub/sub to the processes waiting; a freed lease is idle for the round trips of its release, ' +
        'its announcement and the next acquire).',
    ],
  };
}
