/**
 * TEST-ONLY stand-in for the poolscope service's `/metrics`: every metric family the service exposes, with
 * realistic label values and counters that move on every scrape. The e2e test proves the shipped rules and
 * dashboard against it; the same harness can later be pointed at the real service in demo mode.
 *
 * It is healthy except for one thing: the supabase pool runs at 90 % utilization, which should raise
 * HighConnectionPoolUtilization and nothing else.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const FAKE_POOLS = {
  supabase: { operations: ['select', 'insert', 'rpc'], max: 20, active: 18, idle: 2 },
  pinecone: { operations: ['query', 'upsert'], max: 10, active: 3, idle: 5 },
  openai: { operations: ['chat.completions', 'embeddings'], max: 10, active: 4, idle: 2 },
  postgres: { operations: ['query'], max: 10, active: 2, idle: 6 },
} as const;
export type FakePool = keyof typeof FAKE_POOLS;
export const HOT_POOL: FakePool = 'supabase';

export interface FakePoolscope {
  url: string;
  /** host:port, as Prometheus labels the instance. */
  target: string;
  scrapes: number;
  close(): Promise<void>;
}

export async function startFakePoolscope(): Promise<FakePoolscope> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const pools = Object.keys(FAKE_POOLS) as FakePool[];

  const g = (name: string, help: string, labelNames: string[]) => new Gauge({ name, help, labelNames, registers });
  const c = (name: string, help: string, labelNames: string[]) => new Counter({ name, help, labelNames, registers });
  const h = (name: string, help: string, labelNames: string[], buckets: number[]) =>
    new Histogram({ name, help, labelNames, buckets, registers });

  const connections = g('poolscope_pool_connections', 'Open sockets by state.', ['pool', 'state']);
  const connectionsMax = g('poolscope_pool_connections_max', 'Max sockets.', ['pool']);
  const utilization = g('poolscope_pool_utilization_ratio', 'Active ÷ max.', ['pool']);
  const activeRequests = g('poolscope_pool_active_requests', 'Requests holding a slot.', ['pool']);
  const pendingRequests = g('poolscope_pool_pending_requests', 'Requests waiting.', ['pool']);
  const maxConcurrent = g('poolscope_pool_max_concurrent', 'Concurrency limit.', ['pool']);
  const maxQueued = g('poolscope_pool_max_queued', 'Queue bound.', ['pool']);
  const acquireWait = h('poolscope_pool_acquire_wait_seconds', 'Slot wait.', ['pool'], [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]);
  const created = c('poolscope_pool_connections_created_total', 'Sockets opened.', ['pool']);
  const closed = c('poolscope_pool_connections_closed_total', 'Sockets closed.', ['pool']);
  const connectionErrors = c('poolscope_pool_connection_errors_total', 'Failed connects.', ['pool', 'reason']);
  const duration = h('poolscope_request_duration_seconds', 'Request duration.', ['pool', 'operation', 'outcome'], [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]);
  const failures = c('poolscope_request_failures_total', 'Failed requests.', ['pool', 'operation', 'reason']);
  const retries = c('poolscope_request_retries_total', 'Retries.', ['pool', 'reason']);
  const buildInfo = g('poolscope_build_info', 'Version and mode.', ['version', 'mode']);
  const tokens = c('poolscope_openai_tokens_total', 'Tokens.', ['model', 'token_type']);
  const ttft = h('poolscope_openai_time_to_first_token_seconds', 'Time to first token.', ['model'], [0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
  const remaining = g('poolscope_ratelimit_remaining', 'Rate limit remaining.', ['pool', 'limit_type']);
  const limit = g('poolscope_ratelimit_limit', 'Rate limit.', ['pool', 'limit_type']);
  const upstreamUp = g('poolscope_upstream_up', 'Health check result.', ['pool']);
  const healthCheck = h('poolscope_health_check_duration_seconds', 'Health check duration.', ['pool'], [0.01, 0.05, 0.1, 0.5, 1, 5]);
  const usage = h('poolscope_pool_connection_usage_seconds', 'Postgres client hold time.', ['pool'], [0.001, 0.01, 0.1, 1, 10, 60]);
  const leaks = c('poolscope_pool_leaks_total', 'Postgres leaks.', ['pool']);

  buildInfo.set({ version: '0.1.0-test', mode: 'demo' }, 1);
  for (const pool of pools) {
    const shape = FAKE_POOLS[pool];
    connections.set({ pool, state: 'active' }, shape.active);
    connections.set({ pool, state: 'idle' }, shape.idle);
    connectionsMax.set({ pool }, shape.max);
    utilization.set({ pool }, shape.active / shape.max);
    activeRequests.set({ pool }, shape.active);
    pendingRequests.set({ pool }, 0);
    maxConcurrent.set({ pool }, shape.max);
    maxQueued.set({ pool }, 1000);
    upstreamUp.set({ pool }, 1);
    // Failure series that exist (as a fresh service's would after its first hiccups) but do not move.
    connectionErrors.inc({ pool, reason: 'reset' }, 1);
    failures.inc({ pool, operation: shape.operations[0], reason: 'acquire_timeout' }, 1);
  }
  leaks.inc({ pool: 'postgres' }, 0);
  limit.set({ pool: 'openai', limit_type: 'requests' }, 500);
  limit.set({ pool: 'openai', limit_type: 'tokens' }, 200_000);

  let scrapes = 0;
  // What happens between two scrapes: about 100 requests per pool, 1 in 100 failing, all fast.
  const tick = (): void => {
    scrapes++;
    for (const pool of pools) {
      const shape = FAKE_POOLS[pool];
      created.inc({ pool }, 1);
      closed.inc({ pool }, 1);
      acquireWait.observe({ pool }, 0.002);
      healthCheck.observe({ pool }, 0.03);
      for (const operation of shape.operations) {
        const seconds = pool === 'openai' ? 1.8 : 0.04;
        for (let i = 0; i < 33; i++) duration.observe({ pool, operation, outcome: 'success' }, seconds);
        duration.observe({ pool, operation, outcome: 'error' }, seconds);
        failures.inc({ pool, operation, reason: pool === 'openai' ? 'rate_limited' : 'http_5xx' });
      }
      retries.inc({ pool, reason: pool === 'openai' ? 'rate_limited' : 'http_5xx' });
    }
    usage.observe({ pool: 'postgres' }, 0.02);
    for (const model of ['gpt-4o-mini', 'text-embedding-3-small']) {
      tokens.inc({ model, token_type: 'input' }, 1200);
      if (model !== 'text-embedding-3-small') tokens.inc({ model, token_type: 'output' }, 300);
    }
    ttft.observe({ model: 'gpt-4o-mini' }, 0.4);
    remaining.set({ pool: 'openai', limit_type: 'requests' }, 480 - (scrapes % 10));
    remaining.set({ pool: 'openai', limit_type: 'tokens' }, 150_000 - (scrapes % 10) * 1000);
  };

  const server = http.createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    tick();
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (error: unknown) => res.writeHead(500).end(String(error)),
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const fake: FakePoolscope = {
    url: `http://127.0.0.1:${port}`,
    target: `127.0.0.1:${port}`,
    get scrapes() {
      return scrapes;
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  return fake;
}
