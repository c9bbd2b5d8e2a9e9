/**
 * The standalone service as users run it: `npm start` builds, then runs `node dist/bin/poolscope.js`.
 * Built once here, then started as a child process per test; every wait is on a log line, a response or
 * the exit event.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { cleanEnv } from './support/built-service.js';
import { testDatabaseUrl } from './support/database.js';
import { startCountingServer, type CountingServer } from './support/http-server.js';
import { hasRedis, startRedis } from './support/redis.js';
import { startSilentListener } from './support/silent-listener.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = 'dist/bin/poolscope.js';
const TOKEN = 'cli-test-monitoring-token';

interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

interface Running {
  child: ChildProcess;
  lines: LogLine[];
  stderr: () => string;
  waitForLine(match: (line: LogLine) => boolean, description: string): Promise<LogLine>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running: Running[] = [];

function start(extraEnv: Record<string, string>, args: string[] = []): Running {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: cleanEnv(extraEnv),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  const waiters = new Set<() => void>();
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  createInterface({ input: child.stdout! }).on('line', (text) => {
    try {
      lines.push(JSON.parse(text) as LogLine);
    } catch {
      lines.push({ level: 0, msg: text });
    }
    for (const check of [...waiters]) check();
  });
  const exit = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  const run: Running = {
    child,
    lines,
    stderr: () => stderr,
    exit,
    waitForLine(match, description) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const line = lines.find(match);
          if (!line) return;
          waiters.delete(check);
          resolve(line);
        };
        waiters.add(check);
        check();
        void exit.then(() => {
          if (!waiters.has(check)) return;
          waiters.delete(check);
          reject(new Error(`poolscope exited before logging ${description}; stderr: ${stderr}`));
        });
      });
    },
  };
  running.push(run);
  return run;
}

async function listeningUrl(run: Running): Promise<{ url: string; line: LogLine }> {
  const line = await run.waitForLine(
    (l) => typeof l.url === 'string' && l.msg.startsWith('poolscope listening'),
    'the listening line',
  );
  return { url: line.url as string, line };
}

/** The sum of one metric's samples whose labels include `labels`. */
function sumOf(metrics: string, name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (!Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

beforeAll(async () => {
  // What `npm start` runs first (`prestart`): the service is tested as built.
  await promisify(execFile)(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], {
    cwd: ROOT,
  });
}, 90_000);

afterEach(async () => {
  const runs = running.splice(0);
  for (const run of runs) {
    if (run.child.exitCode === null && run.child.signalCode === null) {
      run.child.kill('SIGKILL');
      await run.exit;
    }
  }
  // The service's own process is outside the suite's warning guard: a warning it printed fails the test too.
  for (const run of runs) expect(run.stderr()).not.toMatch(/\(node:\d+\) (\[\w+\] )?\w*Warning/);
});

describe('poolscope (the npm start binary)', () => {
  it('runs the labelled demo without credentials: /metrics shows the workload through all three SDK clients, mode="demo"', async () => {
    const run = start({ PORT: '0' });
    const { url, line } = await listeningUrl(run);
    expect(line.mode).toBe('demo');
    expect(run.lines.some((l) => l.level === 40 && l.msg.startsWith('DEMO MODE'))).toBe(true);
    expect(line.token).toEqual(expect.any(String));

    let metrics = '';
    await vi.waitFor(
      async () => {
        metrics = await (await fetch(`${url}/metrics`)).text();
        for (const pool of ['supabase', 'openai', 'pinecone']) {
          const requests = sumOf(metrics, 'poolscope_request_duration_seconds_count', { pool });
          expect(requests, pool).toBeGreaterThan(0);
        }
        expect(sumOf(metrics, 'poolscope_openai_tokens_total', { token_type: 'output' })).toBeGreaterThan(0);
        // Every failure signal from the first requests, not when the failure rates first come round (~20 s in).
        expect(
          sumOf(metrics, 'poolscope_request_retries_total', { pool: 'openai', reason: 'rate_limited' }),
          'openai 429 retried',
        ).toBeGreaterThan(0);
        expect(
          sumOf(metrics, 'poolscope_request_retries_total', { pool: 'pinecone', reason: 'unavailable' }),
          'pinecone 503 retried',
        ).toBeGreaterThan(0);
        expect(
          sumOf(metrics, 'poolscope_request_failures_total', { pool: 'supabase', reason: 'http_5xx' }),
          'supabase 500',
        ).toBeGreaterThan(0);
      },
      { timeout: 15_000, interval: 250 },
    );
    expect(metrics).toMatch(/^poolscope_build_info\{version="[^"]+",mode="demo"\} 1$/m);
    for (const key of ['demo-supabase-service-role-key-not-a-secret', 'sk-demo-not-a-real-openai-key'])
      expect(metrics).not.toContain(key);

    // The printed token opens the protected routes.
    const pools = await fetch(`${url}/api/monitoring/connection-pools`, {
      headers: { Authorization: `Bearer ${line.token as string}` },
    });
    expect(pools.status).toBe(200);
    const body = (await pools.json()) as Record<string, { total_requests: number }>;
    expect(body.supabase?.total_requests).toBeGreaterThan(0);

    run.child.kill('SIGTERM');
    expect(await run.exit).toEqual({ code: 0, signal: null });
    expect(run.lines.at(-1)?.msg).toMatch(/^stopped/);
  }, 30_000);

  it('runs the demo with --demo even when upstream variables are set, saying it ignores them', async () => {
    const run = start({ PORT: '0', SUPABASE_URL: 'http://127.0.0.1:9', SUPABASE_ANON_KEY: 'ignored-key' }, ['--demo']);
    const { line } = await listeningUrl(run);
    expect(line.mode).toBe('demo');
    expect(line.upstreams).toEqual(expect.arrayContaining(['supabase', 'openai']));
    expect(run.stderr()).toContain('--demo given');
    run.child.kill('SIGINT');
    expect(await run.exit).toEqual({ code: 0, signal: null });
  });

  it('shuts down cleanly on a SIGTERM that arrives while it is still starting', async () => {
    const run = start({ PORT: '0' });
    await run.waitForLine((l) => l.msg.startsWith('DEMO MODE'), 'the first start-up line');
    run.child.kill('SIGTERM');
    expect(await run.exit).toEqual({ code: 0, signal: null });
    expect(run.lines.at(-1)?.msg).toMatch(/^stopped/);
  });

  it('runs the demo with POOLSCOPE_MODE=demo even when upstream variables are set, like --demo', async () => {
    const run = start({ PORT: '0', POOLSCOPE_MODE: 'demo', OPENAI_API_KEY: 'sk-configured-but-ignored' });
    const { line } = await listeningUrl(run);
    expect(line.mode).toBe('demo');
    expect(run.stderr()).toContain(
      'POOLSCOPE_MODE=demo, so the configured Supabase, OpenAI and Pinecone upstreams are ignored',
    );
    expect(run.stderr() + JSON.stringify(run.lines)).not.toContain('sk-configured-but-ignored');
    run.child.kill('SIGINT');
    expect(await run.exit).toEqual({ code: 0, signal: null });
  });

  it.runIf(hasRedis())(
    "keeps the configured database's fleet budget in the demo, with the other configured upstreams ignored",
    async () => {
      const redis = await startRedis();
      try {
        const run = start({
          PORT: '0',
          POOLSCOPE_MODE: 'demo',
          OPENAI_API_KEY: 'sk-configured-but-ignored',
          DATABASE_URL: testDatabaseUrl(),
          FLEET_REDIS_URL: redis.url,
          DATABASE_FLEET_MAX_CONCURRENT: '3',
        });
        const { url } = await listeningUrl(run);
        const metrics = await (await fetch(`${url}/metrics`)).text();
        // The demo's Postgres pool runs under the cap; its simulated upstreams have none.
        expect(metrics.match(/^poolscope_fleet_max_concurrent\{.*$/gm)).toEqual([
          'poolscope_fleet_max_concurrent{pool="postgres"} 3',
        ]);
        run.child.kill('SIGINT');
        expect(await run.exit).toEqual({ code: 0, signal: null });
      } finally {
        await redis.close();
      }
    },
    30_000,
  );

  describe('on SIGTERM', () => {
    let upstream: CountingServer | undefined;
    const held: Array<http.ServerResponse> = [];

    afterEach(async () => {
      for (const res of held.splice(0)) res.destroy();
      await upstream?.close();
    });

    async function liveService(extra: Record<string, string> = {}) {
      upstream = await startCountingServer((req, res) => {
        req.resume();
        held.push(res); // every upstream answer waits until the test lets it go
      });
      const run = start({
        PORT: '0',
        SUPABASE_URL: upstream.origin,
        SUPABASE_ANON_KEY: 'cli-anon-key',
        MONITORING_TOKEN: TOKEN,
        HEALTH_INTERVAL_SECONDS: '3600',
        ...extra,
      });
      const { url } = await listeningUrl(run);
      // A monitoring request that is still in flight: its health check waits on the held upstream.
      const inFlight = fetch(`${url}/api/connections/database/health`, {
        headers: { Authorization: `Bearer ${TOKEN}` },
      });
      inFlight.catch(() => undefined);
      await upstream.waitForRequests(2); // the start-up health round and this request's check
      return { run, url, inFlight };
    }

    function releaseUpstream() {
      for (const res of held.splice(0)) res.end('[]');
    }

    it('stops accepting, completes the in-flight request, closes the pools and exits 0', async () => {
      const { run, url, inFlight } = await liveService();
      run.child.kill('SIGTERM');
      await run.waitForLine((l) => l.msg.startsWith('shutting down'), 'shutting down');
      await expect(fetch(`${url}/metrics`)).rejects.toThrow();

      releaseUpstream();
      const response = await inFlight;
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ success: true, data: { healthy: true } });
      expect(await run.exit).toEqual({ code: 0, signal: null });
      expect(run.lines.at(-1)).toMatchObject({ msg: 'stopped', drained: true });
    });

    it('exits within SHUTDOWN_TIMEOUT_MS when the database accepts connections and never answers', async () => {
      const blackhole = await startSilentListener();
      try {
        const run = start({
          PORT: '0',
          DATABASE_URL: `postgres://postgres@127.0.0.1:${blackhole.port}/test`,
          DATABASE_CONNECTION_TIMEOUT_MS: '0',
          SHUTDOWN_TIMEOUT_MS: '1000',
          MONITORING_TOKEN: TOKEN,
        });
        await listeningUrl(run);
        // The start-up health round is stuck opening a connection the database never completes.
        await vi.waitFor(() => expect(blackhole.accepted()).toBeGreaterThan(0), { timeout: 10_000, interval: 10 });
        const signalled = performance.now();
        run.child.kill('SIGTERM');
        expect(await run.exit).toEqual({ code: 0, signal: null });
        expect(performance.now() - signalled).toBeLessThan(1_000 + 500);
      } finally {
        await blackhole.close();
      }
    });

    it('cuts off what is still running at SHUTDOWN_TIMEOUT_MS and still exits 0', async () => {
      const { run, inFlight } = await liveService({ SHUTDOWN_TIMEOUT_MS: '300' });
      run.child.kill('SIGTERM');
      await expect(inFlight).rejects.toThrow();
      expect(await run.exit).toEqual({ code: 0, signal: null });
      expect(run.lines.at(-1)).toMatchObject({ drained: false });
    });
  });

  it('exits 2 with one line naming every bad variable, and never its value', async () => {
    const run = start({
      SUPABASE_URL: 'http://127.0.0.1:1',
      SUPABASE_SERVICE_ROLE_KEY: 'this-value-must-never-be-printed',
      SUPABASE_POOL_SIZE: 'abc',
      PORT: 'eighty',
    });
    expect((await run.exit).code).toBe(2);
    const lines = run.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!) as LogLine;
    expect(line.msg).toContain('SUPABASE_POOL_SIZE');
    expect(line.msg).toContain('PORT');
    expect(line.variables).toEqual(expect.arrayContaining(['SUPABASE_POOL_SIZE', 'PORT']));
    expect(run.stderr()).not.toContain('this-value-must-never-be-printed');
    expect(run.stderr()).not.toContain('abc');
    expect(run.lines).toEqual([]);
  });

  it('exits 1 with one line saying the port is in use', async () => {
    const blocker = net.createServer();
    blocker.listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const { port } = blocker.address() as AddressInfo;
    try {
      const run = start({ PORT: String(port), LOG_LEVEL: 'silent' });
      expect((await run.exit).code).toBe(1);
      const lines = run.stderr().trim().split('\n');
      expect(lines).toHaveLength(1);
      expect((JSON.parse(lines[0]!) as LogLine).msg).toBe(
        `poolscope: Cannot listen on 127.0.0.1:${port}: port ${port} is already in use (set PORT or --port to a free port)`,
      );
    } finally {
      blocker.close();
    }
  });

  it('documents its flags and variables with --help, and takes --port/--host like PORT/HOST', async () => {
    const help = start({}, ['--help']);
    expect((await help.exit).code).toBe(0);
    const text = help.lines.map((l) => l.msg).join('\n');
    for (const word of [
      '--port',
      '--host',
      '--demo',
      'MONITORING_TOKEN',
      'HEALTH_INTERVAL_SECONDS',
      'SHUTDOWN_TIMEOUT_MS',
      'SIGTERM',
    ]) {
      expect(text).toContain(word);
    }

    const bad = start({}, ['--port', '99999']);
    expect((await bad.exit).code).toBe(2);
    expect(bad.stderr()).toContain('PORT');

    const unknown = start({}, ['--prot', '1']);
    expect((await unknown.exit).code).toBe(2);
    expect(unknown.stderr()).toContain('--prot');
  });
});
