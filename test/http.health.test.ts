import express from 'express';
import { Registry } from 'prom-client';
import request from 'supertest';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createClients, type Clients } from '../src/clients/index.js';
import { loadConfig } from '../src/config/index.js';
import { monitoringRouter } from '../src/http/index.js';
import { startSupabaseSimulator, type SupabaseSimulator } from '../src/simulators/index.js';

const TOKEN = 'health-test-token';
const auth = { Authorization: `Bearer ${TOKEN}` };

describe('health and alerts follow real pool state', () => {
  let simulator: SupabaseSimulator | undefined;
  let clients: Clients | undefined;

  afterEach(async () => {
    await clients?.close(1_000);
    await simulator?.close();
  });

  function appFor(c: Clients, registry: Registry) {
    const app = express();
    app.use(monitoringRouter({ upstreams: c, registry, token: TOKEN }));
    return app;
  }

  it('raises utilization and queue alerts while a saturated pool queues SDK requests, against a stalled simulator, and clears them once it drains', async () => {
    // A database that has become slow: it takes requests and holds their answers until released.
    simulator = await startSupabaseSimulator({ behaviour: { stallHeaders: true } });
    const registry = new Registry();
    clients = createClients(
      loadConfig({
        SUPABASE_URL: simulator.url,
        SUPABASE_SERVICE_ROLE_KEY: simulator.serviceRoleKey,
        SUPABASE_POOL_SIZE: '2',
      }),
      { registry },
    );
    const app = appFor(clients, registry);
    const db = clients.sdk.supabaseAdmin!;

    const queries = Array.from({ length: 6 }, () => db.from('uploads').select('*'));
    const results = Promise.all(queries.map((query) => Promise.resolve(query)));
    await simulator.waitForStalled(2);

    const alerts = await request(app).get('/api/monitoring/alerts').set(auth).expect(200);
    expect(alerts.body.status).toBe('alerts_present');
    expect(alerts.body.alerts).toContainEqual(
      expect.objectContaining({
        severity: 'warning',
        component: 'supabase',
        message: 'Supabase connection pool utilization high: 100.0%',
        recommendation: 'Consider increasing SUPABASE_POOL_SIZE',
        alertname: 'HighConnectionPoolUtilization',
      }),
    );
    expect(alerts.body.alerts).toContainEqual(
      expect.objectContaining({
        component: 'supabase',
        alertname: 'PoolQueueBuildingUp',
        message: expect.stringContaining('4 waiting'),
      }),
    );
    expect(alerts.body.alert_count).toBe(alerts.body.alerts.length);

    const pools = await request(app).get('/api/monitoring/connection-pools').set(auth).expect(200);
    expect(pools.body.supabase).toMatchObject({
      pool_size: 2,
      active_connections: 2,
      utilization: 100,
      pending_requests: 4,
    });
    expect(pools.body.health.supabase).toBe('degraded');

    const health = await request(app).get('/api/monitoring/system-health').expect(200);
    expect(health.body.status).toBe('degraded');
    expect(health.body.components.database).toBe('degraded');
    expect(health.body.metrics.supabase_pool_utilization).toBe(100);

    const queue = await request(app).get('/api/connections/database/queue').set(auth).expect(200);
    expect(queue.body.data).toEqual({ queueLength: 4, activeRequests: 2, maxConcurrent: 2 });

    simulator.behave({ stallHeaders: false }).releaseStalled();
    for (const result of await results) expect(result.error).toBeNull();
    // Socket bookkeeping settles as the last bodies are read: wait for the state, not for a fixed time.
    await vi.waitFor(async () => {
      const cleared = await request(app).get('/api/monitoring/alerts').set(auth).expect(200);
      expect(cleared.body).toMatchObject({ alert_count: 0, alerts: [], status: 'no_alerts' });
    });
    const after = await request(app).get('/api/monitoring/system-health').expect(200);
    expect(after.body.status).toBe('healthy');
  });

  it('answers system-health 503 unhealthy while the upstream simulator is down, and 200 again once it is back', async () => {
    simulator = await startSupabaseSimulator();
    const registry = new Registry();
    clients = createClients(loadConfig({ SUPABASE_URL: simulator.url, SUPABASE_ANON_KEY: simulator.anonKey }), {
      registry,
    });
    const app = appFor(clients, registry);

    await clients.checkHealth();
    await request(app).get('/api/monitoring/system-health').expect(200);

    await simulator.stop();
    const checks = await clients.checkHealth();
    expect(checks.supabase?.healthy).toBe(false);

    const down = await request(app).get('/api/monitoring/system-health').expect(503);
    expect(down.body.status).toBe('unhealthy');
    expect(down.body.components.database).toBe('unhealthy');
    expect(down.body.metrics.upstreams_down).toBe(1);

    const alerts = await request(app).get('/api/monitoring/alerts').set(auth).expect(200);
    expect(alerts.body.alerts).toContainEqual(
      expect.objectContaining({ severity: 'critical', component: 'supabase', alertname: 'UpstreamDown' }),
    );
    const pools = await request(app).get('/api/monitoring/connection-pools').set(auth).expect(200);
    expect(pools.body.health.supabase).toBe('unhealthy');
    expect(pools.body.supabase.upstream_up).toBe(false);
    const probe = await request(app).get('/api/connections/database/health').set(auth).expect(503);
    expect(probe.body.data).toMatchObject({ healthy: false, status: 'unhealthy' });

    await simulator.start();
    await clients.checkHealth();
    // UpstreamDown clears with the next passing check; the outage's failures keep the error-ratio and
    // connection-failure alerts for their one-minute window, or until the stats are reset.
    const recovered = await request(app).get('/api/monitoring/alerts').set(auth).expect(200);
    expect(recovered.body.alerts.map((alert: { alertname: string }) => alert.alertname)).not.toContain('UpstreamDown');
    await request(app).post('/api/connections/database/reset-stats').set(auth).expect(200);
    const back = await request(app).get('/api/monitoring/system-health').expect(200);
    expect(back.body).toMatchObject({
      status: 'healthy',
      components: { database: 'healthy' },
      metrics: { upstreams_down: 0 },
    });
  });

  it("points each alert's runbook_url at RUNBOOK_BASE_URL, or at the router's runbookBaseUrl, and refuses a base that is no URL", async () => {
    const registry = new Registry();
    clients = createClients(
      loadConfig({
        SUPABASE_URL: 'http://127.0.0.1:1',
        SUPABASE_ANON_KEY: 'anon-key',
        RUNBOOK_BASE_URL: 'https://wiki.example.com/sre/runbooks',
      }),
      { registry },
    );
    await clients.checkHealth();
    const runbooks = async (app: express.Express) =>
      (await request(app).get('/api/monitoring/alerts').set(auth).expect(200)).body.alerts.map(
        (alert: { alertname: string; runbook_url: string }) => [alert.alertname, alert.runbook_url],
      );
    expect(await runbooks(appFor(clients, registry))).toContainEqual([
      'UpstreamDown',
      'https://wiki.example.com/sre/runbooks/UpstreamDown.md',
    ]);
    const own = express().use(
      monitoringRouter({ upstreams: clients, registry, token: TOKEN, runbookBaseUrl: 'https://runbooks.internal/' }),
    );
    expect(await runbooks(own)).toContainEqual(['UpstreamDown', 'https://runbooks.internal/UpstreamDown.md']);
    expect(() => monitoringRouter({ upstreams: clients!, registry, runbookBaseUrl: 'docs/runbooks' })).toThrow(
      expect.objectContaining({ option: 'runbookBaseUrl' }),
    );
  });
});
