/**
 * The fleet budget across real processes: workers forked from poolscope as built, one real redis-server, one
 * counting upstream that records how many requests it holds at once.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type http from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIfStale } from './support/built-service.js';
import { useCleanup } from './support/harness.js';
import { hasRedis, startRedis, type RedisServer } from './support/redis.js';

const WORKER = fileURLToPath(new URL('./support/fleet-worker.mjs', import.meta.url));
const REPO = fileURLToPath(new URL('..', import.meta.url));

interface PoolSpec {
  name: string;
  key: string;
  local: number;
  cap: number;
  leaseMs: number;
  onUnavailable?: 'local' | 'reject';
  acquireMs?: number;
}
interface Outcome {
  ok: boolean;
  code?: string;
  ms: number;
}

class Worker {
  readonly logs: Array<{ log: string; msg: string }> = [];
  #next = 0;
  readonly #replies = new Map<number, (reply: Record<string, unknown>) => void>();
  readonly #logWaiters: Array<{ match: (msg: string) => boolean; resolve: () => void }> = [];

  constructor(readonly child: ChildProcess) {
    child.on('message', (message: Record<string, unknown>) => {
      if (typeof message.log === 'string') {
        const msg = String(message.msg);
        this.logs.push({ log: message.log, msg });
        for (const waiter of this.#logWaiters.filter((w) => w.match(msg))) {
          this.#logWaiters.splice(this.#logWaiters.indexOf(waiter), 1);
          waiter.resolve();
        }
      } else if (typeof message.id === 'number') this.#replies.get(message.id)?.(message);
    });
  }

  static async start(origin: string, redis: string, pools: PoolSpec[]): Promise<Worker> {
    const child = fork(WORKER, [JSON.stringify({ origin, redis, pools })], {
      cwd: REPO,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const worker = new Worker(child);
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`fleet worker exited with ${code}`)));
    });
    return worker;
  }

  #ask<T>(message: Record<string, unknown>): Promise<T> {
    const id = ++this.#next;
    return new Promise((resolve) => {
      this.#replies.set(id, (reply) => resolve(reply as T));
      this.child.send({ ...message, id });
    });
  }

  run(pool: string, count: number, path = '/'): Promise<Outcome[]> {
    return this.#ask<{ outcomes: Outcome[] }>({ cmd: 'run', pool, count, path }).then((r) => r.outcomes);
  }

  async metric(series: string): Promise<number> {
    const { text } = await this.#ask<{ text: string }>({ cmd: 'metrics' });
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    if (line === undefined) throw new Error(`no series ${series}`);
    return Number(line.slice(series.length + 1));
  }

  /** Resolves at the first log line (already seen, or to come) that `match` accepts. */
  waitForLog(match: (msg: string) => boolean): Promise<void> {
    if (this.logs.some((l) => match(l.msg))) return Promise.resolve();
    return new Promise((resolve) => this.#logWaiters.push({ match, resolve }));
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGKILL');
    await exited;
  }
}

/** An upstream that answers after `delayMs`, parks `/hold` until the test lets go, and tracks requests in flight. */
function countingHandler(delayMs: number) {
  const state = {
    inFlight: 0,
    peak: 0,
    arrivals: [] as Array<{ path: string; at: number }>,
    held: [] as http.ServerResponse[],
    resetPeak() {
      state.peak = state.inFlight;
    },
    handler(req: http.IncomingMessage, res: http.ServerResponse) {
      state.peak = Math.max(state.peak, ++state.inFlight);
      state.arrivals.push({ path: req.url ?? '/', at: performance.now() });
      let done = false;
      const end = () => {
        if (done) return;
        done = true;
        state.inFlight--;
      };
      res.on('close', end);
      if (req.url === '/hold') return void state.held.push(res);
      setTimeout(() => {
        end();
        res.end('ok');
      }, delayMs);
    },
  };
  return state;
}

describe.runIf(hasRedis())('a fleet of processes sharing one budget', () => {
  const cleanup = useCleanup();
  let redis: RedisServer;
  let keys = 0;
  const freshKey = () => `procs_${process.pid}_${++keys}`;

  beforeAll(async () => {
    redis = await startRedis();
    await buildIfStale();
  }, 120_000);
  afterAll(async () => {
    await redis?.close();
  });

  async function workers(n: number, origin: string, redisUrl: string, pools: PoolSpec[]): Promise<Worker[]> {
    const started = await Promise.all(Array.from({ length: n }, () => Worker.start(origin, redisUrl, pools)));
    cleanup.defer(async () => void (await Promise.all(started.map((w) => w.stop()))));
    return started;
  }

  it('keeps 4 workers, each with a local pool of 20, to a fleet cap of 30 at the upstream, every request succeeding', async () => {
    const upstream = countingHandler(10);
    const server = await cleanup.upstream(upstream.handler);
    const key = freshKey();
    const fleet = await workers(4, server.origin, redis.url, [
      { name: 'burst', key, local: 20, cap: 30, leaseMs: 5_000 },
    ]);
    const startedAt = performance.now();
    const outcomes = (await Promise.all(fleet.map((w) => w.run('burst', 100)))).flat();
    const elapsedMs = performance.now() - startedAt;
    console.info(
      `[fleet] 4 workers x 100 requests, 10 ms upstream: peak in flight ${upstream.peak} (cap 30, overshoot ${upstream.peak - 30}), ${Math.round(elapsedMs)} ms`,
    );
    expect(outcomes.filter((o) => !o.ok)).toEqual([]);
    expect(outcomes).toHaveLength(400);
    expect(upstream.peak).toBeLessThanOrEqual(30);
  });

  it('takes back within leaseMs the leases of a worker killed with SIGKILL', async () => {
    const upstream = countingHandler(5);
    const server = await cleanup.upstream(upstream.handler);
    cleanup.defer(async () => void upstream.held.splice(0).forEach((res) => res.destroy()));
    const leaseMs = 1_000;
    const spec: PoolSpec = { name: 'expiry', key: freshKey(), local: 30, cap: 30, leaseMs };
    const [doomed, survivor] = await workers(2, server.origin, redis.url, [spec]);
    void doomed!.run('expiry', 30, '/hold');
    await server.waitForRequests(30);
    const waiting = survivor!.run('expiry', 10);
    // The survivor's requests wait for the budget: none reaches the upstream while the doomed worker holds it all.
    const killedAt = performance.now();
    await doomed!.stop();
    const outcomes = await waiting;
    const firstBack = upstream.arrivals.find((a) => a.path === '/' && a.at > killedAt)!.at - killedAt;
    console.info(
      `[fleet] SIGKILL with 30 leases held (leaseMs ${leaseMs}): survivor's first request went out ${Math.round(firstBack)} ms after the kill`,
    );
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(firstBack).toBeLessThanOrEqual(leaseMs + 100);
  });

  it('runs on through a Redis restart: local bound or fast typed rejections while down, the fleet cap again after', async () => {
    const own = await startRedis();
    cleanup.defer(() => own.close());
    const upstream = countingHandler(10);
    const server = await cleanup.upstream(upstream.handler);
    const pools: PoolSpec[] = [
      { name: 'falls_back', key: freshKey(), local: 5, cap: 4, leaseMs: 1_000, onUnavailable: 'local' },
      { name: 'rejects', key: freshKey(), local: 5, cap: 4, leaseMs: 1_000, onUnavailable: 'reject' },
    ];
    const fleet = await workers(2, server.origin, own.url, pools);
    const burst = async (pool: string, count: number) =>
      (await Promise.all(fleet.map((w) => w.run(pool, count)))).flat();

    expect((await burst('falls_back', 20)).every((o) => o.ok)).toBe(true);
    expect(upstream.peak).toBeLessThanOrEqual(4);

    await own.stop();
    upstream.resetPeak();
    const duringOutage = await burst('falls_back', 20);
    expect(duringOutage.every((o) => o.ok)).toBe(true);
    expect(upstream.peak).toBeLessThanOrEqual(10); // 2 workers x local 5
    const outagePeak = upstream.peak;
    const rejected = await burst('rejects', 5);
    expect(rejected.map((o) => o.code)).toEqual(Array(10).fill('POOLSCOPE_FLEET_UNAVAILABLE'));
    const slowestRejectionMs = Math.max(...rejected.map((o) => o.ms));
    expect(slowestRejectionMs).toBeLessThan(1_000); // no wait for acquireMs (10 s here)
    for (const worker of fleet) {
      expect(
        await worker.metric('poolscope_fleet_errors_total{pool="falls_back",reason="unavailable"}'),
      ).toBeGreaterThanOrEqual(20);
      expect(worker.logs.filter((l) => l.msg.includes('"falls_back" cannot reach Redis'))).toHaveLength(1);
    }

    const restartedAt = performance.now();
    await own.start();
    await Promise.all(
      fleet.flatMap((w) => pools.map((p) => w.waitForLog((msg) => msg.includes(`"${p.name}" reaches Redis again`)))),
    );
    const reconnectMs = performance.now() - restartedAt;
    upstream.resetPeak();
    const after = await burst('falls_back', 20);
    expect(after.every((o) => o.ok)).toBe(true);
    expect(upstream.peak).toBeLessThanOrEqual(4);
    expect((await burst('rejects', 5)).every((o) => o.ok)).toBe(true);
    console.info(
      `[fleet] Redis down: peak ${outagePeak} in flight under the local bounds (cap 4), rejections within ${Math.round(slowestRejectionMs)} ms; ` +
        `workers back on the fleet budget ${Math.round(reconnectMs)} ms after Redis restarted, peak after ${upstream.peak}`,
    );
  });
});
