import { EventEmitter, once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/index.js';
import { ServiceListenError } from '../src/errors/index.js';
import { startService, type RunningService } from '../src/service/index.js';
import { startCountingServer, type CountingServer } from './support/http-server.js';

interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** A pino logger whose JSON lines are kept, with a way to wait for one. */
function capturedLogger(): {
  logger: Logger;
  lines: LogLine[];
  waitFor(match: (line: LogLine) => boolean): Promise<LogLine>;
} {
  const lines: LogLine[] = [];
  const events = new EventEmitter();
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString('utf8').split('\n').filter(Boolean)) {
        const line = JSON.parse(text) as LogLine;
        lines.push(line);
        events.emit('line', line);
      }
      done();
    },
  });
  return {
    logger: pino({ level: 'debug' }, stream),
    lines,
    waitFor(match) {
      const seen = lines.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => {
        const onLine = (line: LogLine) => {
          if (!match(line)) return;
          events.off('line', onLine);
          resolve(line);
        };
        events.on('line', onLine);
      });
    },
  };
}

describe('startService (in process)', () => {
  let upstream: CountingServer | undefined;
  let service: RunningService | undefined;

  afterEach(async () => {
    await service?.close();
    service = undefined;
    await upstream?.close();
  });

  it('serves the router on HOST:PORT, labels build_info live, and logs the listening URL and mode', async () => {
    upstream = await startCountingServer((req, res) => {
      req.resume();
      req.on('end', () => res.end('{}'));
    });
    const log = capturedLogger();
    const config = loadConfig({
      SUPABASE_URL: upstream.origin,
      SUPABASE_ANON_KEY: 'anon-key-value',
      PORT: '0',
      MONITORING_TOKEN: 'service-test-token-1234',
    });
    service = await startService(config, { logger: log.logger, registry: new Registry() });

    expect(service.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(service.mode).toBe('live');
    const listening = await log.waitFor((line) => line.msg.startsWith('poolscope listening'));
    expect(listening).toMatchObject({ url: service.url, mode: 'live', upstreams: ['supabase'] });
    expect(listening.token).toBeUndefined();
    expect(JSON.stringify(log.lines)).not.toContain('anon-key-value');

    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toMatch(/^poolscope_build_info\{version="[^"]+",mode="live"\} 1$/m);
    const index = await (await fetch(`${service.url}/`)).json();
    expect(index).toMatchObject({ name: 'poolscope', mode: 'live' });
    const missing = await fetch(`${service.url}/nowhere`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: { code: 'NOT_FOUND', message: expect.any(String) } });
    const pools = await fetch(`${service.url}/api/monitoring/connection-pools`, {
      headers: { Authorization: 'Bearer service-test-token-1234' },
    });
    expect(pools.status).toBe(200);
  });

  it('health-checks every upstream on its interval, with no app traffic, and logs the transition when one goes down', async () => {
    upstream = await startCountingServer((req, res) => {
      req.resume();
      req.on('end', () => res.end('{}'));
    });
    const log = capturedLogger();
    const config = loadConfig({
      SUPABASE_URL: upstream.origin,
      SUPABASE_ANON_KEY: 'anon',
      PORT: '0',
      HEALTH_INTERVAL_SECONDS: '1',
    });
    service = await startService(config, { logger: log.logger, registry: new Registry() });

    await log.waitFor((line) => line.msg === 'upstream supabase reachable');
    await upstream.kill();
    const down = await log.waitFor((line) => line.msg.startsWith('upstream supabase is down'));
    expect(down).toMatchObject({ level: 40, upstream: 'supabase', status: 'unhealthy' });
    const health = await fetch(`${service.url}/api/monitoring/system-health`);
    expect(health.status).toBe(503);
  });

  it('warns that protected routes answer 503 when live without MONITORING_TOKEN', async () => {
    upstream = await startCountingServer((_req, res) => res.end('{}'));
    const log = capturedLogger();
    service = await startService(loadConfig({ SUPABASE_URL: upstream.origin, SUPABASE_ANON_KEY: 'anon', PORT: '0' }), {
      logger: log.logger,
      registry: new Registry(),
    });
    await log.waitFor((line) => line.level === 40 && line.msg.includes('MONITORING_TOKEN is not set'));
    const res = await fetch(`${service.url}/api/monitoring/alerts`, { headers: { Authorization: 'Bearer guess' } });
    expect(res.status).toBe(503);
  });

  it('rejects with ServiceListenError naming the port when it is in use, after releasing what it started', async () => {
    const blocker = net.createServer();
    blocker.listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const { port } = blocker.address() as AddressInfo;
    upstream = await startCountingServer((_req, res) => res.end('{}'));
    try {
      const config = loadConfig({ SUPABASE_URL: upstream.origin, SUPABASE_ANON_KEY: 'anon', PORT: String(port) });
      const failure = startService(config, { logger: pino({ level: 'silent' }), registry: new Registry() });
      await expect(failure).rejects.toBeInstanceOf(ServiceListenError);
      await expect(failure).rejects.toMatchObject({
        code: 'POOLSCOPE_LISTEN_FAILED',
        systemCode: 'EADDRINUSE',
        message: expect.stringContaining(`port ${port} is already in use`),
      });
    } finally {
      blocker.close();
    }
  });
});
