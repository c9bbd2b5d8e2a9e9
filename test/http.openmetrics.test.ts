/**
 * The proof that our OpenMetrics output is right is a real Prometheus reading it: Prometheus asks for
 * OpenMetrics first, and a body it cannot parse makes `up` 0.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { monitoringRouter, monitoringSource } from '../src/http/index.js';
import { createPool, type UpstreamPool } from '../src/pool/pool.js';
import { startCountingServer, type CountingServer } from './support/http-server.js';
import { hasBinaries, startPrometheus, type RunningPrometheus } from './support/prometheus.js';

describe.runIf(hasBinaries('prometheus'))('GET /metrics scraped by a real Prometheus', () => {
  let upstream: CountingServer;
  let pool: UpstreamPool;
  let server: import('node:http').Server;
  let prometheus: RunningPrometheus;
  const served: Array<{ accept: string | undefined; contentType: string | undefined }> = [];

  beforeAll(async () => {
    upstream = await startCountingServer((req, res) => {
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    const registry = new Registry();
    registry.setDefaultLabels({ app: 'checkout' });
    pool = createPool({ name: 'search', origin: upstream.origin, connections: 2, registry });
    await (await pool.fetch(`${upstream.origin}/q`)).text();

    const app = express();
    app.use('/metrics', (req, res, next) => {
      res.on('finish', () => served.push({ accept: req.get('accept'), contentType: res.get('content-type') }));
      next();
    });
    app.use(monitoringRouter({ upstreams: monitoringSource([pool]), registry, token: 'unused-token-0123456789' }));
    server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const target = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    prometheus = await startPrometheus({
      config: {
        global: { scrape_interval: '1s' },
        scrape_configs: [{ job_name: 'poolscope', static_configs: [{ targets: [target] }] }],
      },
    });
  }, 30_000);

  afterAll(async () => {
    await prometheus?.stop();
    server?.close();
    await pool?.close(1_000);
    await upstream?.close();
  });

  it('negotiates OpenMetrics and Prometheus ingests every family, counters under their _total names, with the registry default labels', async () => {
    await vi.waitFor(
      async () => {
        const samples = await prometheus.query(
          'poolscope_pool_connections_created_total{pool="search",app="checkout"}',
        );
        expect(samples[0]?.value[1]).toBe('1');
      },
      { timeout: 20_000, interval: 250 },
    );
    const [up] = await prometheus.query('up{job="poolscope"}');
    expect(up?.value[1]).toBe('1');
    expect(served[0]?.accept).toContain('application/openmetrics-text');
    expect(served[0]?.contentType).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');

    const [durationSeries] = await prometheus.query(
      'count({__name__=~"poolscope_request_duration_seconds_(bucket|sum|count)", pool="search", app="checkout"})',
    );
    expect(Number(durationSeries?.value[1])).toBeGreaterThan(3);
    const [info] = await prometheus.query('poolscope_build_info');
    expect(info?.metric.mode).toBe('library');
  }, 30_000);
});
