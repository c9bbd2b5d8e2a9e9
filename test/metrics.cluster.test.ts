/** One /metrics for a node:cluster app: the primary serves what every worker recorded, folded per family. */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildIfStale } from './support/built-service.js';
import { useCleanup } from './support/harness.js';

const APP = fileURLToPath(new URL('./support/cluster-app.mjs', import.meta.url));
const REPO = fileURLToPath(new URL('..', import.meta.url));

function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  if (line === undefined) throw new Error(`no series ${series} in:\n${text}`);
  return Number(line.slice(series.length + 1));
}

describe('clusterMetricsHandler on the primary of a node:cluster app', () => {
  const cleanup = useCleanup();
  beforeAll(async () => {
    await buildIfStale();
  }, 120_000);

  it('serves request counters equal to the sum of what each worker did, and does not sum ratios or shared values', async () => {
    const upstream = await cleanup.upstream((_req, res) => res.end('ok'));
    const primary = fork(APP, [], {
      cwd: REPO,
      env: { ...process.env, UPSTREAM_ORIGIN: upstream.origin },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    cleanup.defer(async () => {
      if (primary.exitCode === null && primary.signalCode === null) {
        const exited = once(primary, 'exit');
        primary.disconnect();
        await exited;
      }
    });
    const [{ port }] = (await once(primary, 'message')) as [{ port: number }];
    const response = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(response.status).toBe(200);
    const text = await response.text();
    // 3 requests in one worker, 5 in the other.
    expect(
      sample(text, 'poolscope_request_duration_seconds_count{pool="clustered",operation="get",outcome="success"}'),
    ).toBe(8);
    expect(upstream.requests).toBe(8);
    // Limits add up to the host's; the ratio is the workers' average; build_info stays 1, not one per worker.
    expect(sample(text, 'poolscope_pool_max_concurrent{pool="clustered"}')).toBe(8);
    expect(sample(text, 'poolscope_pool_connections_max{pool="clustered"}')).toBe(8);
    expect(sample(text, 'poolscope_pool_utilization_ratio{pool="clustered"}')).toBe(0);
    expect(text).toMatch(/^poolscope_build_info\{[^}]*\} 1$/m);
  });
});
